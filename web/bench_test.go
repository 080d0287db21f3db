package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
)

// The pages must render in under 50 ms at the median with 100,000
// projects in the list and 2,000 releases on a project page (issue 21).
// Each benchmark reports its median as p50-ms beside Go's mean.

func benchFile(project, version string, md dist.Metadata) index.NewFile {
	fn := strings.ReplaceAll(project, "-", "_") + "-" + version + "-py3-none-any.whl"
	sum := sha256.Sum256([]byte(fn))
	h := hex.EncodeToString(sum[:])
	return index.NewFile{Project: project, Version: version, Filename: fn, PackageType: "bdist_wheel", PythonVersion: "py3",
		Size: 4321, SHA256: h, MD5: h[:32], Blake2b256: h, BlobKey: "sha256/" + h, UploadedBy: "ci", Metadata: md}
}

// benchEnv is an env whose catalog holds n projects of one release each
// (and whatever extra adds).
func benchEnv(b *testing.B, n int, extra []index.NewFile) *env {
	b.Helper()
	en := newBenchEnv(b)
	words := []string{"rocket", "garden", "parser", "client", "server", "queue", "cache", "image", "audio", "vector"}
	files := make([]index.NewFile, 0, n+len(extra))
	for i := range n {
		files = append(files, benchFile(fmt.Sprintf("proj-%06d", i), "1.0", dist.Metadata{
			Summary: fmt.Sprintf("A %s library for %s work, number %d", words[i%len(words)], words[(i/10)%len(words)], i)}))
	}
	files = append(files, extra...)
	start := time.Now()
	if err := en.cat.AddFiles(context.Background(), files, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d files in %v", len(files), time.Since(start).Round(time.Millisecond))
	return en
}

// measure runs GET target b.N times and reports the median duration.
// before, when set, runs untimed before each request.
func measure(b *testing.B, en *env, target string, before func(i int)) {
	b.Helper()
	br := en.browser()
	if r := br.get(target); r.code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", target, r.code, r.body)
	}
	var durations []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if before != nil {
			b.StopTimer()
			before(i)
			b.StartTimer()
		}
		start := time.Now()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		durations = append(durations, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", target, rec.Code)
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	p50 := durations[len(durations)/2]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
}

func BenchmarkProjectList100k(b *testing.B) {
	en := benchEnv(b, 100000, nil)
	for _, tc := range []struct{ name, target string }{
		{"first-page", "/projects/"},
		{"page-1000", "/projects/?page=1000"},
		{"by-upload", "/projects/?sort=upload"},
		{"search-name", "/projects/?q=proj-04242"},
		{"search-summary", "/projects/?q=rocket+garden"},
	} {
		b.Run(tc.name, func(b *testing.B) { measure(b, en, tc.target, nil) })
	}
	// After every upload the list is refreshed (only the changed project
	// is read again) before the page renders.
	b.Run("after-upload", func(b *testing.B) {
		measure(b, en, "/projects/?sort=upload", func(i int) {
			f := benchFile("proj-000001", fmt.Sprintf("2.%d", i), dist.Metadata{Summary: "new"})
			if _, _, err := en.cat.AddFile(context.Background(), f); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkProjectPage2000Releases(b *testing.B) {
	readme := strings.Repeat("## Section\n\nSome **bold** text, a [link](https://example.com) and `code`.\n\n", 200)
	var extra []index.NewFile
	for i := range 2000 {
		v := fmt.Sprintf("1.%d", i)
		if i%10 == 9 {
			v += ".dev1"
		}
		extra = append(extra, benchFile("acme-big", v, dist.Metadata{Summary: "The big one", Description: readme,
			DescriptionContentType: "text/markdown", RequiresDist: []string{"proj-000001>=1.0", "numpy"}}))
	}
	en := benchEnv(b, 1000, extra)
	b.Run("project", func(b *testing.B) { measure(b, en, "/project/acme-big/", nil) })
	b.Run("release", func(b *testing.B) { measure(b, en, "/project/acme-big/1.1500/", nil) })
	// A change to the project builds its page model again (every release,
	// the README rendered) before the page renders.
	b.Run("project-after-upload", func(b *testing.B) {
		measure(b, en, "/project/acme-big/", func(i int) {
			if _, err := en.cat.Yank(context.Background(), "acme-big", "1.5", fmt.Sprint(i), index.Actor{Name: "b"}); err != nil {
				b.Fatal(err)
			}
		})
	})
}
