package mirror_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestWarmSurvivesOtherProjects: uploads to other projects, through this
// catalog or another process's, leave the mirrored page, file and
// metadata served from memory, with no catalog read.
func TestWarmSurvivesOtherProjects(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	cli := indextest.OpenCatalog(t, filepath.Join(e.Dir, "catalog.db"))
	e.warmUp()
	for i := range 4 {
		fn, whl := indextest.Wheel(t, "other_project", fmt.Sprintf("1.%d", i), "")
		if i%2 == 0 {
			indextest.Seed(t, e.Cat, e.Store, fn, whl)
		} else {
			indextest.AwaitChange(t, e.Cat, func() { indextest.Seed(t, cli, e.Store, fn, whl) })
		}
		reads := mirror.CatalogReads(e.Mirror)
		if p := e.Page("acme-util"); len(p.Files) != 5 {
			t.Fatalf("page: %d files", len(p.Files))
		}
		for _, p := range []string{warmFile, warmFile + ".metadata"} {
			if r := e.Get(p, nil); r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d", p, r.Status)
			}
		}
		if _, ok := e.Mirror.WarmPage("acme-util"); !ok {
			t.Errorf("upload %d to another project: the page is no longer warm for the fast lane", i)
		}
		e.noReads(reads, fmt.Sprintf("after upload %d to another project", i))
	}
}
