package httpx_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index/httpx"
)

// TestGuard: a state-changing request another site's page makes a browser
// send is refused (403), on every route; an API request with a body not
// declared JSON is refused (415); clients that are not browsers, the
// server's own pages and reads pass. A refused request never reaches the
// handler.
func TestGuard(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(httpx.Guard("https://PyPI.example.com:443/base/"))
	var reached int
	handler := func(c echo.Context) error {
		reached++
		return c.String(http.StatusOK, "ok")
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		e.Add(m, "/api/v1/users", handler)
		e.Add(m, "/legacy/", handler)
	}
	const jsonBody = `{"name": "eve", "password": "eve-password-1", "admin": true}`
	for _, tc := range []struct {
		name, method, path, host, body string
		header                         map[string]string
		want                           int
		msg                            string
	}{
		// What clients that are not browsers send: no Origin, no Sec-Fetch-Site.
		{"curl with JSON", "POST", "/api/v1/users", "", jsonBody, map[string]string{"Content-Type": "application/json"}, 200, ""},
		{"JSON with a charset", "PUT", "/api/v1/users", "", jsonBody, map[string]string{"Content-Type": "Application/JSON; charset=utf-8"}, 200, ""},
		{"no body, no type", "DELETE", "/api/v1/users", "", "", nil, 200, ""},
		{"twine upload", "POST", "/legacy/", "", "--b--", map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 200, ""},
		{"read", "GET", "/api/v1/users", "", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 200, ""},

		// Bodies not declared JSON on the API.
		{"text/plain", "POST", "/api/v1/users", "", jsonBody, map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type must be application/json"},
		{"no Content-Type", "POST", "/api/v1/users", "", jsonBody, nil, 415, "must be declared"},
		{"form", "PATCH", "/api/v1/users", "", "name=eve", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"json-ish", "POST", "/api/v1/users", "", jsonBody, map[string]string{"Content-Type": "application/jsonx"}, 415, "application/json"},
		{"garbage type", "POST", "/api/v1/users", "", jsonBody, map[string]string{"Content-Type": ";;"}, 415, "application/json"},

		// Other origins.
		{"cross-site by Sec-Fetch-Site", "POST", "/api/v1/users", "", jsonBody,
			map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, `Cross-origin request refused: a POST from "https://evil.example"`},
		{"same-site is not same-origin", "DELETE", "/api/v1/users", "", "",
			map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://docs.example.com"}, 403, "Cross-origin"},
		{"old browser, other Origin", "POST", "/api/v1/users", "", jsonBody,
			map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403, "Cross-origin"},
		{"null Origin", "PUT", "/api/v1/users", "", jsonBody,
			map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403, "Cross-origin"},
		{"cross-site text/plain: 403 first", "POST", "/api/v1/users", "", jsonBody,
			map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403, "Cross-origin"},
		{"cross-site upload form", "POST", "/legacy/", "", "--b--",
			map[string]string{"Content-Type": "multipart/form-data; boundary=b", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "Cross-origin"},

		// This server's own origin.
		{"same-origin by Sec-Fetch-Site", "POST", "/api/v1/users", "", jsonBody,
			map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, 200, ""},
		{"Origin matches Host", "POST", "/api/v1/users", "index.internal:8080", jsonBody,
			map[string]string{"Content-Type": "application/json", "Origin": "http://index.internal:8080"}, 200, ""},
		{"Origin is base_url behind a proxy", "POST", "/api/v1/users", "127.0.0.1:8080", jsonBody,
			map[string]string{"Content-Type": "application/json", "Origin": "https://pypi.example.com"}, 200, ""},
		{"base_url's host, other scheme", "POST", "/api/v1/users", "127.0.0.1:8080", jsonBody,
			map[string]string{"Content-Type": "application/json", "Origin": "http://pypi.example.com"}, 403, "Cross-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.path, body)
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			before := reached
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.String())
			}
			if tc.want == 200 {
				if reached != before+1 {
					t.Error("the handler did not run")
				}
				return
			}
			if reached != before {
				t.Error("a refused request reached the handler")
			}
			msg := rec.Body.String()
			if strings.HasPrefix(tc.path, "/api/") {
				var e struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
					t.Fatalf("not a JSON error: %q", msg)
				}
				msg = e.Error
			}
			if !strings.Contains(msg, tc.msg) || strings.Contains(strings.TrimSpace(msg), "\n") {
				t.Errorf("message %q, want one line containing %q", msg, tc.msg)
			}
		})
	}
}
