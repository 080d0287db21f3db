package httpx

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// readFromResponse gives echo's Response the io.ReaderFrom of the
// http.ResponseWriter beneath it. http.ServeContent copies the body with
// io.Copy, and net/http's ReadFrom turns a copy from an *os.File into
// sendfile(2); echo's Response only has Write, which hides it, so without
// this every download went through a 32 KiB buffer, read and write. Status
// and Size stay accurate for the access log and the metrics.
type readFromResponse struct{ *echo.Response }

func (w readFromResponse) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := w.Writer.(io.ReaderFrom)
	if !ok {
		return io.Copy(w.Response, r)
	}
	if !w.Committed {
		if w.Status == 0 {
			w.Status = http.StatusOK
		}
		w.WriteHeader(w.Status)
	}
	n, err := rf.ReadFrom(r)
	w.Size += n
	return n, err
}
