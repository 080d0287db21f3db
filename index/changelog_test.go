package index_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// changeFile returns a file of project at version, unique by n.
func changeFile(project, version string, n int) index.NewFile {
	return index.NewFile{Project: project, Version: version, Filename: fmt.Sprintf("%s-%s-%d.tar.gz", project, version, n),
		PackageType: "sdist", PythonVersion: "source", Size: 1, SHA256: fmt.Sprintf("%064x", n), BlobKey: fmt.Sprintf("k%d", n),
		UploadedBy: "test"}
}

// propagationCount returns how many changes of other processes cat has
// measured.
func propagationCount(t *testing.T, cat *index.Catalog) uint64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(index.NewChangeCollector(cat))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "pyindex_catalog_change_propagation_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no pyindex_catalog_change_propagation_seconds")
	return 0
}

// TestChangesInvalidatePerProject checks that a change to one project,
// made through this catalog or another on the same database (the CLI,
// another replica), makes the serial cache forget that project alone:
// every other project's serial stays in memory and its change token stays
// the same. Changes the log cannot account for forget everything.
func TestChangesInvalidatePerProject(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	server, cli := indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)
	n := 0
	add := func(cat *index.Catalog, project, version string) {
		t.Helper()
		n++
		if _, _, err := cat.AddFile(ctx, changeFile(project, version, n)); err != nil {
			t.Fatal(err)
		}
	}
	add(cli, "a", "1.0.dev1")
	add(cli, "a", "1.0")
	add(cli, "b", "1.0")
	add(cli, "c", "1.0")
	all := []string{"a", "b", "c", "g", "m"}

	everything := []string{"*"}
	// Let the server catch up with the setup (PostgreSQL: notified).
	indextest.Within(func() bool { s, _ := server.Serial(ctx); c, _ := cli.Serial(ctx); return s == c })

	// step runs change and checks that exactly cold lost their serials
	// and tokens (everything: all of them).
	step := func(name string, cat *index.Catalog, change func(cat *index.Catalog), cold ...string) {
		t.Helper()
		tokens := map[string]int64{}
		for _, p := range all {
			server.ProjectSerial(ctx, p) // ErrNotFound is remembered too
			if !index.SerialCached(server, p) {
				t.Fatalf("%s: %s not cached before the change", name, p)
			}
			tok, err := server.ProjectChangeToken(p)
			if err != nil {
				t.Fatal(err)
			}
			tokens[p] = tok
		}
		change(cat)
		if cat != server {
			// PostgreSQL: wait for the notifications of every row.
			_, last := index.ChangeLogSize(t, cat)
			if !indextest.Within(func() bool { return index.ChangeLogApplied(server) == last }) {
				t.Fatalf("%s: the server has not applied the change log up to %d", name, last)
			}
		}
		for _, p := range all {
			isCold := false
			for _, c := range cold {
				isCold = isCold || c == "*"
				isCold = isCold || c == p
			}
			tok, err := server.ProjectChangeToken(p)
			if err != nil {
				t.Fatal(err)
			}
			if cached := index.SerialCached(server, p); cached == isCold {
				t.Errorf("%s: %s cached = %v, want %v", name, p, cached, !isCold)
			}
			if changed := tok != tokens[p]; changed != isCold {
				t.Errorf("%s: %s token %d -> %d, want changed = %v", name, p, tokens[p], tok, isCold)
			}
			if tok < tokens[p] {
				t.Errorf("%s: %s token went back", name, p)
			}
			// The serial served is what a query returns.
			s, err := server.ProjectSerial(ctx, p)
			pr, perr := server.Project(ctx, p)
			if (err == nil) != (perr == nil) || (err == nil && s != pr.LastSerial) {
				t.Errorf("%s: ProjectSerial(%s) = %d, %v; the catalog has %d, %v", name, p, s, err, pr.LastSerial, perr)
			}
		}
		if s, _ := server.Serial(ctx); true {
			if want, _ := cli.Serial(ctx); s != want && indextest.Engine() == "sqlite" {
				t.Errorf("%s: Serial = %d, want %d", name, s, want)
			}
		}
	}

	before := propagationCount(t, server)
	step("upload by another process", cli, func(c *index.Catalog) { add(c, "a", "1.1") }, "a")
	if after := propagationCount(t, server); after != before+1 {
		t.Errorf("propagation measured %d changes of another process, want 1", after-before)
	}
	before = propagationCount(t, server)
	step("upload by this process", server, func(c *index.Catalog) { add(c, "a", "1.2") }, "a")
	if after := propagationCount(t, server); after != before {
		t.Errorf("propagation measured %d changes of this process, want 0", after-before)
	}
	step("yank", cli, func(c *index.Catalog) {
		if _, err := c.Yank(ctx, "a", "1.1", "broken", index.Actor{}); err != nil {
			t.Fatal(err)
		}
	}, "a")
	step("prune", cli, func(c *index.Catalog) {
		plan, err := c.PruneRows(ctx, index.PruneRules{Projects: []string{"a"}, ReleasedDev: true}, index.Actor{})
		if err != nil || len(plan.Releases) != 1 {
			t.Fatalf("prune: %+v, %v", plan, err)
		}
	}, "a")
	step("generic upload", cli, func(c *index.Catalog) {
		if _, _, err := c.AddGenericFile(ctx, index.NewGenericFile{Name: "g", Version: "1.0", Filename: "g.bin", Size: 1,
			SHA256: fmt.Sprintf("%064x", 999), BlobKey: "g", UploadedBy: "test"}); err != nil {
			t.Fatal(err)
		}
	}, "g")
	step("mirror page", cli, func(c *index.Catalog) {
		if _, _, err := c.PutMirrorPage(ctx, &index.MirrorProject{Name: "m", FetchedAt: time.Now(),
			Files: []index.MirrorFile{{Filename: "m-1.0.tar.gz", URL: "https://example.invalid/m-1.0.tar.gz"}}}); err != nil {
			t.Fatal(err)
		}
	}, "m")
	step("mirror revalidation", cli, func(c *index.Catalog) {
		if err := c.TouchMirrorProject(ctx, "m", time.Now(), `"e"`, ""); err != nil {
			t.Fatal(err)
		}
	}, "m")
	step("mirrored file cached", cli, func(c *index.Catalog) {
		if _, _, err := c.UpdateMirrorFile(ctx, "m", "m-1.0.tar.gz", func(f *index.MirrorFile) {
			f.BlobKey, f.SHA256, f.CachedAt = "mk", fmt.Sprintf("%064x", 5), time.Now()
		}); err != nil {
			t.Fatal(err)
		}
	}, "m")
	// Users and tokens are read from the catalog at every auth decision:
	// caching nothing, they invalidate nothing.
	step("users and tokens", cli, func(c *index.Catalog) {
		if _, err := c.AddUser(ctx, "alice", "secret-password", false, "test"); err != nil {
			t.Fatal(err)
		}
		tok, _, err := c.CreateToken(ctx, index.NewToken{User: "alice", Scope: index.ScopeUpload}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RevokeToken(ctx, tok.ID, "test"); err != nil {
			t.Fatal(err)
		}
	})
	step("delete project", cli, func(c *index.Catalog) {
		if _, err := c.DeleteProjectRows(ctx, "a", index.Actor{}); err != nil {
			t.Fatal(err)
		}
	}, "a")
	if _, err := server.ProjectSerial(ctx, "a"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("deleted project: ProjectSerial = %v, want ErrNotFound", err)
	}
	step("rows missing from the log", cli, func(c *index.Catalog) { index.ChangeLogGap(t, c) }, everything...)
	step("bulk import", cli, func(c *index.Catalog) {
		n++
		if err := c.AddFiles(ctx, []index.NewFile{changeFile("c", "2.0", n)}, nil); err != nil {
			t.Fatal(err)
		}
	}, everything...)
	step("mirror origin switched", cli, func(c *index.Catalog) {
		if _, _, err := c.SetMirrorUpstream(ctx, "https://one.invalid/simple/", false, index.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.SetMirrorUpstream(ctx, "https://two.invalid/simple/", false, index.Actor{}); err != nil {
			t.Fatal(err)
		}
	}, everything...)
}

// TestChangeLogStaysBounded checks that writers delete old rows of the
// change log, and that a reader far behind forgets everything.
func TestChangeLogStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of commits")
	}
	ctx := context.Background()
	cat := indextest.Catalog(t)
	if _, _, err := cat.AddFile(ctx, changeFile("b", "1.0", 0)); err != nil {
		t.Fatal(err)
	}
	var files []index.NewFile
	for i := range 2300 {
		files = append(files, changeFile("a", fmt.Sprintf("1.%d", i), i+1))
	}
	// One write per file, as uploads are (AddFiles would be one change).
	for _, f := range files {
		if _, _, err := cat.AddFile(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	rows, last := index.ChangeLogSize(t, cat)
	if rows > 2048+128 || last != 2301 {
		t.Errorf("change log: %d rows, last id %d; want at most %d rows, last 2301", rows, last, 2048+128)
	}
	if s, err := cat.ProjectSerial(ctx, "a"); err != nil || s != 2301 {
		t.Errorf("ProjectSerial(a) = %d, %v; want 2301", s, err)
	}
}

// TestSerialCacheConcurrentChanges runs lookups of two projects while a
// writer commits to one of them, under -race: every lookup that starts
// after a commit returned sees it, the other project's serial never
// moves, and its lookups are answered from memory.
func TestSerialCacheConcurrentChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	server, cli := indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)
	if _, _, err := server.AddFile(ctx, changeFile("b", "1.0", 0)); err != nil {
		t.Fatal(err)
	}
	bSerial, err := server.ProjectSerial(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	// On SQLite another process's commit is seen by the next lookup; on
	// PostgreSQL only this process's are, the others' within a second.
	writer := cli
	if indextest.Engine() == "postgres" {
		writer = server
	}
	var committed atomic.Int64 // a's serial as last committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Value
	fail := func(format string, args ...any) { failed.CompareAndSwap(nil, fmt.Sprintf(format, args...)) }
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := committed.Load()
				s, err := server.ProjectSerial(ctx, "a")
				if want > 0 && (err != nil || s < want) {
					fail("ProjectSerial(a) = %d, %v after %d was committed", s, err, want)
				}
				if s, err := server.ProjectSerial(ctx, "b"); err != nil || s != bSerial {
					fail("ProjectSerial(b) = %d, %v; want %d", s, err, bSerial)
				}
				if _, err := server.ProjectChangeToken("b"); err != nil {
					fail("ProjectChangeToken(b): %v", err)
				}
			}
		}()
	}
	hits0, misses0 := server.SerialLookups()
	for i := range 40 {
		f, _, err := writer.AddFile(ctx, changeFile("a", fmt.Sprintf("1.%d", i), i+1))
		if err != nil {
			t.Fatal(err)
		}
		p, err := writer.Project(ctx, f.Project)
		if err != nil {
			t.Fatal(err)
		}
		committed.Store(p.LastSerial)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if msg := failed.Load(); msg != nil {
		t.Fatal(msg)
	}
	hits, misses := server.SerialLookups()
	// a misses after each of its 40 commits (a few more when a lookup
	// raced one); b never.
	if misses-misses0 > 40*4+4 || hits-hits0 < misses-misses0 {
		t.Errorf("%d hits and %d misses during 40 commits to a; want b never to miss", hits-hits0, misses-misses0)
	}
}
