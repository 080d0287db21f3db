package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/pgtest"
)

// TestReadsDuringOutage: while the catalog cannot be reached, a
// credential this service verified before still reads (so a private
// replica keeps serving what it holds in memory), with the read scope
// only: anything more gets the catalog's ErrUnavailable, never a guess,
// and a credential it never verified gets ErrUnavailable too.
func TestReadsDuringOutage(t *testing.T) {
	if indextest.Engine() != "postgres" {
		t.Skip("PostgreSQL only: the test stops the server (runs in the PostgreSQL run)")
	}
	ctx := context.Background()
	cat := indextest.Catalog(t)
	if _, err := cat.AddUser(ctx, "ci", "ci-password", false, "test"); err != nil {
		t.Fatal(err)
	}
	_, tok, err := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload}, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := cat.CreateToken(ctx, index.NewToken{User: "ci", Scope: index.ScopeUpload}, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.DefaultConfig()
	cfg.AnonymousRead = false
	svc, err := auth.New(cfg, auth.Deps{Catalog: cat, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:ci-password"))
	wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:not-the-password"))
	for _, authz := range []string{"Bearer " + tok, basic} {
		if r := svc.Resolve(ctx, authz, "192.0.2.1", "/simple/", auth.Full); r.Err != nil || r.Unverified != nil {
			t.Fatalf("before the outage: %+v", r)
		}
	}
	pgtest.Restart(t, func() {
		for _, authz := range []string{"Bearer " + tok, basic} {
			for _, mode := range []auth.Mode{auth.Full, auth.Fast} {
				r := svc.Resolve(ctx, authz, "192.0.2.1", "/simple/", mode)
				if r.Err != nil || !errors.Is(r.Unverified, index.ErrUnavailable) || r.Principal.User != "ci" {
					t.Errorf("verified credential during the outage: %+v", r)
					continue // not Fatal: Restart must start the server again
				}
				if err := svc.Read(r, "acme-util"); err != nil {
					t.Errorf("read during the outage: %v", err)
				}
				if _, err := auth.Check(r, index.ScopeUpload); !errors.Is(err, index.ErrUnavailable) {
					t.Errorf("upload scope during the outage: %v, want ErrUnavailable", err)
				}
			}
		}
		for _, authz := range []string{"Bearer " + other, wrong} {
			r := svc.Resolve(ctx, authz, "192.0.2.1", "/simple/", auth.Full)
			if !errors.Is(r.Err, index.ErrUnavailable) {
				t.Errorf("credential never verified, during the outage: %+v, want ErrUnavailable", r)
			}
			if err := svc.Read(r, "acme-util"); !errors.Is(err, index.ErrUnavailable) {
				t.Errorf("read with a credential never verified: %v, want ErrUnavailable", err)
			}
		}
	})
	r := svc.Resolve(ctx, "Bearer "+other, "192.0.2.1", "/simple/", auth.Full)
	for deadline := time.Now().Add(10 * time.Second); r.Err != nil && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // the pool reconnects
		r = svc.Resolve(ctx, "Bearer "+other, "192.0.2.1", "/simple/", auth.Full)
	}
	if r.Err != nil || r.Unverified != nil {
		t.Errorf("after the outage: %+v", r)
	}
}
