package scm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index/devapi"
	"github.com/pyindex/pyindex/upload/scm"
)

func TestIndexClient(t *testing.T) {
	var hits atomic.Int32
	var failFirst atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failFirst.Load() > 0 {
			failFirst.Add(-1)
			http.Error(w, `{"error": "try later"}`, http.StatusServiceUnavailable)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/projects/my.pkg/dev-versions" {
			http.Error(w, `{"error": "not found"}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad token"})
			return
		}
		var req devapi.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Commit == "" {
			http.Error(w, `{"error": "bad request"}`, http.StatusBadRequest)
			return
		}
		base := req.Base
		if base == "" {
			base = "2.0.0"
		}
		switch req.Branch {
		case "lie":
			base = "9.9"
		case "normalize":
			base = "1.2.4"
		}
		_ = json.NewEncoder(w).Encode(devapi.Response{Version: base + ".dev7", Number: 7})
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &scm.IndexClient{URL: srv.URL + "/", Token: "s3cret", Backoff: time.Millisecond}

	resp, err := c.DevVersion(ctx, "my.pkg", devapi.Request{Base: "1.2.4", Commit: "abc", Branch: "main"})
	if err != nil || resp.Version != "1.2.4.dev7" || resp.Number != 7 || resp.DevBase() != "1.2.4" {
		t.Fatalf("got %+v, %v", resp, err)
	}

	resp, err = c.DevVersion(ctx, "my.pkg", devapi.Request{Commit: "abc"})
	if err != nil || resp.DevBase() != "2.0.0" {
		t.Errorf("server base: got %+v, %v", resp, err)
	}

	// 503 twice, then success: retried.
	hits.Store(0)
	failFirst.Store(2)
	if _, err := c.DevVersion(ctx, "my.pkg", devapi.Request{Base: "1.2.4", Commit: "abc"}); err != nil || hits.Load() != 3 {
		t.Errorf("retry: %v after %d requests", err, hits.Load())
	}

	// A server that normalizes the base is fine.
	if _, err := c.DevVersion(ctx, "my.pkg", devapi.Request{Base: "01.2.4", Commit: "abc", Branch: "normalize"}); err != nil {
		t.Errorf("normalized base: %v", err)
	}

	// An inconsistent answer is refused.
	if _, err := c.DevVersion(ctx, "my.pkg", devapi.Request{Base: "1.2.4", Commit: "abc", Branch: "lie"}); !errors.Is(err, scm.ErrInvalidVersion) {
		t.Errorf("inconsistent answer: %v", err)
	}

	// A 401 is not retried and carries the server's message.
	hits.Store(0)
	bad := &scm.IndexClient{URL: srv.URL, Token: "wrong", Backoff: time.Millisecond}
	_, err = bad.DevVersion(ctx, "my.pkg", devapi.Request{Base: "1.2.4", Commit: "abc"})
	var he *scm.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || he.Message != "bad token" || hits.Load() != 1 {
		t.Errorf("401: %v after %d requests", err, hits.Load())
	}

	if _, err := c.DevVersion(ctx, "my.pkg", devapi.Request{Base: "1.2.4"}); !errors.Is(err, scm.ErrConfig) {
		t.Errorf("no commit: %v", err)
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"git describe --dirty --tags --long --match v*":  {"git", "describe", "--dirty", "--tags", "--long", "--match", "v*"},
		`git describe --match '*[0-9]*' --exclude "a b"`: {"git", "describe", "--match", "*[0-9]*", "--exclude", "a b"},
		`git describe --match=v\*  --first-parent`:       {"git", "describe", "--match=v*", "--first-parent"},
		`git "say \"hi\"" 'it''s' #notacomment`:          {"git", `say "hi"`, "its", "#notacomment"},
		"  ":                                             nil,
	} {
		got, err := scm.SplitCommand(in)
		if err != nil || len(got) != len(want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("SplitCommand(%q) = %q; want %q", in, got, want)
				break
			}
		}
	}
	if _, err := scm.SplitCommand(`git "open`); !errors.Is(err, scm.ErrConfig) {
		t.Errorf("unclosed quote: %v", err)
	}
}

// TestIndexClientBasic: with a user, the secret goes as HTTP Basic
// credentials (a user's password), never as a Bearer token.
func TestIndexClientBasic(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "pw-1" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad credentials"})
			return
		}
		_ = json.NewEncoder(w).Encode(devapi.Response{Version: "1.0.dev1", Number: 1, Base: "1.0"})
	}))
	defer srv.Close()
	c := &scm.IndexClient{URL: srv.URL, User: "ci", Token: "pw-1", Retries: -1}
	resp, err := c.DevVersion(t.Context(), "p", devapi.Request{Base: "1.0", Commit: "0123456"})
	if err != nil || resp.Number != 1 {
		t.Fatalf("DevVersion = %+v, %v", resp, err)
	}
}
