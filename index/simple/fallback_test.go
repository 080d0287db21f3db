package simple_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/pgtest"
	"github.com/pyindex/pyindex/index/simple"
)

// TestServeWhileCatalogUnavailable: while PostgreSQL is down the pages
// this handler has rendered (both formats, the root too), the files and
// metadata and the JSON API answers it has served are served with the same bytes and
// validators; a page or file it has not served gets 503 with the
// catalog's one-line reason; and once PostgreSQL is back new pages are
// rendered again.
func TestServeWhileCatalogUnavailable(t *testing.T) {
	if indextest.Engine() != "postgres" {
		t.Skip("PostgreSQL only: runs in the PostgreSQL run of this package")
	}
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	f, err := en.cat.File(t.Context(), "acme_util-0.1-py3-none-any.whl")
	if err != nil {
		t.Fatal(err)
	}
	fileURL := "/files/" + f.SHA256 + "/" + f.Filename
	known := []struct{ target, accept string }{
		{"/simple/acme-util/", "text/html"},
		{"/simple/acme-util/", "application/vnd.pypi.simple.v1+json"},
		{"/simple/", "application/vnd.pypi.simple.v1+json"},
		{fileURL, ""},
		{fileURL + ".metadata", ""},
		{"/pypi/acme-util/json", ""},
		{"/pypi/acme-util/0.2/json", ""},
	}
	before := map[int]string{}
	etags := map[int]string{}
	for i, k := range known {
		rec := en.do(http.MethodGet, k.target, "Accept", k.accept)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", k.target, rec.Code)
		}
		before[i], etags[i] = rec.Body.String(), rec.Header().Get("ETag")
	}
	pgtest.Restart(t, func() {
		for i, k := range known {
			rec := en.do(http.MethodGet, k.target, "Accept", k.accept)
			if rec.Code != http.StatusOK || rec.Body.String() != before[i] || rec.Header().Get("ETag") != etags[i] {
				t.Errorf("GET %s (%s) while PostgreSQL is down: %d, same body %v, ETag %q (was %q)",
					k.target, k.accept, rec.Code, rec.Body.String() == before[i], rec.Header().Get("ETag"), etags[i])
			}
		}
		if rec := en.do(http.MethodGet, "/simple/acme-util/", "Accept", "text/html", "If-None-Match", etags[0]); rec.Code != http.StatusNotModified {
			t.Errorf("conditional GET of a known page: %d, want 304", rec.Code)
		}
		for _, target := range []string{"/simple/acme-core/", "/files/" + strings.Repeat("0", 64) + "/acme_core-1.0-py3-none-any.whl", "/pypi/acme-util/0.1/json"} {
			rec := en.do(http.MethodGet, target)
			body := strings.TrimSpace(rec.Body.String())
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, "catalog unavailable: PostgreSQL") ||
				strings.Contains(body, "\n") || rec.Header().Get("Retry-After") == "" {
				t.Errorf("GET %s while PostgreSQL is down: %d %q (Retry-After %q), want 503 with the one-line reason",
					target, rec.Code, body, rec.Header().Get("Retry-After"))
			}
		}
	})
	if !indextest.Within(func() bool { return en.do(http.MethodGet, "/simple/acme-core/").Code == http.StatusOK }) {
		t.Error("a new page is not served after PostgreSQL came back")
	}
}
