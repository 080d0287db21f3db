package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestMirrorInstall installs, with real pip, a project only the upstream
// has (a local upstream serving recorded PyPI pages and real wheels), then
// again with the upstream stopped: the second round is served entirely
// from the mirror's cache, stale pages included (ttl 0 makes every page
// request try the upstream first).
func TestMirrorInstall(t *testing.T) {
	var clients []pipClient
	for _, p := range pips(t) {
		// The test projects need Python >= 3.8.
		if strings.Contains(p.name, "py2.7") || strings.Contains(p.name, "py3.6") || strings.Contains(p.name, "py3.7") {
			continue
		}
		clients = append(clients, p)
	}
	for _, tc := range []struct {
		name     string
		htmlOnly bool
	}{{"json-upstream", false}, {"html-only-upstream", true}} {
		t.Run(tc.name, func(t *testing.T) {
			up := mirrortest.Start(t, tc.htmlOnly)
			m := startServer(t, func(c *pyindex.Config) {
				c.Mirror.Upstream = up.SimpleURL()
				c.Mirror.TTL = 0
				c.Mirror.Timeout = 5 * time.Second
			})
			want := "acme-core==1.0 acme-util==0.2"
			install := func(t *testing.T, p pipClient) {
				target := filepath.Join(t.TempDir(), "site")
				run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
					"--index-url", m.URL()+"/simple/", "--target", target, "acme-core")
				if got := strings.Join(installed(t, target), " "); got != want {
					t.Errorf("%s installed %q, want %q", p.name, got, want)
				}
			}
			for _, p := range clients {
				t.Run(p.name, func(t *testing.T) { install(t, p) })
			}
			for _, f := range []string{"acme_core-1.0-py3-none-any.whl", "acme_util-0.2-py3-none-any.whl"} {
				if n := up.Count("/packages/" + f); n != 1 {
					t.Errorf("upstream GETs of %s = %d, want 1 for %d clients", f, n, len(clients))
				}
			}
			up.Close()
			for _, p := range clients {
				t.Run(p.name+"/upstream-stopped", func(t *testing.T) { install(t, p) })
			}
		})
	}
}

// TestMirrorConfigFlags checks flag > env > config file for the mirror's
// settings of "pyindex serve".
func TestMirrorConfigFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(file, []byte("[mirror]\nupstream = \"http://file.invalid/simple/\"\nttl = \"1h\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PYINDEX_MIRROR_UPSTREAM": "http://env.invalid/simple/"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := pyindex.LoadConfig(file, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mirror.Upstream != "http://env.invalid/simple/" || cfg.Mirror.TTL != time.Hour {
		t.Errorf("mirror = %+v, want env's upstream and the file's ttl", cfg.Mirror)
	}
	cfg.Mirror.Upstream = "ftp://x"
	cfg.Mirror.MinAge = -time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "mirror.upstream") || !strings.Contains(err.Error(), "mirror.min_age") {
		t.Errorf("Validate = %v", err)
	}
}
