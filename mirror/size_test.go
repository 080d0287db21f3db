package mirror_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestUnknownSize: the JSON page of an HTML-only upstream never says
// "size": 0. A file not cached has no size key (and the page says
// api-version 1.0, before PEP 700 made it mandatory); once cached, its size
// is known and given. A JSON upstream's sizes are given from the start.
func TestUnknownSize(t *testing.T) {
	type page struct {
		Meta struct {
			APIVersion string `json:"api-version"`
		} `json:"meta"`
		Files []map[string]any `json:"files"`
	}
	get := func(e *env) page {
		t.Helper()
		r := e.Get("/simple/acme-util/", mirrortest.JSONAccept())
		var p page
		if err := json.Unmarshal(r.Body, &p); err != nil || r.Status != 200 {
			t.Fatalf("page: %d %v\n%s", r.Status, err, r.Body)
		}
		if strings.Contains(string(r.Body), `"size":0`) {
			t.Errorf("a page claims a size of 0:\n%s", r.Body)
		}
		return p
	}
	e := newEnv(t, mirrortest.Start(t, true), "", nil)
	p := get(e)
	if p.Meta.APIVersion != "1.0" {
		t.Errorf("api-version %q with sizes missing, want 1.0", p.Meta.APIVersion)
	}
	for _, f := range p.Files {
		if _, ok := f["size"]; ok {
			t.Errorf("%v: a size for a file the upstream gave none for", f["filename"])
		}
	}
	const whl = "acme_util-0.2-py3-none-any.whl"
	body := e.Get("/mirror/files/acme-util/"+whl, nil).Body
	for _, f := range get(e).Files {
		size, ok := f["size"].(float64)
		if f["filename"] == whl && (!ok || int(size) != len(body)) {
			t.Errorf("cached %s: size %v, want %d", whl, f["size"], len(body))
		}
		if f["filename"] != whl && ok {
			t.Errorf("%v: size %v for a file not cached", f["filename"], size)
		}
	}

	j := newEnv(t, mirrortest.Start(t, false), "", nil)
	p = get(j)
	if p.Meta.APIVersion != "1.4" {
		t.Errorf("api-version %q with every size known, want 1.4", p.Meta.APIVersion)
	}
	for _, f := range p.Files {
		if n, _ := f["size"].(float64); n <= 0 {
			t.Errorf("%v: size %v from a JSON upstream", f["filename"], f["size"])
		}
	}
}
