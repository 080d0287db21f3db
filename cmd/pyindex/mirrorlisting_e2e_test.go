package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestMirrorListedAirGapped: projects synced into an instance that then
// runs offline (no upstream, as an air-gapped site does) are listed on
// /simple/ (marked), counted on the home page, and answered by the PyPI
// JSON API.
func TestMirrorListedAirGapped(t *testing.T) {
	up := mirrortest.Start(t, false)
	data := t.TempDir()
	if out, err := runCLI(t, nil, "", "mirror", "sync", "acme-core", "--deps", "--data", data, "--upstream", up.SimpleURL()); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	up.Close()
	m := startServer(t, func(c *pyindex.Config) {
		c.Data = data
		c.Mirror.Upstream = ""
		c.Mirror.Offline = true
	})
	_, body := get(t, m.URL()+"/simple/", "", "")
	for _, want := range []string{`href="/simple/acme-core/" data-mirrored="true"`, `href="/simple/acme-util/" data-mirrored="true"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/simple/ lacks %s:\n%s", want, body)
		}
	}
	_, body = get(t, m.URL()+"/", "", "")
	if !strings.Contains(body, `<b id="mirrored">2</b> mirrored projects`) {
		t.Errorf("home page counts:\n%s", body)
	}
	status, body := get(t, m.URL()+"/pypi/acme-core/json", "", "")
	var d struct {
		Info struct {
			Version      string   `json:"version"`
			RequiresDist []string `json:"requires_dist"`
		} `json:"info"`
		URLs []struct {
			URL string `json:"url"`
		} `json:"urls"`
	}
	if err := json.Unmarshal([]byte(body), &d); status != 200 || err != nil || d.Info.Version != "1.0" || len(d.URLs) == 0 {
		t.Fatalf("/pypi/acme-core/json: %d %v\n%s", status, err, body)
	}
	if len(d.Info.RequiresDist) == 0 {
		t.Errorf("no requires_dist from the cached metadata:\n%s", body)
	}
	if status, _ := get(t, d.URLs[0].URL, "", ""); status != 200 {
		t.Errorf("GET %s: %d", d.URLs[0].URL, status)
	}
}
