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

// TestDevVersionsEndpointOverflow: past the largest dev number the
// endpoint answers 409 with a message, never a negative number, and
// records nothing.
func TestDevVersionsEndpointOverflow(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	fn, data := indextest.Wheel(t, "acme_core", "1.0.dev9223372036854775807", "")
	indextest.Seed(t, cat, store, fn, data)
	cat.AddUser(ctx, "ci", "ci-password", false, "test")
	_, tok, err := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload, Projects: []string{"acme-core"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
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
	serial, _ := cat.Serial(ctx)
	for i := 0; i < 2; i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/projects/acme-core/dev-versions",
			strings.NewReader(`{"base": "1.0", "commit": "0123456789abcdef0123456789abcdef01234567"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusConflict || !strings.Contains(body, "no dev number is left") || strings.Contains(body, "dev-") {
			t.Errorf("attempt %d: %d %s", i+1, rec.Code, body)
		}
	}
	if s, _ := cat.Serial(ctx); s != serial {
		t.Errorf("serial moved from %d to %d", serial, s)
	}
}
