package mirror_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	"github.com/pyindex/pyindex/storage"
)

const (
	warmWheel = "acme_util-0.2-py3-none-any.whl"
	warmFile  = "/mirror/files/acme-util/" + warmWheel
)

// warmUp requests the page, the file and its metadata until all are served
// from memory (each fetch changes the catalog, so the round after the last
// one still reads it).
func (e *env) warmUp() {
	e.T.Helper()
	for range 2 {
		e.Page("acme-util")
		for _, p := range []string{warmFile, warmFile + ".metadata"} {
			if r := e.Get(p, nil); r.Status != http.StatusOK {
				e.T.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
			}
		}
	}
}

// noReads fails the test when the mirror read the catalog since reads.
func (e *env) noReads(reads int64, what string) {
	e.T.Helper()
	if n := mirror.CatalogReads(e.Mirror) - reads; n != 0 {
		e.T.Errorf("%s: %d catalog reads, want none", what, n)
	}
}

// TestWarmPathsReadNothing: while nothing changes, a page within its TTL, a
// cached file and its metadata are served with no catalog read, no upstream
// request and no rebuilding of the page.
func TestWarmPathsReadNothing(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	e.warmUp()
	want := distBytes(t, warmWheel)
	reads, total, hits := mirror.CatalogReads(e.Mirror), up.Total(), lookups(e, "page", "hit")
	for range 5 {
		if p := e.Page("acme-util"); len(p.Files) != 5 {
			t.Fatalf("page: %d files", len(p.Files))
		}
		if r := e.Get("/simple/acme-util/", map[string]string{"Accept": "text/html"}); r.Status != 200 {
			t.Fatalf("HTML page: %d", r.Status)
		}
		if r := e.Get(warmFile, nil); r.Status != 200 || sum256(r.Body) != sum256(want) {
			t.Fatalf("file: %d, %d bytes", r.Status, len(r.Body))
		}
		if r := e.Do(http.MethodHead, warmFile, nil); r.Status != 200 || r.Header.Get("Content-Length") != "1029" {
			t.Fatalf("HEAD file: %d, length %s", r.Status, r.Header.Get("Content-Length"))
		}
		if r := e.Get(warmFile+".metadata", nil); r.Status != 200 {
			t.Fatalf("metadata: %d", r.Status)
		}
	}
	e.noReads(reads, "warm requests")
	if n := up.Total() - total; n != 0 {
		t.Errorf("warm requests made %d upstream requests", n)
	}
	if n := lookups(e, "page", "hit") - hits; n != 10 {
		t.Errorf("page hits = %v, want 10", n)
	}
	ctx := context.Background()
	p1, err := e.Mirror.Page(ctx, "acme-util")
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := e.Mirror.Page(ctx, "acme-util"); p2 != p1 {
		t.Errorf("the page was built again")
	}
	e.noReads(reads, "Page")
}

// TestWarmSeesOtherProcess: a change committed through a second catalog on
// the same file, as the CLI or another replica would make it, is seen by
// the very next request (on PostgreSQL: the next once it is announced).
func TestWarmSeesOtherProcess(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	cli := indextest.OpenCatalog(t, filepath.Join(e.Dir, "catalog.db"))
	ctx := context.Background()
	e.warmUp()

	// The page's last answer from the upstream is made old: the next
	// request revalidates it.
	indextest.AwaitChange(t, e.Cat, func() {
		if err := cli.TouchMirrorProject(ctx, "acme-util", e.Clock.Now().Add(-time.Hour), "", ""); err != nil {
			t.Fatal(err)
		}
	})
	e.Page("acme-util")
	if n := up.Count("/simple/acme-util/"); n != 2 {
		t.Errorf("after the page aged elsewhere: %d upstream page requests, want 2", n)
	}

	// Another process drops the project (and leaves the blobs): its file
	// is no longer served, and the page is fetched again.
	e.warmUp()
	indextest.AwaitChange(t, e.Cat, func() {
		if _, err := cli.DeleteMirrorProject(ctx, "acme-util"); err != nil {
			t.Fatal(err)
		}
	})
	if r := e.Get(warmFile, nil); r.Status != http.StatusNotFound {
		t.Errorf("file of a project dropped elsewhere: %d, want 404", r.Status)
	}
	e.Page("acme-util")
	if n := up.Count("/simple/acme-util/"); n != 3 {
		t.Errorf("after the drop: %d upstream page requests, want 3", n)
	}

	// Another process forgets the cached copy (as a prune would, blob
	// deleted after the commit): the next request fetches it again.
	e.warmUp()
	fetched := up.Count("/packages/" + warmWheel)
	var f index.MirrorFile
	indextest.AwaitChange(t, e.Cat, func() {
		var err error
		f, _, err = cli.UpdateMirrorFile(ctx, "acme-util", warmWheel, func(f *index.MirrorFile) { f.BlobKey = "" })
		if err != nil {
			t.Fatal(err)
		}
	})
	if err := e.Store.Delete(ctx, storage.Key(sum256(distBytes(t, warmWheel)))); err != nil {
		t.Fatal(err)
	}
	reads := mirror.CatalogReads(e.Mirror)
	if r := e.Get(warmFile, nil); r.Status != 200 || sum256(r.Body) != f.SHA256 {
		t.Errorf("file uncached elsewhere: %d", r.Status)
	}
	if mirror.CatalogReads(e.Mirror) == reads || up.Count("/packages/"+warmWheel) != fetched+1 {
		t.Errorf("the change was not seen: catalog reads %d -> %d, upstream file requests %d -> %d",
			reads, mirror.CatalogReads(e.Mirror), fetched, up.Count("/packages/"+warmWheel))
	}

	// A hosted project of the same name appears: it wins at once.
	e.warmUp()
	fn, whl := indextest.Wheel(t, "acme_util", "9.0", "")
	indextest.AwaitChange(t, e.Cat, func() { indextest.Seed(t, cli, e.Store, fn, whl) })
	if r := e.Get(warmFile, nil); r.Status != http.StatusNotFound {
		t.Errorf("upstream file of a name now hosted: %d, want 404", r.Status)
	}
	if p := e.Page("acme-util"); len(p.Files) != 1 || p.Files[0].Filename != fn {
		t.Errorf("page of a name now hosted: %+v", p.Files)
	}
}

// TestWarmPageTTL: a page served from memory is still revalidated once its
// TTL has passed, and served from memory again afterwards.
func TestWarmPageTTL(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	e.warmUp()
	for range 3 {
		e.Page("acme-util")
	}
	if n := up.Count("/simple/acme-util/"); n != 1 {
		t.Fatalf("within the TTL: %d upstream page requests", n)
	}
	e.Clock.Add(e.Config.TTL - time.Second)
	e.Page("acme-util")
	if n := up.Count("/simple/acme-util/"); n != 1 {
		t.Errorf("just before the TTL: %d upstream page requests, want 1", n)
	}
	e.Clock.Add(time.Second)
	e.Page("acme-util") // 304: the catalog records the answer
	if n := up.Count("/simple/acme-util/"); n != 2 {
		t.Errorf("at the TTL: %d upstream page requests, want 2", n)
	}
	reads := mirror.CatalogReads(e.Mirror)
	for range 3 {
		e.Page("acme-util")
	}
	e.noReads(reads, "after the revalidation")
	if n := up.Count("/simple/acme-util/"); n != 2 {
		t.Errorf("after the revalidation: %d upstream page requests, want 2", n)
	}
}

// TestWarmCooldown: with nothing changing in the catalog (and a TTL long
// enough that the page is never revalidated), a file leaves the cooldown
// exactly when it is min_age old, on the page and by URL; the page is
// rebuilt from memory, under a new serial for the index's cache.
func TestWarmCooldown(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", func(c *mirror.Config) {
		c.MinAge = 72 * time.Hour
		c.TTL = 1000 * time.Hour
	})
	const rc = "/mirror/files/acme-util/acme_util-1.0rc1-py3-none-any.whl"
	e.warmUp()
	// 1.0rc1 was uploaded 2024-06-01 12:00, the clock says 2024-06-02 12:00:
	// it leaves the cooldown 48 hours from now.
	if r := e.Get(rc, nil); r.Status != http.StatusNotFound {
		t.Errorf("cooling file by URL: %d, want 404", r.Status)
	}
	e.Clock.Add(48*time.Hour - time.Microsecond)
	reads := mirror.CatalogReads(e.Mirror)
	cooled := e.Page("acme-util")
	if len(cooled.Files) != 4 {
		t.Errorf("a microsecond before: %d files, want 4", len(cooled.Files))
	}
	if r := e.Get(rc, nil); r.Status != http.StatusNotFound {
		t.Errorf("a microsecond before, by URL: %d, want 404", r.Status)
	}
	e.Clock.Add(time.Microsecond)
	p := e.Page("acme-util")
	if len(p.Files) != 5 || p.Versions[len(p.Versions)-1] != "1.0rc1" {
		t.Errorf("at min_age: %d files, versions %v; want 5 and 1.0rc1", len(p.Files), p.Versions)
	}
	if p.Meta.LastSerial == cooled.Meta.LastSerial {
		t.Errorf("the page kept its serial (%d): the index would serve its old rendering", p.Meta.LastSerial)
	}
	e.noReads(reads, "the cooldown's end")
	if r := e.Get(rc, nil); r.Status != 200 {
		t.Errorf("at min_age, by URL: %d", r.Status)
	}
	if n := up.Count("/simple/acme-util/"); n != 1 {
		t.Errorf("%d upstream page requests, want 1", n)
	}
}

// TestCachedFileMissingFromStorage: a blob removed behind the catalog's
// back is fetched again from the upstream, even on the warm path, which no
// longer asks the store first.
func TestCachedFileMissingFromStorage(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	e.warmUp()
	want := distBytes(t, warmWheel)
	if err := e.Store.Delete(context.Background(), storage.Key(sum256(want))); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := e.Get(warmFile, nil); r.Status != 200 || sum256(r.Body) != sum256(want) {
			t.Errorf("file missing from storage: %d, %d bytes", r.Status, len(r.Body))
		}
	}
	if n := up.Count("/packages/" + warmWheel); n != 2 {
		t.Errorf("upstream file requests = %d, want 2", n)
	}
}
