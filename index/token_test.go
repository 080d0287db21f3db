package index_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

func TestTokens(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	if _, err := cat.AddUser(ctx, "ci", "ci-password", false, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AddUser(ctx, "root", "root-password", true, "test"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	index.SetNow(cat, func() time.Time { return now })

	tests := []struct {
		name    string
		nt      index.NewToken
		wantErr error
	}{
		{"upload", index.NewToken{User: "ci", Scope: index.ScopeUpload}, nil},
		{"read with projects", index.NewToken{User: "ci", Scope: index.ScopeRead, Projects: []string{"Acme_Core", "acme-core", "acme.util"}}, nil},
		{"admin for admin", index.NewToken{User: "root", Scope: index.ScopeAdmin}, nil},
		{"admin for non-admin", index.NewToken{User: "ci", Scope: index.ScopeAdmin}, index.ErrInvalid},
		{"unknown user", index.NewToken{User: "nobody", Scope: index.ScopeRead}, index.ErrNotFound},
		{"bad project", index.NewToken{User: "ci", Scope: index.ScopeRead, Projects: []string{"-bad-"}}, index.ErrInvalid},
		{"expiry in the past", index.NewToken{User: "ci", Scope: index.ScopeRead, ExpiresAt: now.Add(-time.Hour)}, index.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, secret, err := cat.CreateToken(ctx, tc.nt, "test")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, index.TokenPrefix) || len(secret) < 50 {
				t.Errorf("secret %q lacks the prefix or entropy", secret)
			}
			p, err := cat.CheckToken(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			if p.User != tc.nt.User || p.Scope != tc.nt.Scope || p.TokenID != tok.ID {
				t.Errorf("principal %+v for token %+v", p, tok)
			}
			if tc.name == "read with projects" && strings.Join(p.Projects, " ") != "acme-core acme-util" {
				t.Errorf("projects %v, want normalized and deduplicated", p.Projects)
			}
		})
	}

	t.Run("expiry", func(t *testing.T) {
		_, secret, err := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload, ExpiresAt: now.Add(time.Hour)}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.CheckToken(ctx, secret); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		now = now.Add(2 * time.Hour)
		defer func() { now = now.Add(-2 * time.Hour) }()
		if _, err := cat.CheckToken(ctx, secret); !errors.Is(err, index.ErrTokenExpired) || !errors.Is(err, index.ErrBadCredentials) {
			t.Fatalf("after expiry: %v", err)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		tok, secret, err := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.RevokeToken(ctx, tok.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.CheckToken(ctx, secret); !errors.Is(err, index.ErrBadCredentials) {
			t.Fatalf("revoked token: %v", err)
		}
		if err := cat.RevokeToken(ctx, tok.ID, "test"); !errors.Is(err, index.ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		for _, s := range []string{"", "pyi_", "pyi_short", index.TokenPrefix + strings.Repeat("a", 52), "ghp_" + strings.Repeat("a", 52)} {
			if _, err := cat.CheckToken(ctx, s); !errors.Is(err, index.ErrBadCredentials) {
				t.Errorf("CheckToken(%q) = %v", s, err)
			}
		}
	})
	t.Run("user removal deletes tokens", func(t *testing.T) {
		if _, err := cat.AddUser(ctx, "temp", "temp-password", false, "test"); err != nil {
			t.Fatal(err)
		}
		_, secret, err := cat.CreateToken(ctx, index.NewToken{User: "temp", Scope: index.ScopeUpload}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.RemoveUser(ctx, "temp", "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.CheckToken(ctx, secret); !errors.Is(err, index.ErrBadCredentials) {
			t.Fatalf("token of a removed user: %v", err)
		}
	})
	t.Run("list has no secrets", func(t *testing.T) {
		toks, err := cat.Tokens(ctx, "ci")
		if err != nil || len(toks) == 0 {
			t.Fatalf("Tokens = %v, %v", toks, err)
		}
		for _, tok := range toks {
			if tok.User != "ci" {
				t.Errorf("listed %+v for ci", tok)
			}
		}
	})
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
			p, has, err := cat.Authenticate(ctx, r)
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
	l := index.NewLoginLimiter(3, time.Minute)
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
	short := index.NewLoginLimiter(1, 10*time.Millisecond)
	short.Fail("a")
	time.Sleep(20 * time.Millisecond)
	if b, _ := short.Blocked("a"); b {
		t.Errorf("still blocked after the window")
	}
	var off *index.LoginLimiter
	off.Fail("a")
	if b, _ := off.Blocked("a"); b {
		t.Errorf("nil limiter blocks")
	}
}
