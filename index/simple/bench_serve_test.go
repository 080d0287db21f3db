package simple_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

// BenchmarkServePage measures the hot read paths through the echo stack: a
// cached page (gzip and identity), a revalidation answered 304 from the
// ETag, and the root index, each with the serial lookup of every request.
func BenchmarkServePage(b *testing.B) {
	en := newEnv(b, simple.Config{})
	for i := range 10 {
		fn, data := indextest.Wheel(b, "acme_util", fmt.Sprintf("1.%d", i), "")
		indextest.Seed(b, en.cat, en.store, fn, data)
	}
	probe := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/simple/acme-util/", nil)
	req.Header.Set("Accept", acceptPip)
	req.Header.Set("Accept-Encoding", "gzip")
	en.e.ServeHTTP(probe, req)
	etag := probe.Header().Get("ETag")
	for _, tc := range []struct{ name, path, accept, encoding, inm string }{
		{"project-json-gzip", "/simple/acme-util/", acceptPip, "gzip", ""},
		{"project-json", "/simple/acme-util/", acceptPip, "", ""},
		{"project-html-gzip", "/simple/acme-util/", "text/html", "gzip", ""},
		{"project-304", "/simple/acme-util/", acceptPip, "gzip", etag},
		{"root-json-gzip", "/simple/", acceptPip, "gzip", ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Header.Set("Accept", tc.accept)
			if tc.encoding != "" {
				req.Header.Set("Accept-Encoding", tc.encoding)
			}
			if tc.inm != "" {
				req.Header.Set("If-None-Match", tc.inm)
			}
			want := http.StatusOK
			if tc.inm != "" {
				want = http.StatusNotModified
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				en.e.ServeHTTP(rec, req)
				if rec.Code != want {
					b.Fatalf("status %d, want %d", rec.Code, want)
				}
			}
		})
	}
}
