package simple_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

// TestConcurrentMissesRenderOnce: after a change, the requests that miss
// the page cache together share one rendering, and all get the new page.
func TestConcurrentMissesRenderOnce(t *testing.T) {
	en := newEnv(t, simple.Config{})
	for i := range 3 {
		fn, data := indextest.Wheel(t, "acme_util", fmt.Sprintf("1.%d", i), "")
		indextest.Seed(t, en.cat, en.store, fn, data)
	}
	for _, path := range []string{"/simple/acme-util/", "/simple/"} {
		before := simple.Renders()
		var wg sync.WaitGroup
		bodies := make([]string, 32)
		for i := range bodies {
			wg.Go(func() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Accept", acceptPip)
				rec := httptest.NewRecorder()
				en.e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Errorf("%s: status %d", path, rec.Code)
				}
				bodies[i] = rec.Body.String()
			})
		}
		wg.Wait()
		if n := simple.Renders() - before; n != 1 {
			t.Errorf("%s: %d renderings for 32 concurrent misses, want 1", path, n)
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Fatalf("%s: different bodies", path)
			}
		}
	}
}
