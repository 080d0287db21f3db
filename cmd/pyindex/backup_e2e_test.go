package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
)

// TestBackupRestoreInstall: twine uploads, an online backup (tar) while the
// server runs, a restore into a new data folder, and pip installs exactly
// the same files from the restored server as from the original.
func TestBackupRestoreInstall(t *testing.T) {
	dist := buildDists(t)
	clients := pips(t)
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	files, _ := filepath.Glob(filepath.Join(dist, "*"))
	twineUpload(t, m, "ci", "ci-password-1", files...)

	tarFile := filepath.Join(t.TempDir(), "pyindex.tar")
	if out, err := runCLI(t, nil, "", "backup", tarFile, "--data", m.Config.Data); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "restored")
	if out, err := runCLI(t, nil, "", "restore", tarFile, "--data", data); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	r := startServer(t, func(c *pyindex.Config) { c.Data = data })

	// download fetches e2e-app and its dependencies, returning
	// "filename sha256" of each file pip got.
	download := func(t *testing.T, python, index string) []string {
		dir := t.TempDir()
		run(t, "", nil, python, "-m", "pip", "download", "--no-cache-dir", "--index-url", index, "-d", dir, "e2e-app")
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name()+" "+sha256File(t, filepath.Join(dir, e.Name())))
		}
		return out
	}
	for _, p := range clients {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			before := download(t, p.python, m.URL()+"/simple/")
			after := download(t, p.python, r.URL()+"/simple/")
			if len(before) != 2 || !slices.Equal(before, after) {
				t.Errorf("pip download from the original: %v\nfrom the restored server: %v", before, after)
			}
			target := t.TempDir()
			run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--index-url", r.URL()+"/simple/", "--target", target, "e2e-app")
			if got := installed(t, target); strings.Join(got, " ") != "e2e-app==1.0 e2e-lib==1.0" {
				t.Errorf("installed from the restored server: %v", got)
			}
		})
	}
}
