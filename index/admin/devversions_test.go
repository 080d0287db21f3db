package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
)

func TestDevVersionsEndpoint(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	cat.AddUser(ctx, "ci", "ci-password", false, "test")
	_, upTok, _ := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload}, "test")
	_, readTok, _ := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeRead}, "test")
	_, otherTok, _ := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload, Projects: []string{"other"}}, "test")
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	authSvc, err := auth.New(auth.DefaultConfig(), auth.Deps{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := admin.NewDevVersionsHandler(admin.Deps{Catalog: cat, Auth: authSvc})
	if err != nil {
		t.Fatal(err)
	}
	dv.Register(e.Group(""))
	post := func(tok, body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/projects/Acme.Core/dev-versions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	body := `{"base": "1.2.4", "commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main"}`
	tests := []struct {
		name, tok, body string
		code            int
		want            string
	}{
		{"anonymous", "", body, 401, `"error"`},
		{"read scope", readTok, body, 403, "scope"},
		{"other project", otherTok, body, 403, "acme-core"},
		{"ok", upTok, body, 200, `"version":"1.2.4.dev1"`},
		{"retry", upTok, body, 200, `"number":1`},
		{"bad json", upTok, `{"base": `, 400, "JSON"},
		{"bad base", upTok, `{"base": "1.2.4.dev1", "commit": "0123456"}`, 400, "base"},
		{"no commit", upTok, `{"base": "1.2.4"}`, 400, "commit"},
		{"bad dirty digest", upTok, `{"base": "1.2.4", "commit": "0123456", "dirty": "not hex"}`, 400, "dirty"},
		{"dirty", upTok, `{"base": "1.2.4", "commit": "0123456789abcdef0123456789abcdef01234567", "dirty": "00aa11bb22cc33dd"}`, 200,
			`"number":2,"reused":false,"dirty":"00aa11bb22cc33dd"`},
		{"no base", upTok, `{"commit": "1123456789abcdef0123456789abcdef01234567"}`, 200, `"version":"1.2.4.dev3"`},
		{"above_all, base behind", upTok, `{"base": "1.0", "commit": "2123456789abcdef0123456789abcdef01234567", "above_all": true}`, 409,
			`"newest":"1.2.4.dev3"`},
		{"above_all", upTok, `{"base": "1.2.4", "commit": "2123456789abcdef0123456789abcdef01234567", "above_all": true}`, 200,
			`"version":"1.2.4.dev4"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, got := post(tc.tok, tc.body)
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Errorf("got %d %s, want %d containing %q", code, got, tc.code, tc.want)
			}
		})
	}
}

func TestDevVersionsState(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	cat.AddUser(ctx, "ci", "ci-password", false, "test")
	// A token for named projects may upload to them (the seeded one has
	// other owners).
	_, upTok, _ := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload, Projects: []string{"acme-core", "new-thing"}}, "test")
	_, readTok, _ := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeRead}, "test")
	fn, data := indextest.Wheel(t, "acme_core", "1.2.3", "")
	indextest.Seed(t, cat, store, fn, data)
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	authSvc, err := auth.New(auth.DefaultConfig(), auth.Deps{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := admin.NewDevVersionsHandler(admin.Deps{Catalog: cat, Auth: authSvc})
	if err != nil {
		t.Fatal(err)
	}
	dv.Register(e.Group(""))
	get := func(tok, project string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/projects/"+project+"/dev-versions", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	for _, tc := range []struct {
		name, tok, project string
		code               int
		want               string
	}{
		{"anonymous", "", "acme-core", 401, `"error"`},
		{"read scope", readTok, "acme-core", 403, "scope"},
		{"newest", upTok, "Acme.Core", 200, `{"project":"acme-core","newest":"1.2.3"}`},
		{"unknown project", upTok, "new-thing", 200, `{"project":"new-thing","newest":""}`},
		{"bad name", upTok, "-bad-", 400, "project name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := get(tc.tok, tc.project)
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Errorf("got %d %s, want %d containing %q", code, got, tc.code, tc.want)
			}
		})
	}
}
