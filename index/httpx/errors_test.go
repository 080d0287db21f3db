package httpx_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/storage"
)

// TestErrorStatus is the error table: every kind a client can cause maps
// to its 4xx with the message meant for the client, wrapped or not, and
// anything else is a 500 that shows nothing of the error.
func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"not found", index.ErrNotFound, 404, "Not Found"},
		{"wrapped not found", fmt.Errorf("project x: %w", index.ErrNotFound), 404, "Not Found"},
		{"invalid with message", index.Errorf(index.ErrInvalid, "version %q", "x.y"), 400, `version "x.y"`},
		{"wrapped invalid", fmt.Errorf("ctx: %w", index.Errorf(index.ErrInvalid, "bad")), 400, "bad"},
		{"forbidden", index.Errorf(index.ErrForbidden, "not yours"), 403, "not yours"},
		{"bare forbidden", index.ErrForbidden, 403, "Forbidden"},
		{"unauthenticated", index.Errorf(index.ErrUnauthenticated, "Authentication required"), 401, "Authentication required"},
		{"exists", index.ErrExists, 409, "Already exists"},
		{"blocked", auth.ErrBlocked, 429, "Too many failed logins from this address; try again later"},
		{"busy", index.ErrBusy, 503, "The catalog is busy; try again shortly"},
		{"unavailable", &index.Error{Kind: index.ErrUnavailable, Msg: "PostgreSQL at db:5432 is not answering", Err: errors.New("dial tcp: password=secret")},
			503, "catalog unavailable: PostgreSQL at db:5432 is not answering"},
		{"bare unavailable", fmt.Errorf("x: %w", index.ErrUnavailable), 503, "catalog unavailable; try again shortly"},
		{"disk full", index.ErrFull, 507, "The server is out of storage space"},
		{"store full", fmt.Errorf("put: %w", storage.ErrNoSpace), 507, "The server is out of storage space"},
		{"upstream", &index.UpstreamError{Status: 504, Msg: "the upstream timed out"}, 504, "the upstream timed out"},
		{"echo", echo.NewHTTPError(http.StatusMethodNotAllowed), 405, "Method Not Allowed"},
		{"echo with message", echo.NewHTTPError(400, "invalid project name"), 400, "invalid project name"},
		{"a kind without a status", index.Errorf(index.ErrSchemaTooNew, "secret detail"), 500, "Internal server error"},
		{"anything else", errors.New("disk on fire"), 500, "Internal server error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := httpx.ErrorStatus(tc.err)
			if code != tc.code || msg != tc.msg {
				t.Errorf("ErrorStatus(%v) = %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		template, path string
		want           []string
		ok             bool
	}{
		{"/simple/", "/simple/", nil, true},
		{"/simple/", "/simple/x/", nil, false},
		{"/simple/:project/", "/simple/acme-core/", []string{"acme-core"}, true},
		{"/simple/:project/", "/simple/acme-core", nil, false},
		{"/simple/:project/", "/simple//", nil, false},
		{"/simple/:project/", "/simple/a/b/", nil, false},
		{"/files/:sha256/:filename", "/files/abc/x-1.0.tar.gz", []string{"abc", "x-1.0.tar.gz"}, true},
		{"/files/:sha256/:filename", "/files/abc/", nil, false},
		{"/files/:sha256/:filename", "/files/abc/x/y", nil, false},
		{"/mirror/files/:project/:filename", "/files/abc/x", nil, false},
	} {
		got, ok := httpx.Match(tc.template, tc.path, nil)
		if ok != tc.ok || ok && fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Match(%q, %q) = %q, %v; want %q, %v", tc.template, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestQualities(t *testing.T) {
	for _, tc := range []struct {
		ae   string
		gzip bool
	}{
		{"", false}, {"gzip", true}, {"gzip;q=0", false}, {"br, gzip;q=0.5", true},
		{"*", true}, {"*;q=0", false}, {"gzip;q=0, *", false}, {"identity", false},
		{"x-gzip", true}, {"gzip;q=2", false}, {"GZIP", true},
	} {
		if got := httpx.AcceptsGzip(tc.ae); got != tc.gzip {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", tc.ae, got, tc.gzip)
		}
	}
	if !httpx.PrefersJSON("application/json;q=0.9, text/plain;q=0.8") || httpx.PrefersJSON("text/plain, application/json;q=0.5") {
		t.Error("PrefersJSON ranks wrongly")
	}
}
