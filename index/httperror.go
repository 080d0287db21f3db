package index

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
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
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return ue.Status, ue.Msg
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "Not Found"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, strings.TrimPrefix(err.Error(), "forbidden: ")
	case errors.Is(err, ErrExists):
		return http.StatusConflict, "Already exists"
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, strings.TrimPrefix(err.Error(), "invalid: ")
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable, "The catalog is busy; try again shortly"
	case errors.Is(err, ErrFull), errors.Is(err, storage.ErrNoSpace):
		return http.StatusInsufficientStorage, "The server is out of storage space"
	}
	return http.StatusInternalServerError, "Internal server error"
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
		if code >= 500 {
			log.Error("request failed", "err", err, "method", req.Method, "path", req.URL.Path,
				"status", code, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		if code == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "5")
		}
		if code == http.StatusMethodNotAllowed && strings.HasPrefix(req.URL.Path, "/simple") {
			msg = "Method Not Allowed: this is the simple index URL; upload to /legacy/ instead"
		}
		path := req.URL.Path
		var body []byte
		var ctype string
		switch {
		case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/pypi/"):
			body, _ = json.Marshal(map[string]string{"error": msg, "message": msg})
			ctype = echo.MIMEApplicationJSON
		case req.Method == http.MethodPost && prefersJSON(req.Header.Get("Accept")):
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

// prefersJSON reports whether an Accept header ranks application/json above
// text/plain (uv sends "application/json;q=0.9, text/plain;q=0.8, ...").
func prefersJSON(accept string) bool {
	var qj, qt float64 = -1, -1
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				q = parseQ(v)
			}
		}
		switch mt {
		case "application/json":
			qj = q
		case "text/plain":
			qt = q
		}
	}
	return qj > 0 && qj > qt
}

func parseQ(v string) float64 {
	q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || q < 0 || q > 1 {
		return 0
	}
	return q
}
