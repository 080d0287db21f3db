package fastlane

import (
	"bufio"
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// serveInProcess serves the request whose header is h through
// Fallback.Handler, with the response gathered in memory, and writes it
// as net/http would have: Date, a computed Content-Length, a sniffed
// Content-Type. The handler's own middleware logs and counts it.
func (c *conn) serveInProcess(h string, closeAfter bool) error {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(h)))
	if err != nil {
		// parseRequest accepted it, so this is not expected; answer as
		// net/http answers a request it cannot parse.
		_, werr := c.nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"))
		if werr == nil {
			werr = err
		}
		return werr
	}
	req.RemoteAddr = c.req.RemoteAddr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.nc.LocalAddr())
	req = req.WithContext(ctx)
	rec := &recorder{header: make(http.Header)}
	c.srv.Fallback.Handler.ServeHTTP(rec, req)
	return c.writeRecorded(req, rec, closeAfter)
}

// writeRecorded writes a recorded response.
func (c *conn) writeRecorded(req *http.Request, rec *recorder, closeAfter bool) error {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	hdr, body := rec.header, rec.body
	bodyless := rec.status == http.StatusNotModified || rec.status == http.StatusNoContent || rec.status < 200
	if bodyless || req.Method == http.MethodHead {
		body = nil
	}
	if !bodyless {
		if _, ok := hdr["Content-Length"]; !ok && (req.Method != http.MethodHead || len(rec.body) > 0) {
			hdr.Set("Content-Length", strconv.Itoa(len(rec.body)))
		}
		if _, ok := hdr["Content-Type"]; !ok && len(rec.body) > 0 {
			hdr.Set("Content-Type", http.DetectContentType(rec.body))
		}
	}
	if _, ok := hdr["Date"]; !ok {
		hdr.Set("Date", httpDate(c.req.Start))
	}
	if closeAfter && req.ProtoAtLeast(1, 1) {
		hdr.Set("Connection", "close")
	}
	c.takeWriteBuf()
	defer c.releaseWriteBuf()
	b := appendStatusLine(c.wbuf[:0], req.Proto, rec.status)
	for _, k := range slices.Sorted(maps.Keys(hdr)) {
		for _, v := range hdr[k] {
			b = appendField(b, k, newlineToSpace.Replace(v))
		}
	}
	b = append(b, "\r\n"...)
	return c.send(b, body)
}

// newlineToSpace keeps a header value on its line, as net/http does.
var newlineToSpace = strings.NewReplacer("\r", " ", "\n", " ")

// recorder is the in-memory http.ResponseWriter of serveInProcess.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, p...)
	return len(p), nil
}
