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
// Each benchmark reports its median as p50-ms beside Go's mean. "warm" is
// a page whose project did not change since the last request; "cold" is
// the first request after a change (a CI upload of a dev build, a yank),
// the common case on an index a CI fleet uploads to every few minutes.

// benchFiles are a release's wheel and sdist, as a real release has.
func benchFiles(project, version string, md dist.Metadata) []index.NewFile {
	stem := strings.ReplaceAll(project, "-", "_") + "-" + version
	md.Name, md.Version = project, version
	var out []index.NewFile
	for _, f := range []struct{ fn, typ, py string }{
		{stem + "-py3-none-any.whl", "bdist_wheel", "py3"},
		{stem + ".tar.gz", "sdist", "source"},
	} {
		sum := sha256.Sum256([]byte(f.fn))
		h := hex.EncodeToString(sum[:])
		out = append(out, index.NewFile{Project: project, Version: version, Filename: f.fn, PackageType: f.typ,
			PythonVersion: f.py, Size: 4321, SHA256: h, MD5: h[:32], Blake2b256: h, BlobKey: "sha256/" + h,
			UploadedBy: "ci", Metadata: md, MetadataKey: metadataKey(f.typ, h)})
	}
	return out
}

// metadataKey gives wheels their PEP 658 metadata, as uploads do.
func metadataKey(typ, h string) string {
	if typ == "bdist_wheel" {
		return "sha256/" + h + ".metadata"
	}
	return ""
}

// benchEnv is an env whose catalog holds n projects of one release each
// (a wheel and an sdist) and whatever extra adds.
func benchEnv(b *testing.B, n int, extra []index.NewFile) *env {
	b.Helper()
	en := newBenchEnv(b)
	words := []string{"rocket", "garden", "parser", "client", "server", "queue", "cache", "image", "audio", "vector"}
	files := make([]index.NewFile, 0, 2*n+len(extra))
	for i := range n {
		files = append(files, benchFiles(fmt.Sprintf("proj-%06d", i), "1.0", dist.Metadata{
			Summary: fmt.Sprintf("A %s library for %s work, number %d", words[i%len(words)], words[(i/10)%len(words)], i)})...)
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

// upload records a new dev build of project (a wheel and an sdist), as
// a CI job does.
func upload(b *testing.B, en *env, project string, i int) {
	for _, f := range benchFiles(project, fmt.Sprintf("9.0.dev%d", i), dist.Metadata{Summary: "new"}) {
		if _, _, err := en.cat.AddFile(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProjectList100k(b *testing.B) {
	en := benchEnv(b, 100000, nil)
	for _, tc := range []struct{ name, target string }{
		{"warm", "/projects/"},
		{"warm-page-1000", "/projects/?page=1000"},
		{"warm-by-upload", "/projects/?sort=upload"},
		{"warm-search-name", "/projects/?q=proj-04242"},
		{"warm-search-summary", "/projects/?q=rocket+garden"},
	} {
		b.Run(tc.name, func(b *testing.B) { measure(b, en, tc.target, nil) })
	}
	// After every upload the list is refreshed (only the changed project
	// is read again) before the page renders.
	b.Run("cold", func(b *testing.B) {
		measure(b, en, "/projects/", func(i int) { upload(b, en, "proj-000001", i) })
	})
	b.Run("cold-by-upload", func(b *testing.B) {
		measure(b, en, "/projects/?sort=upload", func(i int) { upload(b, en, "proj-000002", i) })
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
		extra = append(extra, benchFiles("acme-big", v, dist.Metadata{Summary: "The big one", Description: readme,
			DescriptionContentType: "text/markdown", RequiresDist: []string{"proj-000001>=1.0", "numpy"}})...)
	}
	en := benchEnv(b, 1000, extra)
	b.Run("warm", func(b *testing.B) { measure(b, en, "/project/acme-big/", nil) })
	b.Run("warm-release", func(b *testing.B) { measure(b, en, "/project/acme-big/1.1500/", nil) })
	// A change to the project: the first request after it builds the page
	// again.
	b.Run("cold-upload", func(b *testing.B) {
		measure(b, en, "/project/acme-big/", func(i int) { upload(b, en, "acme-big", i) })
	})
	// A new latest release: the page shows its metadata, and its README
	// (the same as the last one's, as is usual; then a new one, rendered).
	newLatest := func(b *testing.B, major int, readme func(i int) string) {
		measure(b, en, "/project/acme-big/", func(i int) {
			for _, f := range benchFiles("acme-big", fmt.Sprintf("%d.%d", major, i), dist.Metadata{Summary: "The big one", Description: readme(i),
				DescriptionContentType: "text/markdown", RequiresDist: []string{"proj-000001>=1.0", "numpy"}}) {
				if _, _, err := en.cat.AddFile(context.Background(), f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("cold-new-latest", func(b *testing.B) { newLatest(b, 3, func(int) string { return readme }) })
	b.Run("cold-new-readme", func(b *testing.B) {
		newLatest(b, 4, func(i int) string { return fmt.Sprintf("# Release %d\n\n%s", i, readme) })
	})
	b.Run("cold-yank", func(b *testing.B) {
		measure(b, en, "/project/acme-big/", func(i int) {
			if _, err := en.cat.Yank(context.Background(), "acme-big", "1.5", fmt.Sprint(i), index.Actor{Name: "b"}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("cold-release", func(b *testing.B) {
		measure(b, en, "/project/acme-big/1.1500/", func(i int) {
			if _, err := en.cat.Yank(context.Background(), "acme-big", "1.5", fmt.Sprint(i), index.Actor{Name: "b"}); err != nil {
				b.Fatal(err)
			}
		})
	})
}
