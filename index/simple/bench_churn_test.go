package simple_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

// BenchmarkServePageWhileUploading measures a cached 20-file page while
// another client commits uploads to other projects: at a steady 20 files/s
// (the pyindex-bench case) and as fast as the catalog takes them. Commits
// to other projects must leave the page (and its serial) warm.
func BenchmarkServePageWhileUploading(b *testing.B) {
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{{"20-per-s", 50 * time.Millisecond}, {"busy", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			en := newEnv(b, simple.Config{})
			for i := range 20 {
				fn, data := indextest.Wheel(b, "acme_util", fmt.Sprintf("1.%d", i), "")
				indextest.Seed(b, en.cat, en.store, fn, data)
			}
			req := httptest.NewRequest(http.MethodGet, "/simple/acme-util/", nil)
			req.Header.Set("Accept", acceptPip)
			req.Header.Set("Accept-Encoding", "gzip")
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					nf := index.NewFile{Project: fmt.Sprintf("other-%d", i%50), Version: fmt.Sprintf("1.%d", i),
						Filename: fmt.Sprintf("other_%d-1.%d.tar.gz", i%50, i), PackageType: "sdist", PythonVersion: "source",
						Size: 1, SHA256: fmt.Sprintf("%064x", i), BlobKey: fmt.Sprintf("k%d", i), UploadedBy: "bench"}
					if _, _, err := en.cat.AddFile(ctx, nf); err != nil && ctx.Err() == nil {
						panic(err)
					}
					if tc.every > 0 {
						select {
						case <-ctx.Done():
						case <-time.After(tc.every):
						}
					}
				}
			}()
			defer func() { cancel(); wg.Wait() }()
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				en.e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
