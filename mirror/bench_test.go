package mirror_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// benchProject is a generated upstream project of 20 wheels, like the
// mirror-page-gz case of pyindex-bench. The last one was uploaded an hour
// before the test clock's start, so a min_age hides it.
func benchProject(b *testing.B) (*mirrortest.Upstream, []mirrortest.Dist) {
	up := mirrortest.Start(b, false)
	var dists []mirrortest.Dist
	for i := range 20 {
		dists = append(dists, mirrortest.Wheel(mirrortest.Meta{Name: "warm", Version: fmt.Sprintf("1.%d", i)}, "py3-none-any"))
	}
	dists[19].UploadTime = time.Date(2024, 6, 2, 11, 0, 0, 0, time.UTC)
	up.AddProject("warm", dists...)
	return up, dists
}

// serve runs one request through the echo stack (no network) and checks
// its status.
func serve(b *testing.B, e *env, req *http.Request, want int) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.Echo.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s: status %d, want %d: %s", req.URL.Path, rec.Code, want, rec.Body)
	}
	return rec
}

// BenchmarkWarmMirrorPage measures a cached upstream page of 20 files
// within its TTL, requested by pip (JSON, gzip), through the read side's
// echo handlers: what every pip install asks the mirror first.
func BenchmarkWarmMirrorPage(b *testing.B) {
	for _, tc := range []struct {
		name   string
		minAge bool
	}{{"json-gzip", false}, {"json-gzip-min-age", true}} {
		b.Run(tc.name, func(b *testing.B) {
			up, _ := benchProject(b)
			e := newEnv(b, up, "", func(c *mirror.Config) {
				if tc.minAge {
					c.MinAge = 24 * time.Hour
				}
			})
			req := httptest.NewRequest(http.MethodGet, "/simple/warm/", nil)
			req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
			req.Header.Set("Accept-Encoding", "gzip")
			serve(b, e, req, http.StatusOK) // fetched from the upstream
			b.ReportAllocs()
			for b.Loop() {
				serve(b, e, req, http.StatusOK)
			}
		})
	}
}

// BenchmarkWarmMirrorFile measures a cached file of a cached page (and its
// PEP 658 metadata file) through the echo handlers, up to the blob server.
// The files are small so that the per-request work, not the copy of the
// bytes, is what is measured.
func BenchmarkWarmMirrorFile(b *testing.B) {
	up, dists := benchProject(b)
	e := newEnv(b, up, "", nil)
	serve(b, e, httptest.NewRequest(http.MethodGet, "/simple/warm/", nil), http.StatusOK)
	for _, tc := range []struct{ name, path string }{
		{"file", "/mirror/files/warm/" + dists[7].Filename},
		{"metadata", "/mirror/files/warm/" + dists[7].Filename + ".metadata"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			serve(b, e, req, http.StatusOK) // fetched from the upstream
			b.ReportAllocs()
			for b.Loop() {
				serve(b, e, req, http.StatusOK)
			}
		})
	}
}
