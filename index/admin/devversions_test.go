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
