// Package httpx is the HTTP plumbing every component's handlers share: the
// one table that turns errors into statuses and messages (ErrorStatus,
// ErrorHandler), the q-value parser of Accept headers, path parameters,
// and the transport-neutral request, reply and blob types through which
// the read side answers both echo and the fast lane.
package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/storage"
)

// ErrorStatus maps an error to an HTTP status and a message safe to show a
// client. Errors a client can cause map to 4xx; everything else is a 500
// with a generic message (the real error is logged, not shown).
func ErrorStatus(err error) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		return he.Code, msg
	}
	var ue *index.UpstreamError
	if errors.As(err, &ue) {
		return ue.Status, ue.Msg
	}
	var ie *index.Error
	if errors.As(err, &ie) {
		if ie.Kind == index.ErrUnavailable {
			// "catalog unavailable: PostgreSQL at db:5432 is not answering"
			return http.StatusServiceUnavailable, ie.Error()
		}
		if code := kindStatus(ie.Kind); code != 0 {
			return code, ie.Msg
		}
	}
	if errors.Is(err, index.ErrUnavailable) {
		return http.StatusServiceUnavailable, "catalog unavailable; try again shortly"
	}
	if code := kindStatus(err); code != 0 {
		return code, kindMessages[code]
	}
	return http.StatusInternalServerError, "Internal server error"
}

// kindStatus is the status of an error of one of index's kinds (or of the
// kinds other packages define), 0 for none of them.
func kindStatus(err error) int {
	switch {
	case errors.Is(err, index.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, index.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, index.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, index.ErrExists):
		return http.StatusConflict
	case errors.Is(err, index.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, auth.ErrBlocked):
		return http.StatusTooManyRequests
	case errors.Is(err, index.ErrBusy), errors.Is(err, index.ErrUnavailable):
		// The catalog's database is locked, or unreachable (PostgreSQL
		// down or failing over): a retry shortly succeeds.
		return http.StatusServiceUnavailable
	case errors.Is(err, index.ErrFull), errors.Is(err, storage.ErrNoSpace):
		return http.StatusInsufficientStorage
	}
	return 0
}

// kindMessages are the messages of kinds whose errors carry no message
// for the client.
var kindMessages = map[int]string{
	http.StatusBadRequest:          "Bad Request",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "Not Found",
	http.StatusUnauthorized:        "Authentication required",
	http.StatusConflict:            "Already exists",
	http.StatusTooManyRequests:     "Too many failed logins from this address; try again later",
	http.StatusServiceUnavailable:  "The catalog is busy; try again shortly",
	http.StatusInsufficientStorage: "The server is out of storage space",
}

// ErrorHandler returns echo's HTTPErrorHandler for the whole server. It
// maps errors with errors.Is/As (echo's default handler would turn any
// wrapped error into a 500), logs 5xx with the request ID, and renders the
// body each API's clients expect: JSON {"error": ...} on /api/ and /pypi/,
// the upload API's text (or PyPI-style JSON for clients that prefer it, such
// as uv) on upload routes, and plain text elsewhere.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := ErrorStatus(err)
		req := c.Request()
		if code >= 500 && errors.Is(err, index.ErrUnavailable) {
			// Expected while PostgreSQL is down: every such request says so.
			log.Warn("request failed: catalog unavailable", "err", err, "method", req.Method, "path", req.URL.Path,
				"status", code, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		} else if code >= 500 {
			log.Error("request failed", "err", err, "method", req.Method, "path", req.URL.Path,
				"status", code, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		if code == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="pyindex"`)
		}
		if code == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "5")
		}
		if code == http.StatusMethodNotAllowed && strings.HasPrefix(req.URL.Path, "/simple") {
			msg = "Method Not Allowed: this is the simple index URL; upload to /legacy/ instead"
		}
		if code == http.StatusMethodNotAllowed && strings.HasPrefix(req.URL.Path, "/legacy") {
			msg = "Method Not Allowed: this is the upload URL (twine upload --repository-url .../legacy/); pip installs from /simple/"
		}
		path := req.URL.Path
		var body []byte
		var ctype string
		switch {
		case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/pypi/"):
			body, _ = json.Marshal(map[string]string{"error": msg, "message": msg})
			ctype = echo.MIMEApplicationJSON
		case req.Method == http.MethodPost && PrefersJSON(req.Header.Get("Accept")):
			// The shape PyPI's upload endpoint uses; uv shows "code".
			body, _ = json.Marshal(map[string]string{
				"message": msg, "code": strconv.Itoa(code) + " " + msg, "title": http.StatusText(code),
			})
			ctype = echo.MIMEApplicationJSON
		default:
			body = []byte(strconv.Itoa(code) + " " + msg + "\n")
			ctype = echo.MIMETextPlainCharsetUTF8
		}
		c.Response().Header().Set(echo.HeaderContentType, ctype)
		c.Response().Header().Del("Content-Encoding")
		c.Response().Header().Del("ETag")
		c.Response().WriteHeader(code)
		if req.Method != http.MethodHead {
			c.Response().Write(body)
		}
	}
}
