package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

type syncJSON struct {
	Projects []string `json:"projects"`
	Files    []struct {
		Project, Filename, Status string
	} `json:"files"`
	Fetched  int `json:"fetched"`
	Skipped  int `json:"skipped"`
	Failed   int `json:"failed"`
	Bytes    int `json:"bytes"`
	Failures []struct {
		Project, Error string
	} `json:"failures"`
}

func parseSyncJSON(t *testing.T, out string) syncJSON {
	t.Helper()
	var r syncJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("sync --json: %v\n%s", err, out)
	}
	return r
}

// TestMirrorSyncCLI runs "pyindex mirror sync" against a local upstream:
// a requirements file with a constraint, dependencies and filters, then an
// incremental rerun, and exit status 1 on a failure.
func TestMirrorSyncCLI(t *testing.T) {
	up := mirrortest.Start(t, false)
	data := t.TempDir()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "constraints.txt"), "acme-util<1\n")
	writeFile(t, filepath.Join(dir, "requirements.txt"), "# the site's needs\n-c constraints.txt\nacme-core>=1.0  # and its deps\n")
	args := []string{"mirror", "sync", "-r", filepath.Join(dir, "requirements.txt"), "--deps", "--only-binary",
		"--python", "3.11", "--platform", "manylinux_2_17_x86_64", "--latest", "1", "--json", "--data", data, "--upstream", up.SimpleURL()}
	// A dry run first, into another data folder: nothing downloaded; the
	// upstream has no PEP 658 file for acme-core, so its dependencies are
	// unknown without the wheel (and said so).
	dry := append([]string{}, args[:len(args)-5]...) // without --json and --data
	out, err := runCLI(t, nil, "", append(dry, "--dry-run", "--data", t.TempDir(), "--upstream", up.SimpleURL())...)
	if err != nil || !strings.Contains(out, "dry run: 1 projects, 1 files: 1 to fetch") || !strings.Contains(out, "dependencies not followed in a dry run") || up.Count("/packages/acme_core-1.0-py3-none-any.whl") != 0 {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	out, err = runCLI(t, nil, "", args...)
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	r := parseSyncJSON(t, out)
	var files []string
	for _, f := range r.Files {
		files = append(files, f.Filename+":"+f.Status)
	}
	// acme-util 1.0rc1 is newer, but the constraint keeps it out.
	if got := strings.Join(files, " "); got != "acme_core-1.0-py3-none-any.whl:fetched acme_util-0.2-py3-none-any.whl:fetched" {
		t.Errorf("files: %s", got)
	}
	if strings.Join(r.Projects, ",") != "acme-core,acme-util" || r.Fetched != 2 || r.Bytes == 0 || len(r.Failures) != 0 {
		t.Errorf("report: %+v", r)
	}

	// Again: nothing new, in text.
	text := []string{}
	for _, a := range args {
		if a != "--json" {
			text = append(text, a)
		}
	}
	out, err = runCLI(t, nil, "", text...)
	if err != nil || !strings.Contains(out, "2 projects, 2 files: 0 fetched (0 B), 2 already here, 0 failed") {
		t.Errorf("second sync: %v\n%s", err, out)
	}

	// A project the upstream does not have: reported, exit status 1.
	out, err = runCLI(t, nil, "", "mirror", "sync", "no-such-project", "acme-util==0.2", "--data", data, "--upstream", up.SimpleURL())
	if err == nil || !strings.Contains(out, "no-such-project") || !strings.Contains(out, "1 failures") {
		t.Errorf("failing sync: %v\n%s", err, out)
	}

	// Refusals with clear messages.
	writeFile(t, filepath.Join(dir, "editable.txt"), "-e ./src\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mirror", "sync", "-r", filepath.Join(dir, "editable.txt"), "--data", data, "--upstream", up.SimpleURL()}, "editable"},
		{[]string{"mirror", "sync", "app @ https://example.com/app.whl", "--data", data, "--upstream", up.SimpleURL()}, "URL"},
		{[]string{"mirror", "sync", "--data", data, "--upstream", up.SimpleURL()}, "nothing to sync"},
		{[]string{"mirror", "sync", "x", "--data", data, "--upstream", ""}, "no upstream"},
		{[]string{"mirror", "sync", "x", "--python", "three", "--data", data, "--upstream", up.SimpleURL()}, "python"},
		{[]string{"mirror", "sync", "x", "--max-file-size", "lots", "--data", data, "--upstream", up.SimpleURL()}, "max-file-size"},
	} {
		if out, err := runCLI(t, nil, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q\n%s", tc.args, err, tc.want, out)
		}
	}
}

// TestMirrorSyncWhileServing syncs into the data folder of a running
// server: the server then serves the files without asking the upstream.
func TestMirrorSyncWhileServing(t *testing.T) {
	up := mirrortest.Start(t, false)
	m := startServer(t, func(c *pyindex.Config) { c.Mirror.Upstream = up.SimpleURL() })
	out, err := runCLI(t, nil, "", "mirror", "sync", "acme-util==0.2", "--data", m.Config.Data, "--upstream", up.SimpleURL())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	resp, err := http.Get(m.URL() + "/simple/acme-util/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, f := range []string{"acme_util-0.2-py3-none-any.whl", "acme_util-0.2.tar.gz"} {
		resp, err := http.Get(m.URL() + "/mirror/files/acme-util/" + f)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := os.ReadFile(mirrortest.FilePath(f))
		if resp.StatusCode != 200 || string(body) != string(want) {
			t.Errorf("%s: %d", f, resp.StatusCode)
		}
		if n := up.Count("/packages/" + f); n != 1 {
			t.Errorf("%s: %d upstream GETs, want 1 (the sync's)", f, n)
		}
	}
}

// TestMirrorScheduledSync runs a [[mirror.sync]] job inside the server:
// files cached, audit entries by "mirror-sync", metrics.
func TestMirrorScheduledSync(t *testing.T) {
	up := mirrortest.Start(t, false)
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	writeFile(t, req, "acme-core\n")
	cfgFile := filepath.Join(dir, "pyindex.toml")
	writeFile(t, cfgFile, `[mirror]
upstream = "`+up.SimpleURL()+`"
[[mirror.sync]]
name = "site"
requirements = ["`+req+`"]
projects = ["acme-util==0.1"]
interval = "1h"
deps = true
only_binary = true
no_prerelease = true
latest = 1
python = ["3.12"]
platform = ["manylinux_2_17_x86_64"]
max_file_size = "1MiB"
`)
	cfg, err := pyindex.LoadConfig(cfgFile, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	job := cfg.Mirror.Sync[0]
	if job.Name != "site" || job.Interval != time.Hour || !job.Deps || job.Latest != 1 || !job.OnlyBinary || !job.NoPrerelease ||
		len(job.Pythons) != 1 || job.Platforms[0] != "manylinux_2_17_x86_64" || job.MaxFileSize != 1<<20 {
		t.Fatalf("job: %+v", job)
	}
	m := startServer(t, func(c *pyindex.Config) { c.Mirror = cfg.Mirror })
	want := []string{"acme_core-1.0-py3-none-any.whl", "acme_util-0.1-py3-none-any.whl", "acme_util-0.2-py3-none-any.whl"}
	metrics := func() string {
		resp, err := http.Get(m.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(metrics(), `pyindex_mirror_sync_runs_total{job="site",result="ok"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled sync ran:\n%s", metrics())
		}
		time.Sleep(50 * time.Millisecond)
	}
	evs, err := m.Catalog.AuditEvents(context.Background(), index.AuditQuery{Actor: mirrorsync.Actor})
	if err != nil || len(evs) != 3 { // acme-core, acme-util, the run
		t.Errorf("audit: %v %v", evs, err)
	}
	for _, f := range want {
		project := "acme-util"
		if strings.HasPrefix(f, "acme_core") {
			project = "acme-core"
		}
		mf, err := m.Catalog.MirrorFile(context.Background(), project, f)
		if err != nil || mf.BlobKey == "" {
			t.Errorf("%s not cached: %v", f, err)
		}
	}
	body := metrics()
	for _, s := range []string{`pyindex_mirror_sync_files_total{job="site",result="fetched"} 3`,
		`pyindex_mirror_sync_last_success_timestamp_seconds{job="site"}`} {
		if !strings.Contains(body, s) {
			t.Errorf("metrics lack %s", s)
		}
	}

	// Invalid jobs are refused at start.
	bad := pyindex.DefaultConfig()
	bad.Mirror.Sync = []mirrorsync.Job{{Interval: time.Second, Filter: mirrorsync.Filter{Platforms: []string{"Linux x86"}}},
		{Interval: time.Hour, Requirements: []string{filepath.Join(dir, "missing.txt")}}}
	err = bad.Validate()
	for _, s := range []string{"mirror.sync[0]: needs projects", "interval", "platform", "mirror.sync[1]: requirements: open"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Validate = %v, want %q", err, s)
		}
	}
}
