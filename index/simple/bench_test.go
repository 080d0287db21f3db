package simple_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

func BenchmarkNegotiate(b *testing.B) {
	for _, tc := range []struct{ name, accept string }{
		{"pip", acceptPip}, {"uv", acceptUV}, {"devpi", acceptDevpi}, {"none", ""}, {"html", "text/html"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				simple.Negotiate(tc.accept, "")
			}
		})
	}
}

// bigPage is a project page with 2,000 versions of two files each.
func bigPage() *index.Page {
	p := &index.Page{Name: "acme-big", Serial: 123456}
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sum := strings.Repeat("ab", 32)
	for i := range 2000 {
		v := fmt.Sprintf("1.%d", i)
		p.Versions = append(p.Versions, v)
		for _, fn := range []string{"acme_big-" + v + "-py3-none-any.whl", "acme_big-" + v + ".tar.gz"} {
			f := index.PageFile{
				Filename: fn, URL: "/files/" + sum + "/" + fn, Hashes: map[string]string{"sha256": sum},
				RequiresPython: ">=3.8", Size: 12345, UploadTime: t,
			}
			if strings.HasSuffix(fn, ".whl") {
				f.CoreMetadata = sum
			}
			p.Files = append(p.Files, f)
		}
	}
	return p
}

func BenchmarkRenderProjectJSON(b *testing.B) {
	p := bigPage()
	b.ReportAllocs()
	for b.Loop() {
		simple.RenderProjectJSON(p)
	}
}

func BenchmarkRenderProjectHTML(b *testing.B) {
	p := bigPage()
	b.ReportAllocs()
	for b.Loop() {
		simple.RenderProjectHTML(p)
	}
}

// BenchmarkServeProjectPageCached measures a page-cache hit through the
// whole echo stack: one serial lookup in SQLite plus a copy.
func BenchmarkServeProjectPageCached(b *testing.B) {
	en := newEnv(b, simple.Config{})
	for i := range 50 {
		fn, data := indextest.Wheel(b, "acme_util", fmt.Sprintf("1.%d", i), "")
		indextest.Seed(b, en.cat, en.store, fn, data)
	}
	for _, tc := range []struct{ name, accept string }{{"html", "text/html"}, {"pip", acceptPip}} {
		accept := tc.accept
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/simple/acme-util/", nil)
			req.Header.Set("Accept", accept)
			req.Header.Set("Accept-Encoding", "gzip")
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
