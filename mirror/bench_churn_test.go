package mirror_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pyindex/pyindex/index"
)

// BenchmarkWarmMirrorPageWhileUploading serves a warm mirrored page as
// the fast lane does (WarmPage, from memory alone, and through echo when
// that declines) while another client uploads to hosted projects as fast
// as the catalog takes them. It reports the share the lane answered:
// commits to other projects must leave the page warm.
func BenchmarkWarmMirrorPageWhileUploading(b *testing.B) {
	up, _ := benchProject(b)
	e := newEnv(b, up, "", nil)
	req := httptest.NewRequest(http.MethodGet, "/simple/warm/", nil)
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
	req.Header.Set("Accept-Encoding", "gzip")
	serve(b, e, req, http.StatusOK) // fetched from the upstream
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var commits atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			nf := index.NewFile{Project: fmt.Sprintf("hosted-%d", i%50), Version: fmt.Sprintf("1.%d", i),
				Filename: fmt.Sprintf("hosted_%d-1.%d.tar.gz", i%50, i), PackageType: "sdist", PythonVersion: "source",
				Size: 1, SHA256: fmt.Sprintf("%064x", i), BlobKey: fmt.Sprintf("k%d", i), UploadedBy: "bench"}
			if _, _, err := e.Cat.AddFile(ctx, nf); err != nil && ctx.Err() == nil {
				panic(err)
			}
			commits.Add(1)
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	lane := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := e.Mirror.WarmPage("warm"); ok {
			lane++
			continue
		}
		serve(b, e, req, http.StatusOK)
	}
	b.ReportMetric(100*float64(lane)/float64(b.N), "lane-%")
	b.ReportMetric(float64(commits.Load())/b.Elapsed().Seconds(), "commits/s")
}
