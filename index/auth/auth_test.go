package auth_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/indextest"
)

func TestMain(m *testing.M) {
	index.PasswordCost = bcrypt.MinCost // fast logins under -race
	os.Exit(indextest.Main(m))          // on SQLite, then on PostgreSQL
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	cat.AddUser(ctx, "ci", "ci-password", false, "test")
	cat.AddUser(ctx, "root", "root-password", true, "test")
	_, tok, _ := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeRead}, "test")
	tests := []struct {
		name      string
		header    string
		user      string
		pass      string
		wantHas   bool
		wantErr   bool
		wantScope index.Scope
	}{
		{name: "none"},
		{name: "password", user: "ci", pass: "ci-password", wantHas: true, wantScope: index.ScopeUpload},
		{name: "admin password", user: "root", pass: "root-password", wantHas: true, wantScope: index.ScopeAdmin},
		{name: "wrong password", user: "ci", pass: "nope-nope", wantHas: true, wantErr: true},
		{name: "unknown user", user: "ghost", pass: "whatever-1", wantHas: true, wantErr: true},
		{name: "__token__", user: "__token__", pass: tok, wantHas: true, wantScope: index.ScopeRead},
		{name: "owner name with token", user: "ci", pass: tok, wantHas: true, wantScope: index.ScopeRead},
		{name: "other name with token", user: "root", pass: tok, wantHas: true, wantErr: true},
		{name: "__token__ with a password", user: "__token__", pass: "ci-password", wantHas: true, wantErr: true},
		{name: "bearer", header: "Bearer " + tok, wantHas: true, wantScope: index.ScopeRead},
		{name: "token scheme", header: "token " + tok, wantHas: true, wantScope: index.ScopeRead},
		{name: "unknown scheme", header: "Digest abc", wantHas: true, wantErr: true},
		{name: "broken basic", header: "Basic !!!", wantHas: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			if tc.user != "" {
				r.SetBasicAuth(tc.user, tc.pass)
			}
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			p, has, err := auth.Authenticate(ctx, cat, r.Header.Get("Authorization"), false)
			if has != tc.wantHas || (err != nil) != tc.wantErr {
				t.Fatalf("has=%v err=%v, want has=%v err=%v", has, err, tc.wantHas, tc.wantErr)
			}
			if err == nil && p.Scope != tc.wantScope {
				t.Errorf("scope %v, want %v", p.Scope, tc.wantScope)
			}
		})
	}
}

func TestLoginLimiter(t *testing.T) {
	l := auth.NewLoginLimiter(3, time.Minute)
	for i := 0; i < 3; i++ {
		if b, _ := l.Blocked("10.0.0.1"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("10.0.0.1")
	}
	if b, left := l.Blocked("10.0.0.1"); !b || left <= 0 {
		t.Errorf("not blocked after 3 failures")
	}
	if b, _ := l.Blocked("10.0.0.2"); b {
		t.Errorf("another address is blocked")
	}
	short := auth.NewLoginLimiter(1, 10*time.Millisecond)
	short.Fail("a")
	time.Sleep(20 * time.Millisecond)
	if b, _ := short.Blocked("a"); b {
		t.Errorf("still blocked after the window")
	}
	var off *auth.LoginLimiter
	off.Fail("a")
	if b, _ := off.Blocked("a"); b {
		t.Errorf("nil limiter blocks")
	}
}

// TestAuthenticatedRule: missing and wrong credentials are both
// ErrUnauthenticated (401), each with its own message; valid but weak ones
// are ErrForbidden (403); a failure to check is passed on.
func TestAuthenticatedRule(t *testing.T) {
	boom := errors.New("database gone")
	for _, tc := range []struct {
		name string
		r    auth.Result
		kind error
		msg  string
	}{
		{"none", auth.Result{}, index.ErrUnauthenticated, "Authentication required"},
		{"wrong", auth.Result{Present: true, Err: index.ErrBadCredentials}, index.ErrUnauthenticated, "Invalid or non-existent authentication information"},
		{"expired", auth.Result{Present: true, Err: index.ErrTokenExpired}, index.ErrUnauthenticated, "The token has expired"},
		{"failure", auth.Result{Present: true, Err: boom}, boom, ""},
		{"weak", auth.Result{Present: true, Principal: index.Principal{User: "ci", Scope: index.ScopeRead}}, index.ErrForbidden, "needs upload"},
		{"enough", auth.Result{Present: true, Principal: index.Principal{User: "ci", Scope: index.ScopeUpload}}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.Check(tc.r, index.ScopeUpload)
			if !errors.Is(err, tc.kind) || (tc.kind == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %q", err, tc.msg)
			}
		})
	}
}
