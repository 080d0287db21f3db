package index_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

func TestStatsAndRecentFiles(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	store := indextest.Store(t)

	s, err := cat.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s != (index.Stats{}) {
		t.Errorf("empty catalog: Stats = %+v, want zeros", s)
	}

	names := []string{"acme_util-0.1.tar.gz", "acme_util-0.1-py3-none-any.whl", "acme_core-1.0-py3-none-any.whl"}
	var size int64
	for _, n := range names {
		size += indextest.SeedDist(t, cat, store, n).Size
	}
	s, err = cat.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := index.Stats{Serial: s.Serial, Projects: 2, Releases: 2, Files: 3, Bytes: size}
	if s != want || s.Serial == 0 {
		t.Errorf("Stats = %+v, want %+v (serial > 0)", s, want)
	}

	recent, err := cat.RecentFiles(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range recent {
		got = append(got, f.Filename)
	}
	if !slices.Equal(got, []string{"acme_core-1.0-py3-none-any.whl", "acme_util-0.1-py3-none-any.whl"}) {
		t.Errorf("RecentFiles(2) = %v, want the two newest, newest first", got)
	}
	if recent[0].Project != "acme-core" || recent[0].Version != "1.0" || recent[0].Size == 0 || recent[0].UploadTime.IsZero() {
		t.Errorf("RecentFiles[0] = %+v", recent[0])
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	store := indextest.Store(t)
	whl := indextest.SeedDist(t, cat, store, "acme_util-0.1-py3-none-any.whl")
	sdist := indextest.SeedDist(t, cat, store, "acme_util-0.1.tar.gz")

	out := filepath.Join(t.TempDir(), "copy.db")
	if err := cat.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := cat.Backup(ctx, out); !errors.Is(err, index.ErrExists) {
		t.Errorf("second Backup to the same path: %v, want ErrExists", err)
	}
	// A later change is not in the copy.
	indextest.SeedDist(t, cat, store, "acme_core-1.0-py3-none-any.whl")

	cp := indextest.OpenSQLite(t, out) // a SQLite file on either engine
	s, err := cp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 2 || s.Projects != 1 {
		t.Errorf("copy holds %+v, want the 2 files of the snapshot", s)
	}
	if _, err := cp.File(ctx, whl.Filename); err != nil {
		t.Errorf("copy lacks %s: %v", whl.Filename, err)
	}

	var keys []string
	if err := cp.BlobKeys(ctx, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{whl.BlobKey, whl.MetadataKey, sdist.BlobKey}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("BlobKeys = %v, want %v", keys, want)
	}
	stop := errors.New("stop")
	if err := cp.BlobKeys(ctx, func(string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("BlobKeys with a failing fn: %v", err)
	}
}
