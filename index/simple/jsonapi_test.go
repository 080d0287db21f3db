package simple_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

func TestJSONAPI(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	p, err := en.cat.Project(context.Background(), "acme-util")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target, version string
		files                 []string
		releases              bool
	}{
		{"project", "/pypi/acme-util/json", "0.2", []string{"acme_util-0.2-py3-none-any.whl", "acme_util-0.2.tar.gz"}, true},
		{"project slash", "/pypi/acme-util/json/", "0.2", []string{"acme_util-0.2-py3-none-any.whl", "acme_util-0.2.tar.gz"}, true},
		{"version", "/pypi/acme-util/0.1/json", "0.1", []string{"acme_util-0.1-py3-none-any.whl", "acme_util-0.1.tar.gz"}, false},
		{"version trailing zeros", "/pypi/acme-util/0.1.0/json", "0.1", []string{"acme_util-0.1-py3-none-any.whl", "acme_util-0.1.tar.gz"}, false},
		{"prerelease spelling", "/pypi/acme-util/1.0.0-RC1/json", "1.0rc1", []string{"acme_util-1.0rc1-py3-none-any.whl", "acme_util-1.0rc1.tar.gz"}, false},
		{"version slash", "/pypi/acme-util/0.2/json/", "0.2", []string{"acme_util-0.2-py3-none-any.whl", "acme_util-0.2.tar.gz"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := en.get(tc.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := rec.Header().Get("X-PyPI-Last-Serial"); got != itoa(p.LastSerial) {
				t.Errorf("X-PyPI-Last-Serial = %q, want %d", got, p.LastSerial)
			}
			m := decodeJSON(t, rec.Body.Bytes())
			info := m["info"].(map[string]any)
			if info["version"] != tc.version || info["name"] != "acme-util" {
				t.Errorf("info.version = %v, info.name = %v", info["version"], info["name"])
			}
			if m["last_serial"] != float64(p.LastSerial) {
				t.Errorf("last_serial = %v", m["last_serial"])
			}
			var got []string
			for _, ua := range m["urls"].([]any) {
				u := ua.(map[string]any)
				fn := u["filename"].(string)
				got = append(got, fn)
				d := indextest.Sum(indextest.Dist(t, fn))
				dg := u["digests"].(map[string]any)
				if dg["sha256"] != d.SHA256 || dg["md5"] != d.MD5 || dg["blake2b_256"] != d.Blake2b256 || u["md5_digest"] != d.MD5 {
					t.Errorf("%s: digests = %v, md5_digest = %v", fn, dg, u["md5_digest"])
				}
				wantType := "sdist"
				if strings.HasSuffix(fn, ".whl") {
					wantType = "bdist_wheel"
				}
				if u["packagetype"] != wantType {
					t.Errorf("%s: packagetype = %v", fn, u["packagetype"])
				}
				if !strings.HasPrefix(u["url"].(string), "http://example.com/files/"+d.SHA256+"/") {
					t.Errorf("%s: url = %v", fn, u["url"])
				}
				if s := u["upload_time"].(string); len(s) != len("2006-01-02T15:04:05") {
					t.Errorf("%s: upload_time = %q", fn, s)
				}
				if s := u["upload_time_iso_8601"].(string); !strings.HasSuffix(s, "Z") {
					t.Errorf("%s: upload_time_iso_8601 = %q", fn, s)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.files, ",") {
				t.Errorf("urls = %v, want %v", got, tc.files)
			}
			rels, ok := m["releases"].(map[string]any)
			if ok != tc.releases {
				t.Fatalf("releases present = %v, want %v", ok, tc.releases)
			}
			if ok {
				var vs []string
				for v, files := range rels {
					vs = append(vs, v)
					if len(files.([]any)) != 2 {
						t.Errorf("releases[%s] has %d files", v, len(files.([]any)))
					}
				}
				sort.Strings(vs)
				if strings.Join(vs, ",") != "0.1,0.2,1.0rc1" {
					t.Errorf("releases = %v", vs)
				}
			}
		})
	}
	t.Run("only prereleases", func(t *testing.T) {
		en := newEnv(t, simple.Config{})
		indextest.SeedDist(t, en.cat, en.store, "acme_util-1.0rc1-py3-none-any.whl")
		m := decodeJSON(t, en.get("/pypi/acme-util/json").Body.Bytes())
		if v := m["info"].(map[string]any)["version"]; v != "1.0rc1" {
			t.Errorf("info.version = %v, want 1.0rc1", v)
		}
	})
	t.Run("pep440 order not string order", func(t *testing.T) {
		en := newEnv(t, simple.Config{})
		for _, v := range []string{"1.10", "1.9", "1.2"} {
			fn, data := indextest.Wheel(t, "acme_util", v, "")
			indextest.Seed(t, en.cat, en.store, fn, data)
		}
		m := decodeJSON(t, en.get("/pypi/acme-util/json").Body.Bytes())
		if v := m["info"].(map[string]any)["version"]; v != "1.10" {
			t.Errorf("info.version = %v, want 1.10", v)
		}
		var page struct{ Versions []string }
		json.Unmarshal(en.get("/simple/acme-util/", "Accept", acceptJSON).Body.Bytes(), &page)
		if strings.Join(page.Versions, ",") != "1.2,1.9,1.10" {
			t.Errorf("versions = %v", page.Versions)
		}
	})
	t.Run("core metadata info", func(t *testing.T) {
		m := decodeJSON(t, en.get("/pypi/acme-core/json").Body.Bytes())
		info := m["info"].(map[string]any)
		if info["requires_python"] != ">=3.8" || info["summary"] == "" {
			t.Errorf("info = %v", info)
		}
	})
}

func TestBaseURL(t *testing.T) {
	en := newEnv(t, simple.Config{BaseURL: "https://pypi.example.com/py/"})
	indextest.SeedDist(t, en.cat, en.store, "acme_util-0.1-py3-none-any.whl")
	sum := indextest.Sum(indextest.Dist(t, "acme_util-0.1-py3-none-any.whl")).SHA256
	body := en.get("/simple/acme-util/").Body.String()
	if !strings.Contains(body, `href="/py/files/`+sum+`/acme_util-0.1-py3-none-any.whl#`) {
		t.Errorf("page links:\n%s", body)
	}
	m := decodeJSON(t, en.get("/pypi/acme-util/json").Body.Bytes())
	u := m["urls"].([]any)[0].(map[string]any)["url"]
	if u != "https://pypi.example.com/py/files/"+sum+"/acme_util-0.1-py3-none-any.whl" {
		t.Errorf("url = %v", u)
	}
	if _, err := simple.New(simple.Config{BaseURL: "ftp://x/"}, simple.Deps{Catalog: en.cat, Store: en.store}); err == nil {
		t.Errorf("ftp base URL accepted")
	}
}
