package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index/auth"
)

// Authenticator resolves the credentials of a request; *auth.Service is
// one.
type Authenticator interface {
	// FromContext returns what the request's credentials resolve to:
	// Present reports whether it carried any; Err is
	// index.ErrBadCredentials or index.ErrTokenExpired for wrong ones, or
	// why they could not be checked.
	FromContext(c echo.Context) auth.Result
}

// Register adds the legacy upload routes. POST on /legacy, /legacy/ and /
// is answered directly: twine and poetry never follow a redirect on upload.
// It panics when the service was built without Deps.Auth.
func (s *Service) Register(g *echo.Group) {
	if s.auth == nil {
		panic("upload: Register needs Deps.Auth")
	}
	g.POST("/legacy", s.serveUpload, s.limit)
	g.POST("/legacy/", s.serveUpload, s.limit)
	g.POST("/", s.serveUpload, s.limit)
	// A browser or pip pointed at the upload URL: say what it is for (the
	// error table words the 405).
	onlyPost := func(c echo.Context) error {
		c.Response().Header().Set("Allow", http.MethodPost)
		return echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	g.Match([]string{http.MethodGet, http.MethodHead}, "/legacy", onlyPost)
	g.Match([]string{http.MethodGet, http.MethodHead}, "/legacy/", onlyPost)
}

// serveUpload is the legacy upload endpoint: it authenticates, reads the
// multipart body into a Received, calls Add and answers in plain text.
func (s *Service) serveUpload(c echo.Context) error {
	res, err := s.post(c)
	if err != nil {
		return httpError(c, err)
	}
	if res.Identical {
		return c.String(http.StatusOK, "OK (identical file already uploaded)\n")
	}
	return c.String(http.StatusOK, "OK\n")
}

func (s *Service) post(c echo.Context) (Result, error) {
	req := c.Request()
	r := s.auth.FromContext(c)
	p := r.Principal
	if !r.Present {
		return Result{}, errUnauthenticated
	}
	// Wrong credentials are 401, as on every endpoint (auth.Authenticated).
	if err := auth.Authenticated(r); err != nil {
		return Result{}, err
	}
	if err := CheckScope(p); err != nil {
		return Result{}, err
	}
	limit := int64(s.cfg.MaxFileSize) + int64(s.cfg.MaxMetadataSize) + 64<<10
	if req.ContentLength > limit {
		return Result{}, &TooLargeError{Field: "content", Limit: s.cfg.MaxFileSize}
	}
	req.Body = http.MaxBytesReader(c.Response(), newIdleBody(c.Response(), s.watchBody(c, req.Body), s.cfg.BodyTimeout), limit)

	rcv, err := s.receive(req)
	if err != nil {
		return Result{}, bodyFailure(c, err)
	}
	defer rcv.Content.Close()
	rcv.RemoteAddr = c.RealIP()
	return s.Add(req.Context(), p, rcv)
}

// The errors only the HTTP transport has.
var (
	errUnauthenticated = errors.New("no credentials")
	errInterrupted     = errors.New("the upload was interrupted")
)

// busyError reports that all MaxConcurrent upload slots are taken.
type busyError struct{ limit int }

func (e *busyError) Error() string {
	return fmt.Sprintf("Too many uploads in progress (the limit is %d); try again shortly", e.limit)
}

// statusOf is the one table from the errors of an upload to the status and
// the message the client gets. ok is false for errors that are not the
// upload's (the catalog's, a failure to authenticate): the server's error
// handler maps those.
func statusOf(err error) (code int, msg string, ok bool) {
	var (
		invalid  *InvalidError
		forbid   *ForbiddenError
		exists   *ExistsError
		tooLarge *TooLargeError
		stor     *StorageError
		busy     *busyError
		slow     *slowError
	)
	switch {
	case errors.Is(err, errUnauthenticated):
		return http.StatusUnauthorized, "Authentication required: upload with a user name and password or a token (twine -u __token__ -p TOKEN)", true
	case errors.As(err, &forbid):
		return http.StatusForbidden, forbid.Reason, true
	case errors.As(err, &invalid):
		if errors.Is(err, ErrUnsupported) {
			return http.StatusGone, invalid.Reason, true
		}
		return http.StatusBadRequest, invalid.Reason, true
	case errors.As(err, &exists):
		return http.StatusConflict, exists.Error(), true
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, tooLarge.Error(), true
	case errors.As(err, &slow):
		return http.StatusRequestTimeout, slow.Error(), true
	case errors.Is(err, errBodyTimeout):
		return http.StatusRequestTimeout, "The upload stalled: no data for too long", true
	case errors.Is(err, errInterrupted):
		return http.StatusRequestTimeout, "The upload was interrupted", true
	case errors.As(err, &busy):
		return http.StatusServiceUnavailable, busy.Error(), true
	case errors.As(err, &stor):
		switch {
		case stor.NoSpace() && stor.Temp:
			return http.StatusInsufficientStorage, "The server is out of temporary space; nothing was stored", true
		case stor.NoSpace():
			return http.StatusInsufficientStorage, "The server is out of storage space; nothing was stored", true
		case stor.Temp, errors.Is(err, context.Canceled):
			return 0, "", false
		}
		return http.StatusServiceUnavailable, "Storage is unavailable; nothing was stored, try again", true
	}
	return 0, "", false
}

// httpError maps err with statusOf to an *echo.HTTPError with a one-line
// message (messages quote client-supplied text, which may hold line breaks
// or terminal escapes, and twine shows the body verbatim), and adds the
// Basic challenge to a 401. Errors statusOf does not know are returned as
// they are.
func httpError(c echo.Context, err error) error {
	code, msg, ok := statusOf(err)
	if !ok {
		return err
	}
	if code == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="pyindex"`)
	}
	he := echo.NewHTTPError(code, oneLine(msg))
	if code >= 500 {
		he.Internal = err
	}
	return he
}

// oneLine replaces control characters with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// receive reads the multipart body: the "content" part is spooled (Spool)
// while all three digests are computed in one pass; the headers of every
// part (its field name among them) and the other parts' values count
// against MaxMetadataSize, and the reading stops soon after it is spent
// (formMeter), not at the end of the body. Parts may come in any order (uv
// sends attestations after content). The caller closes the returned
// Content; on error, receive has removed it.
func (s *Service) receive(req *http.Request) (rcv Received, err error) {
	meter := &formMeter{r: req.Body, left: int64(s.cfg.MaxMetadataSize) + formSlack}
	defer func() {
		if meter.over { // whatever error the multipart reader made of it
			err = &TooLargeError{Field: "form", Limit: s.cfg.MaxMetadataSize}
		}
		if err != nil {
			rcv.Content.Close()
			rcv.Content = nil
		}
	}()
	rcv = Received{Fields: map[string][]string{}}
	for k, v := range req.URL.Query() {
		if k == ":action" || k == "protocol_version" {
			rcv.Fields[k] = append(rcv.Fields[k], v...)
		}
	}
	ct, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return rcv, invalid("body", "Expected a multipart/form-data body with a boundary")
	}
	mr := multipart.NewReader(meter, params["boundary"])
	budget := int64(s.cfg.MaxMetadataSize) // what the form's headers and values may take
	spend := func(n int64) error {
		if budget -= n; budget < 0 {
			return &TooLargeError{Field: "form", Limit: s.cfg.MaxMetadataSize}
		}
		return nil
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rcv, bodyError(err, s.cfg)
		}
		if err := spend(headerSize(part.Header)); err != nil {
			return rcv, err
		}
		name := part.FormName()
		switch {
		case name == "content":
			if rcv.Content != nil {
				return rcv, invalid("content", "The 'content' field was sent twice")
			}
			fn, err := rawFileName(part)
			if err != nil {
				return rcv, wrapInvalid("content", err, "Invalid Content-Disposition of the 'content' part: %v", err)
			}
			if fn == "" {
				return rcv, errNoFile
			}
			rcv.Filename = fn
			meter.free = true // the file has its own limit, MaxFileSize
			f, err := s.Spool(part)
			meter.free = false
			var re *ReadError
			if errors.As(err, &re) {
				return rcv, bodyError(re.Err, s.cfg)
			} else if err != nil {
				return rcv, err
			}
			rcv.Content = f
		case name == "":
			// A part without a name carries nothing we understand.
			n, err := io.Copy(io.Discard, io.LimitReader(part, budget+1))
			if err != nil {
				return rcv, bodyError(err, s.cfg)
			}
			if err := spend(n); err != nil {
				return rcv, err
			}
		default:
			b, err := io.ReadAll(io.LimitReader(part, budget+1))
			if err != nil {
				return rcv, bodyError(err, s.cfg)
			}
			if err := spend(int64(len(b))); err != nil {
				return rcv, err
			}
			if name == "gpg_signature" || name == "attestations" {
				continue // accepted and ignored, as PyPI ignores signatures
			}
			v := strings.ReplaceAll(string(b), "\x00", "")
			if v == "" || v == "UNKNOWN" {
				continue // distutils filler and empty values mean "absent"
			}
			rcv.Fields[name] = append(rcv.Fields[name], v)
		}
	}
	return rcv, nil
}

// headerSize is the size of a part's headers as sent ("Key: value\r\n"
// each, and the empty line after them).
func headerSize(h textproto.MIMEHeader) int64 {
	n := int64(2)
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n
}

// formSlack is how far the meter lets the raw form go past
// MaxMetadataSize: the boundary lines, which the exact count in receive
// cannot see, and the multipart reader's read-ahead (4 KiB), which counts
// a little of the file before its part is known to be the file.
const formSlack = 16 << 10

// formMeter is the request body as the multipart reader sees it: every
// byte read while free is false (all but the file's part) counts against
// left, and once left is spent, Read fails (over is set) without reading
// more. receive counts headers and values exactly once a part's headers
// are parsed; the meter is what stops the reading while they are: the
// multipart reader keeps a part's headers (a field name among them) in
// memory until they end, up to 10 MiB a part, so without it a form of
// huge field names would be read whole before any count.
type formMeter struct {
	r    io.Reader
	left int64
	free bool // reading the file's part: not counted
	over bool // left was spent
}

func (m *formMeter) Read(p []byte) (int, error) {
	if m.free {
		return m.r.Read(p)
	}
	if m.left <= 0 {
		m.over = true
		return 0, errFormTooLarge
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.r.Read(p)
	m.left -= int64(n)
	return n, err
}

var errFormTooLarge = errors.New("the form fields are over the limit")

// rawFileName returns the filename parameter of a part as the client sent
// it. multipart.Part.FileName applies filepath.Base, which would quietly
// turn "../x.whl" or "dir/x.whl" into an acceptable name; uploads with such
// names must be refused instead (warehouse's _validate_filename).
func rawFileName(p *multipart.Part) (string, error) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", err
	}
	return params["filename"], nil
}

// bodyError says why reading the request body failed: it stalled, it
// went over the size limit, the client went away, or it is not valid
// multipart.
func bodyError(err error, cfg Config) error {
	if errors.Is(err, errBodyTimeout) {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &TooLargeError{Field: "content", Limit: cfg.MaxFileSize}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", errInterrupted, err)
	}
	return wrapInvalid("body", err, "Malformed multipart body: %v", err)
}
