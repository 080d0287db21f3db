package index_test

import (
	"context"
	"errors"
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
	cat.SetClock(func() time.Time { return now })

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
