package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/pgtest"
)

// within retries ok for up to a second: the time a change made through one
// replica (or the CLI) may take to show on another.
func within(ok func() bool) bool {
	deadline := time.Now().Add(time.Second)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPostgresCatalogCLI runs two servers with their own data folders on
// one PostgreSQL catalog, as two replicas would, and the CLI against the
// same catalog (by --catalog and by PYINDEX_CATALOG_URL): a user added by
// the CLI uploads with twine through one server, the other serves the
// file, and yank, token, backup, fsck and delete work on PostgreSQL and
// show on both servers.
func TestPostgresCatalogCLI(t *testing.T) {
	url := pgtest.URL(t)
	withPG := func(c *pyindex.Config) { c.Catalog.URL = url }
	a, b := startServer(t, withPG), startServer(t, withPG)
	dist := t.TempDir()
	buildWheel(t, dist, "e2e-pg", "1.0")
	wheel := filepath.Join(dist, "e2e_pg-1.0-py2.py3-none-any.whl")

	// A fresh data folder, no --init: the catalog is the database.
	cliData := t.TempDir()
	out, err := runCLI(t, nil, "ci-password-1\n", "user", "add", "ci", "--password-stdin", "--data", cliData, "--catalog", url)
	if err != nil || !strings.Contains(out, "created user ci in postgres://") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	twineUpload(t, a, "ci", "ci-password-1", wheel)
	if !within(func() bool {
		_, page := get(t, b.URL()+"/simple/e2e-pg/", "", "")
		return strings.Contains(page, "e2e_pg-1.0")
	}) {
		t.Fatal("the other server does not list the upload")
	}

	env := map[string]string{"PYINDEX_CATALOG_URL": url}
	if out, err := runCLI(t, env, "", "yank", "e2e-pg", "1.0", "--reason", "bad", "--data", cliData); err != nil {
		t.Fatalf("yank: %v\n%s", err, out)
	}
	for _, m := range []*pyindex.Main{a, b} {
		if !within(func() bool {
			_, page := get(t, m.URL()+"/simple/e2e-pg/", "", "")
			return strings.Contains(page, `data-yanked="bad"`)
		}) {
			t.Errorf("%s does not show the yank", m.URL())
		}
	}
	tok := createToken(t, nil, "ci", "--scope", "read", "--catalog", url, "--data", cliData)
	req, _ := http.NewRequest(http.MethodGet, b.URL()+"/simple/e2e-pg/", nil)
	if code, _, _ := do(t, req, bearer(tok)); code != http.StatusOK {
		t.Errorf("token made by the CLI: %d on the other server", code)
	}

	// A backup of a PostgreSQL catalog is a SQLite catalog in the folder.
	backupDir := filepath.Join(t.TempDir(), "backup")
	out, err = runCLI(t, env, "", "backup", backupDir, "--data", a.Config.Data)
	if err != nil || !strings.Contains(out, "1 files") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	snap := indextest.OpenSQLite(t, filepath.Join(backupDir, "catalog.db"))
	f, err := snap.File(t.Context(), "e2e_pg-1.0-py2.py3-none-any.whl")
	if err != nil || !f.Yanked {
		t.Fatalf("backup's catalog: %+v, %v", f, err)
	}
	if _, err := os.Stat(filepath.Join(backupDir, "files", filepath.FromSlash(f.BlobKey))); err != nil {
		t.Errorf("backup lacks the blob: %v", err)
	}
	if out, err := runCLI(t, env, "", "fsck", "--data", a.Config.Data); err != nil {
		t.Errorf("fsck: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "", "delete", "e2e-pg", "--yes", "--data", a.Config.Data, "--catalog", url); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	for _, m := range []*pyindex.Main{a, b} {
		if !within(func() bool { code, _ := get(t, m.URL()+"/simple/e2e-pg/", "", ""); return code == http.StatusNotFound }) {
			t.Errorf("%s still serves the deleted project", m.URL())
		}
	}
	if out, err := runCLI(t, env, "", "restore", backupDir, "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "catalog copy") {
		t.Errorf("restore onto PostgreSQL: %v\n%s", err, out)
	}
}

// TestPostgresReadiness checks that /readyz says 503 while PostgreSQL is
// down and /healthz stays 200, and that the server serves again, without a
// restart, once it is back.
func TestPostgresReadiness(t *testing.T) {
	url := pgtest.URL(t)
	m := startServer(t, func(c *pyindex.Config) { c.Catalog.URL = url })
	if out, err := runCLI(t, nil, "ci-password-1\n", "user", "add", "ci", "--password-stdin", "--catalog", url); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	tok := createToken(t, nil, "ci", "--catalog", url)
	if code, _ := get(t, m.URL()+"/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("/readyz = %d before the outage", code)
	}
	pgtest.Restart(t, func() {
		if code, body := get(t, m.URL()+"/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "catalog") {
			t.Errorf("/readyz = %d %q while PostgreSQL is down, want 503 naming the catalog", code, body)
		}
		if code, _ := get(t, m.URL()+"/healthz", "", ""); code != http.StatusOK {
			t.Errorf("/healthz = %d while PostgreSQL is down, want 200", code)
		}
		// A write gets 503 and a one-line reason, never a 500.
		req := uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel")
		code, body, _ := do(t, req, bearer(tok))
		if code != http.StatusServiceUnavailable || strings.Count(strings.TrimSpace(body), "\n") != 0 {
			t.Errorf("upload while PostgreSQL is down: %d %q, want 503 with one line", code, body)
		}
	})
	if !within(func() bool { code, _ := get(t, m.URL()+"/readyz", "", ""); return code == http.StatusOK }) {
		t.Error("/readyz not 200 after PostgreSQL came back")
	}
	if code, _ := get(t, m.URL()+"/simple/", "ci", "ci-password-1"); code != http.StatusOK {
		t.Errorf("/simple/ = %d after PostgreSQL came back", code)
	}
	req := uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel")
	if code, body, _ := do(t, req, bearer(tok)); code != http.StatusOK {
		t.Errorf("upload after PostgreSQL came back: %d %s", code, body)
	}
	_, metrics := get(t, m.URL()+"/metrics", "", "")
	for _, want := range []string{`pyindex_catalog_connections{engine="postgres",state="idle"}`, `pyindex_catalog_connections_max{engine="postgres"} 16`, `pyindex_catalog_change_notifications_total{engine="postgres"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
