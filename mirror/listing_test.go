package mirror_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestListedOnRoot: cached upstream projects are on /simple/, marked
// (data-mirrored in HTML, "_mirrored" in JSON), after the hosted ones'
// rules: a hosted name is listed once, as hosted.
func TestListedOnRoot(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	fn, whl := indextest.Wheel(t, "acme_core", "9.0", "")
	indextest.Seed(t, e.Cat, e.Store, fn, whl) // hosted: hides the upstream's acme-core
	e.Page("acme-util")
	e.Get("/simple/setuptools/", nil)

	r := e.Get("/simple/", mirrortest.JSONAccept())
	var root struct {
		Projects []struct {
			Name     string `json:"name"`
			Mirrored bool   `json:"_mirrored"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(r.Body, &root); err != nil {
		t.Fatalf("%v\n%s", err, r.Body)
	}
	var got []string
	for _, p := range root.Projects {
		s := p.Name
		if p.Mirrored {
			s += "(mirrored)"
		}
		got = append(got, s)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "acme-core acme-util(mirrored) setuptools(mirrored)" {
		t.Errorf("root: %v\n%s", got, r.Body)
	}
	h := string(e.Get("/simple/", map[string]string{"Accept": "text/html"}).Body)
	for _, want := range []string{`<a href="/simple/acme-util/" data-mirrored="true">acme-util</a>`, `<a href="/simple/acme-core/">acme-core</a>`} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML root lacks %s:\n%s", want, h)
		}
	}
}

type apiDoc struct {
	Info struct {
		Name         string   `json:"name"`
		Version      string   `json:"version"`
		Summary      string   `json:"summary"`
		RequiresDist []string `json:"requires_dist"`
	} `json:"info"`
	LastSerial int64 `json:"last_serial"`
	Releases   map[string][]struct {
		Filename string `json:"filename"`
	} `json:"releases"`
	URLs []struct {
		Filename   string  `json:"filename"`
		URL        string  `json:"url"`
		Size       *int64  `json:"size"`
		UploadTime *string `json:"upload_time_iso_8601"`
		Digests    struct {
			SHA256 string `json:"sha256"`
		} `json:"digests"`
		PackageType string `json:"packagetype"`
	} `json:"urls"`
}

// TestJSONAPIMirrored: /pypi/NAME/json answers for a mirrored project
// from the cached upstream page, with the URLs of its pages, the info of
// the release's metadata, and null for what an HTML-only upstream does not
// say.
func TestJSONAPIMirrored(t *testing.T) {
	for _, htmlOnly := range []bool{false, true} {
		name := map[bool]string{false: "json", true: "html-only"}[htmlOnly]
		t.Run(name, func(t *testing.T) {
			up := mirrortest.Start(t, htmlOnly)
			e := newEnv(t, up, "", nil)
			r := e.Get("/pypi/acme-util/json", nil)
			var d apiDoc
			if err := json.Unmarshal(r.Body, &d); err != nil || r.Status != 200 {
				t.Fatalf("%d %v\n%s", r.Status, err, r.Body)
			}
			if d.Info.Version != "0.2" || d.Info.Name == "" || d.LastSerial == 0 {
				t.Errorf("info %+v, serial %d", d.Info, d.LastSerial)
			}
			var versions []string
			for v := range d.Releases {
				versions = append(versions, v)
			}
			sort.Strings(versions)
			if strings.Join(versions, " ") != "0.1 0.2 1.0rc1" || len(d.Releases["0.1"]) != 2 {
				t.Errorf("releases %v", d.Releases)
			}
			if len(d.URLs) != 2 {
				t.Fatalf("urls %+v", d.URLs)
			}
			for _, u := range d.URLs {
				if !strings.HasPrefix(u.URL, e.Srv.URL+"/mirror/files/acme-util/") || len(u.Digests.SHA256) != 64 {
					t.Errorf("%s: url %s, sha256 %q", u.Filename, u.URL, u.Digests.SHA256)
				}
				if htmlOnly && (u.Size != nil || u.UploadTime != nil) {
					t.Errorf("%s: size %v, upload time %v claimed, the upstream gives none", u.Filename, u.Size, u.UploadTime)
				}
				if !htmlOnly && (u.Size == nil || *u.Size <= 0 || u.UploadTime == nil) {
					t.Errorf("%s: size %v, upload time %v", u.Filename, u.Size, u.UploadTime)
				}
			}
			// The URLs work: the file comes through the mirror.
			resp, err := http.Get(d.URLs[0].URL)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET %s: %v %v", d.URLs[0].URL, resp, err)
			}
			resp.Body.Close()
			// The metadata: the upstream's PEP 658 file (JSON upstream), or
			// the cached wheel.
			r = e.Get("/pypi/acme-util/0.2/json", nil)
			if err := json.Unmarshal(r.Body, &d); err != nil || r.Status != 200 || d.Info.Version != "0.2" {
				t.Fatalf("release: %d %v\n%s", r.Status, err, r.Body)
			}
			if d.Info.Summary == "" && !htmlOnly {
				t.Errorf("no summary from the release's metadata:\n%s", r.Body)
			}
			if r := e.Get("/pypi/acme-util/1.0rc1/json", nil); r.Status != 200 {
				t.Errorf("pre-release: %d", r.Status)
			}
			for _, p := range []string{"/pypi/acme-util/7.0/json", "/pypi/nope/json"} {
				if r := e.Get(p, nil); r.Status != 404 {
					t.Errorf("%s: %d", p, r.Status)
				}
			}
		})
	}
}
