package index_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestSerialCacheSeesOtherProcesses checks that remembered serials never
// hide a change: made through the same catalog, or through a second one on
// the same file (as the CLI or another replica would). On SQLite the next
// lookup sees it; on PostgreSQL, where it arrives as a notification, one
// within a second does (this process's own changes: the next lookup).
func TestSerialCacheSeesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	server, cli := indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)
	files := bulkFiles()
	add := func(cat *index.Catalog, nf index.NewFile) {
		t.Helper()
		if _, _, err := cat.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	want := func(name string, serial int64) {
		t.Helper()
		if indextest.Engine() == "postgres" {
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if s, err := server.ProjectSerial(ctx, name); (serial < 0 && err != nil) || s == serial {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		for range 3 { // a miss, then hits
			s, err := server.ProjectSerial(ctx, name)
			if serial < 0 {
				if !errors.Is(err, index.ErrNotFound) {
					t.Fatalf("ProjectSerial(%s) = %d, %v; want ErrNotFound", name, s, err)
				}
				continue
			}
			if err != nil || s != serial {
				t.Fatalf("ProjectSerial(%s) = %d, %v; want %d", name, s, err, serial)
			}
		}
	}
	wantGlobal := func(serial int64) {
		t.Helper()
		if indextest.Engine() == "postgres" {
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if s, _ := server.Serial(ctx); s == serial {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		for range 2 {
			if s, err := server.Serial(ctx); err != nil || s != serial {
				t.Fatalf("Serial = %d, %v; want %d", s, err, serial)
			}
		}
	}
	want("acme-util", -1)
	want("", -1)
	wantGlobal(0)

	add(cli, files[0]) // another process creates the project
	want("acme-util", 1)
	wantGlobal(1)

	add(server, files[1]) // this process changes it
	want("acme-util", 2)
	wantGlobal(2)

	add(cli, files[16]) // another project: the first keeps its serial
	want("acme-util", 2)
	want("other", 3)
	wantGlobal(3)

	if err := cli.AddFiles(ctx, files[2:4], nil); err != nil {
		t.Fatal(err)
	}
	want("acme-util", 5)
	wantGlobal(5)

	// Deletions and yanks go through the same commit path.
	if _, err := cli.Yank(ctx, "acme-util", files[0].Version, "broken", index.Actor{}); err != nil {
		t.Fatal(err)
	}
	want("acme-util", 6)
	wantGlobal(6)
}

// TestSerialCacheChecksOnlyAfterCommits checks that the cache reads the WAL
// index's header and runs PRAGMA data_version only after a commit,
// by this process or another.
func TestSerialCacheChecksOnlyAfterCommits(t *testing.T) {
	indextest.SQLiteOnly(t, "the WAL-index watch (PostgreSQL: TestSerialCacheNotified)")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	server, cli := indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)
	files := bulkFiles()
	if _, _, err := cli.AddFile(ctx, files[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := server.ProjectSerial(ctx, "acme-util"); err != nil {
		t.Fatal(err)
	}
	before, watching := index.SerialChecks(server)
	if !watching {
		t.Fatal("the serial cache does not watch the WAL-index header")
	}
	for range 100 {
		if s, err := server.ProjectSerial(ctx, "acme-util"); err != nil || s != 1 {
			t.Fatalf("ProjectSerial = %d, %v; want 1", s, err)
		}
	}
	if after, _ := index.SerialChecks(server); after != before {
		t.Errorf("%d pragma checks for 100 lookups with no commit; want 0", after-before)
	}
	if _, _, err := cli.AddFile(ctx, files[1]); err != nil {
		t.Fatal(err)
	}
	if s, err := server.ProjectSerial(ctx, "acme-util"); err != nil || s != 2 {
		t.Fatalf("after a commit by another catalog: ProjectSerial = %d, %v; want 2", s, err)
	}
	if after, _ := index.SerialChecks(server); after != before+1 {
		t.Errorf("%d pragma checks after one commit; want 1", after-before)
	}
}

func BenchmarkProjectSerial(b *testing.B) {
	for _, cached := range []bool{true, false} {
		name := "cached"
		if !cached {
			name = "query"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			cat := indextest.Catalog(b)
			if !cached {
				index.DisableSerialCache(cat)
			}
			if err := cat.AddFiles(ctx, bulkFiles(), nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := cat.ProjectSerial(ctx, "acme-util"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
