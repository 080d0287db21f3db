package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
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
	p, err := r.Principal, r.Err
	if !r.Present {
		return Result{}, errUnauthenticated
	}
	if err != nil {
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
	case errors.Is(err, index.ErrTokenExpired):
		return http.StatusForbidden, "The token has expired", true
	case errors.Is(err, index.ErrBadCredentials):
		return http.StatusForbidden, "Invalid or non-existent authentication information", true
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
// while all three digests are computed in one pass; other fields are read
// into memory within MaxMetadataSize. Parts may come in any order (uv sends
// attestations after content). The caller closes the returned Content; on
// error, receive has removed it.
func (s *Service) receive(req *http.Request) (rcv Received, err error) {
	defer func() {
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
	mr := multipart.NewReader(req.Body, params["boundary"])
	formBudget := int64(s.cfg.MaxMetadataSize)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rcv, bodyError(err, s.cfg)
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
			f, err := s.Spool(part)
			var re *ReadError
			if errors.As(err, &re) {
				return rcv, bodyError(re.Err, s.cfg)
			} else if err != nil {
				return rcv, err
			}
			rcv.Content = f
		case name == "":
			// A part without a name carries nothing we understand.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return rcv, bodyError(err, s.cfg)
			}
		default:
			b, err := io.ReadAll(io.LimitReader(part, formBudget+1))
			if err != nil {
				return rcv, bodyError(err, s.cfg)
			}
			formBudget -= int64(len(b))
			if formBudget < 0 {
				return rcv, &TooLargeError{Field: "form", Limit: s.cfg.MaxMetadataSize}
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
