package main_test

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index/pgtest"
)

// TestPostgresDownServesKnown stops PostgreSQL under a running server on a
// public index (and a private replica of it): the pages it has served
// (HTML, PEP 691 JSON, the root, through the fast lane and echo, with
// credentials or without), and the file, metadata and JSON API answer it
// has served keep coming with the same bytes; /readyz is 503 and /healthz
// 200; the private replica serves the page it has served to credentials
// it verified before; a page or JSON API answer it has not served, a
// private read with credentials it never verified, an upload (through
// twine too) and an admin change get 503 with the one-line reason; and once PostgreSQL is back uploads and new pages
// work without a restart, within a few seconds.
func TestPostgresDownServesKnown(t *testing.T) {
	url := pgtest.URL(t)
	m := startServer(t, func(c *pyindex.Config) { c.Catalog.URL = url })
	// A private replica of the same index: while PostgreSQL is down its
	// reads need credentials it verified before (nothing can revoke them
	// meanwhile); any others get 503, never a guess.
	private := startServer(t, func(c *pyindex.Config) { c.Catalog.URL = url; c.Auth.AnonymousRead = false })
	if out, err := runCLI(t, nil, "ci-password-1\n", "user", "add", "ci", "--password-stdin", "--catalog", url); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "root-password-1\n", "user", "add", "root", "--admin", "--password-stdin", "--catalog", url); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	tok := createToken(t, nil, "ci", "--catalog", url)
	admin := createToken(t, nil, "root", "--scope", "admin", "--catalog", url)
	req := uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel")
	if code, body, _ := do(t, req, bearer(tok)); code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, body)
	}
	_, page := get(t, m.URL()+"/simple/acme-util/", "", "")
	i := strings.Index(page, `href="/files/`)
	if i < 0 {
		t.Fatalf("no file link on the page:\n%s", page)
	}
	fileURL := m.URL() + page[i+len(`href="`):][:strings.IndexAny(page[i+len(`href="`):], `#"`)]

	type fetch struct {
		name, url, accept string
		set               func(*http.Request)
	}
	known := []fetch{
		{"page html", m.URL() + "/simple/acme-util/", "text/html", nil},
		{"page json", m.URL() + "/simple/acme-util/", "application/vnd.pypi.simple.v1+json", nil},
		{"page with a token", m.URL() + "/simple/acme-util/", "text/html", bearer(tok)},
		{"page with a password", m.URL() + "/simple/acme-util/", "text/html", basic("ci", "ci-password-1")},
		{"root", m.URL() + "/simple/", "", nil},
		{"file", fileURL, "", nil},
		{"metadata", fileURL + ".metadata", "", nil},
		{"JSON API", m.URL() + "/pypi/acme-util/json", "", nil},
	}
	fetchOne := func(f fetch) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, f.url, nil)
		if f.accept != "" {
			req.Header.Set("Accept", f.accept)
		}
		return do(t, req, f.set)
	}
	code, privateBefore := get(t, private.URL()+"/simple/acme-util/", "ci", "ci-password-1")
	if code != http.StatusOK {
		t.Fatalf("private replica: %d", code)
	}
	before := map[string]string{}
	for _, f := range known {
		// Twice: the second is the fast lane's, from memory.
		for range 2 {
			code, body, _ := fetchOne(f)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %s", f.name, code, body)
			}
			before[f.name] = body
		}
	}

	oneLineReason := func(what string, code int, body string) {
		t.Helper()
		body = strings.TrimSpace(body)
		if code != http.StatusServiceUnavailable || strings.Contains(body, "\n") ||
			!strings.Contains(body, "catalog unavailable: PostgreSQL at 127.0.0.1:") || strings.Contains(body, "password") {
			t.Errorf("%s while PostgreSQL is down: %d %q, want 503 with the one-line reason", what, code, body)
		}
	}
	pgtest.Restart(t, func() {
		start := time.Now()
		if code, body := get(t, m.URL()+"/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "catalog") {
			t.Errorf("/readyz = %d %q while PostgreSQL is down", code, body)
		}
		if code, _ := get(t, m.URL()+"/healthz", "", ""); code != http.StatusOK {
			t.Errorf("/healthz = %d while PostgreSQL is down", code)
		}
		for _, f := range known {
			for range 2 {
				if code, body, _ := fetchOne(f); code != http.StatusOK || body != before[f.name] {
					t.Errorf("%s while PostgreSQL is down: %d, same bytes %v", f.name, code, body == before[f.name])
				}
			}
		}
		code, body := get(t, m.URL()+"/simple/acme-core/", "", "")
		oneLineReason("a page not served before", code, body)
		if code, body := get(t, private.URL()+"/simple/acme-util/", "ci", "ci-password-1"); code != http.StatusOK || body != privateBefore {
			t.Errorf("a private read with credentials verified before, while PostgreSQL is down: %d, same bytes %v", code, body == privateBefore)
		}
		code, body = get(t, private.URL()+"/simple/acme-util/", "ci", "not-the-password")
		oneLineReason("a private read with credentials never verified", code, body)
		if code, _ := get(t, private.URL()+"/simple/acme-util/", "", ""); code != http.StatusUnauthorized {
			t.Errorf("an anonymous private read while PostgreSQL is down: %d, want 401", code)
		}
		code, body = get(t, m.URL()+"/pypi/acme-util/0.1/json", "", "")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "catalog unavailable") {
			t.Errorf("JSON API while PostgreSQL is down: %d %q", code, body)
		}
		req := uploadRequest(t, m.URL(), "acme_util-0.2-py3-none-any.whl", "acme-util", "0.2", "bdist_wheel")
		code, body, _ = do(t, req, bearer(tok))
		oneLineReason("an upload", code, body)
		req, _ = http.NewRequest(http.MethodPost, m.URL()+"/api/v1/projects/acme-util/releases/0.1/yank", strings.NewReader(`{"reason":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		code, body, _ = do(t, req, bearer(admin))
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "catalog unavailable") {
			t.Errorf("admin yank while PostgreSQL is down: %d %q", code, body)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the requests of the outage took %s", d)
		}
		t.Run("twine", func(t *testing.T) {
			twine := need(t, "twine")
			whl := filepath.Join("..", "..", "testdata", "dists", "acme_util-0.2-py3-none-any.whl")
			cmd := exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar", "--verbose",
				"--repository-url", m.URL()+"/legacy/", "-u", "__token__", "-p", tok, whl)
			cmd.Env = cleanEnv()
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "503") || !strings.Contains(string(out), "catalog unavailable: PostgreSQL at 127.0.0.1:") {
				t.Errorf("twine while PostgreSQL is down (err %v):\n%s", err, out)
			}
		})
		_, metrics := get(t, m.URL()+"/metrics", "", "")
		if !strings.Contains(metrics, `pyindex_catalog_errors_total{engine="postgres",kind="unavailable"}`) {
			t.Error("/metrics lacks the unavailable errors")
		}
	})

	// Back, no restart: an upload and a new page within a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		req := uploadRequest(t, m.URL(), "acme_util-0.2-py3-none-any.whl", "acme-util", "0.2", "bdist_wheel")
		code, body, _ := do(t, req, bearer(tok))
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload after PostgreSQL came back: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, page := get(t, m.URL()+"/simple/acme-util/", "", ""); code != http.StatusOK || !strings.Contains(page, "acme_util-0.2") {
		t.Errorf("the page after PostgreSQL came back: %d\n%s", code, page)
	}
	if code, _ := get(t, m.URL()+"/simple/acme-core/", "", ""); code != http.StatusNotFound {
		t.Errorf("an unknown project after PostgreSQL came back: %d, want 404", code)
	}
	if code, _ := get(t, m.URL()+"/readyz", "", ""); code != http.StatusOK {
		t.Errorf("/readyz = %d after PostgreSQL came back", code)
	}
	_, metrics := get(t, m.URL()+"/metrics", "", "")
	for _, want := range []string{`pyindex_catalog_operation_seconds_count{engine="postgres",op="write"}`,
		`pyindex_catalog_connect_failures_total{engine="postgres"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
