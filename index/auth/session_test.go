package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestSessionCookieReads: the web interface's session cookie authorizes
// GET and HEAD reads as its user with the read scope only (never an
// upload, an admin read or any other method), and a cookie of no live
// session is anonymous, not a failed login.
func TestSessionCookieReads(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	if _, err := cat.AddUser(ctx, "root", "root-password", true, "test"); err != nil {
		t.Fatal(err)
	}
	cfg := auth.DefaultConfig()
	cfg.AnonymousRead = false
	svc, err := auth.New(cfg, auth.Deps{Catalog: cat, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := cat.CreateSession(ctx, "root", time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, ended, err := cat.CreateSession(ctx, "root", time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.EndSession(ctx, ended); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.Use(svc.Middleware())
	var got auth.Result
	h := func(c echo.Context) error {
		got = svc.FromContext(c)
		c.Response().Header().Set("Cache-Control", "max-age=365000000, immutable, public")
		return c.NoContent(http.StatusNoContent)
	}
	e.GET("/files/x", h)
	e.HEAD("/files/x", h)
	e.POST("/files/x", h)
	var hdr http.Header
	do := func(method, cookie, authz string) auth.Result {
		t.Helper()
		got = auth.Result{}
		req := httptest.NewRequest(method, "/files/x", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: cookie})
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%s: %d", method, rec.Code)
		}
		hdr = rec.Header()
		return got
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r := do(m, secret, "")
		if r.Err != nil || !r.Present || r.Principal.User != "root" || r.Principal.Scope != index.ScopeRead || r.Principal.Admin {
			t.Errorf("%s with the session: %+v", m, r)
		}
		// What only the session may read, no shared cache keeps.
		if cc := hdr.Get("Cache-Control"); cc != "max-age=365000000, immutable, private" || hdr.Get("Vary") != "Cookie" {
			t.Errorf("%s with the session: Cache-Control %q, Vary %q", m, cc, hdr.Get("Vary"))
		}
		if err := svc.Read(r, "anything"); err != nil {
			t.Errorf("%s: the session may not read: %v", m, err)
		}
		if _, err := auth.Check(r, index.ScopeUpload); !errors.Is(err, index.ErrForbidden) {
			t.Errorf("%s: the session may upload: %v", m, err)
		}
	}
	if r := do(http.MethodPost, secret, ""); r.Present || svc.Read(r, "") == nil {
		t.Errorf("POST with the session: %+v", r)
	}
	for _, bad := range []string{ended, "no-such-session"} {
		if r := do(http.MethodGet, bad, ""); r.Present || r.Err != nil || svc.Read(r, "") == nil || hdr.Get("Cache-Control") != "max-age=365000000, immutable, public" {
			t.Errorf("GET with a dead session: %+v %v", r, hdr)
		}
	}
	// An Authorization header is what counts when both are sent.
	if r := do(http.MethodGet, secret, "Bearer nope"); !r.Present || !errors.Is(r.Err, index.ErrBadCredentials) {
		t.Errorf("GET with a session and a bad token: %+v", r)
	}
}
