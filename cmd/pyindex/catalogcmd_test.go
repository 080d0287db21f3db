package main_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index/pgtest"
)

// TestCatalogCopy moves a SQLite catalog with an upload, a user and a
// token to PostgreSQL, serves it from there (same files folder), uploads
// one more file (ids continue after the copied ones), and copies it back
// into a new SQLite file that a server then serves.
func TestCatalogCopy(t *testing.T) {
	old := startServer(t, nil)
	dist := t.TempDir()
	buildWheel(t, dist, "e2e-copy", "1.0")
	buildWheel(t, dist, "e2e-copy", "1.1")
	addUser(t, old, "ci", "ci-password-1", false)
	tok := createToken(t, old, "ci", "--scope", "read")
	twineUpload(t, old, "ci", "ci-password-1", filepath.Join(dist, "e2e_copy-1.0-py2.py3-none-any.whl"))

	url := pgtest.URL(t)
	out, err := runCLI(t, nil, "", "catalog", "copy", "--data", old.Config.Data, "--to", url)
	if err != nil {
		t.Fatalf("copy to PostgreSQL: %v\n%s", err, out)
	}
	for _, want := range []string{"files 1", "users 1", "tokens 1", "project_owners 1"} {
		if !hasRow(out, want) {
			t.Errorf("copy output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "row counts verified") {
		t.Errorf("copy output:\n%s", out)
	}
	if out, err := runCLI(t, nil, "", "catalog", "copy", "--data", old.Config.Data, "--to", url); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second copy into the same database: %v\n%s", err, out)
	}

	files := filepath.Join(old.Config.Data, "files")
	pg := startServer(t, func(c *pyindex.Config) { c.Catalog.URL = url; c.Storage.Path = files })
	req, _ := http.NewRequest(http.MethodGet, pg.URL()+"/simple/e2e-copy/", nil)
	if code, body, _ := do(t, req, bearer(tok)); code != http.StatusOK || !strings.Contains(body, "e2e_copy-1.0") {
		t.Fatalf("copied catalog on PostgreSQL: %d\n%s", code, body)
	}
	twineUpload(t, pg, "ci", "ci-password-1", filepath.Join(dist, "e2e_copy-1.1-py2.py3-none-any.whl"))

	back := filepath.Join(t.TempDir(), "data")
	out, err = runCLI(t, nil, "", "catalog", "copy", "--catalog", url, "--to", "sqlite:"+filepath.Join(back, "catalog.db"))
	if err != nil || !hasRow(out, "files 2") || !hasRow(out, "audit 4") {
		t.Fatalf("copy back to SQLite: %v\n%s", err, out)
	}
	sq := startServer(t, func(c *pyindex.Config) { c.Data = back; c.Storage.Path = files })
	code, page := get(t, sq.URL()+"/simple/e2e-copy/", "ci", "ci-password-1")
	if code != http.StatusOK || !strings.Contains(page, "e2e_copy-1.0") || !strings.Contains(page, "e2e_copy-1.1") {
		t.Errorf("copied back: %d\n%s", code, page)
	}
	if out, err := runCLI(t, nil, "", "catalog", "copy", "--catalog", url, "--to", "sqlite:"+filepath.Join(back, "catalog.db")); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("copy onto an existing file: %v\n%s", err, out)
	}
}

// hasRow reports whether out has a line whose fields are those of row.
func hasRow(out, row string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == row {
			return true
		}
	}
	return false
}
