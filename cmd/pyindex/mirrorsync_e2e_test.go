package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestMirrorSyncAirGap is the air-gapped site's workflow with real pip:
// sync a project and its dependencies from the upstream into one data
// folder (no server running), export it, cut the upstream, import the
// archive into a second instance that runs with offline = true and no
// upstream at all, and install from it with every pip on the machine.
func TestMirrorSyncAirGap(t *testing.T) {
	var clients []pipClient
	for _, p := range pips(t) {
		// The test projects need Python >= 3.8.
		if strings.Contains(p.name, "py2.7") || strings.Contains(p.name, "py3.6") || strings.Contains(p.name, "py3.7") {
			continue
		}
		clients = append(clients, p)
	}
	up := mirrortest.Start(t, false)
	connected := t.TempDir()
	out, err := runCLI(t, nil, "", "mirror", "sync", "acme-core", "--deps", "--latest", "1", "--no-prerelease", "--only-binary",
		"--python", "3.8", "--python", "3.13", "--data", connected, "--upstream", up.SimpleURL())
	if err != nil || !strings.Contains(out, "2 projects, 2 files: 2 fetched") {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	tarball := filepath.Join(t.TempDir(), "pyindex-cache.tar")
	if out, err := runCLI(t, nil, "", "mirror", "export", tarball, "--data", connected); err != nil || !strings.Contains(out, "exported 2 projects, 2 files") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	up.Close() // the air gap

	site := startServer(t, func(c *pyindex.Config) {
		c.Mirror.Upstream = ""
		c.Mirror.Offline = true
	})
	// Imported while the server runs.
	if out, err := runCLI(t, nil, "", "mirror", "import", tarball, "--data", site.Config.Data); err != nil || !strings.Contains(out, "imported 2 projects, 2 files") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, p := range clients {
		t.Run(p.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "site")
			run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
				"--index-url", site.URL()+"/simple/", "--target", target, "acme-core")
			if got := strings.Join(installed(t, target), " "); got != "acme-core==1.0 acme-util==0.2" {
				t.Errorf("installed %q", got)
			}
			// What was not carried across is not offered.
			cmd := execCommand(t.Context(), p.python, "-m", "pip", "download", "--no-cache-dir", "--disable-pip-version-check",
				"--index-url", site.URL()+"/simple/", "-d", t.TempDir(), "acme-util==0.1")
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("acme-util 0.1 was installable:\n%s", out)
			} else if _, ok := err.(*exec.ExitError); !ok {
				t.Fatal(err)
			}
		})
	}
}
