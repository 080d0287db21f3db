package main_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestMirrorUpstreamChanged: a server started with --upstream A caches
// pages from A. "pyindex mirror sync" without the server's upstream (the
// default is pypi.org) refuses to mix pypi.org's pages in, and says how to
// name A; with A (flag or env) it syncs. A server started against another
// upstream B refuses to start, and starts with upstream_changed = "drop",
// dropping A's pages.
func TestMirrorUpstreamChanged(t *testing.T) {
	a, b := mirrortest.Start(t, false), mirrortest.Start(t, false)
	m := startServer(t, func(c *pyindex.Config) { c.Mirror.Upstream = a.SimpleURL() })
	data := m.Config.Data
	resp, err := http.Get(m.URL() + "/simple/acme-util/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("mirrored page: %d", resp.StatusCode)
	}

	// The sync's own default upstream: refused before any request.
	out, err := runCLI(t, nil, "", "mirror", "sync", "acme-util==0.2", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "--upstream "+a.SimpleURL()) || !strings.Contains(err.Error(), "https://pypi.org/simple/") {
		t.Fatalf("sync against another upstream: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "", "mirror", "sync", "acme-util==0.2", "--data", data, "--upstream", a.SimpleURL()); err != nil {
		t.Fatalf("sync with the server's upstream: %v\n%s", err, out)
	}
	if out, err := runCLI(t, map[string]string{"PYINDEX_MIRROR_UPSTREAM": a.SimpleURL()}, "", "mirror", "sync", "acme-util==0.2", "--data", data); err != nil {
		t.Fatalf("sync with the upstream from the environment: %v\n%s", err, out)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	cfg := m.Config
	cfg.Listen = "127.0.0.1:0"
	cfg.Mirror.Upstream = b.SimpleURL()
	m2 := pyindex.NewMain(cfg, io.Discard)
	err = m2.Run(context.Background())
	m2.Close()
	if err == nil || !strings.Contains(err.Error(), "--upstream-changed=drop") {
		t.Fatalf("serve against another upstream: %v", err)
	}
	cfg.Mirror.UpstreamChanged = "drop"
	m3 := pyindex.NewMain(cfg, io.Discard)
	if err := m3.Run(context.Background()); err != nil {
		t.Fatalf("serve with upstream_changed = drop: %v", err)
	}
	defer m3.Close()
	_, body := get(t, m3.URL()+"/simple/", "", "")
	if strings.Contains(body, "acme-util") {
		t.Errorf("the old upstream's page is still listed:\n%s", body)
	}
	if status, _ := get(t, m3.URL()+"/simple/acme-util/", "", ""); status != 200 || b.Count("/simple/acme-util/") != 1 {
		t.Errorf("page from the new upstream: %d, %d requests", status, b.Count("/simple/acme-util/"))
	}
}
