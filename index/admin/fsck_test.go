package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

// TestFsckFindsAndRepairs checks the report and the repair of an orphan
// and a missing blob directly, without the CLI (cmd/pyindex's TestFsck
// covers every kind of problem through it, on both backends).
func TestFsckFindsAndRepairs(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	store := indextest.Store(t)
	gone := indextest.SeedDist(t, cat, store, "acme_util-0.1.tar.gz")
	indextest.SeedDist(t, cat, store, "acme_util-0.2.tar.gz")
	orphan := []byte("orphan left by a crash")
	orphanKey := storage.Key(indextest.Sum(orphan).SHA256)
	if err := storage.PutBytes(ctx, store, orphanKey, orphan); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, gone.BlobKey); err != nil {
		t.Fatal(err)
	}

	// Within the grace period the orphan is only counted.
	opts := admin.FsckOptions{Grace: time.Hour, Jobs: 2, Actor: index.Actor{Name: "test"}}
	rep, err := admin.Fsck(ctx, cat, store, opts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Problem != admin.ProblemMissing || rep.Problems[0].Key != gone.BlobKey ||
		rep.YoungUnreferenced != 1 || rep.References != 2 || rep.Blobs != 2 {
		t.Fatalf("report %+v", rep)
	}

	// An hour later it is an orphan; a repair deletes it and the row
	// whose blob is missing.
	opts.Repair, opts.VerifyHashes = true, true
	rep, err = admin.Fsck(ctx, cat, store, opts, time.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 2 || rep.Unrepaired() != 0 || rep.Verified != 1 {
		t.Fatalf("repair report %+v", rep)
	}
	if _, err := store.Stat(ctx, orphanKey); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("orphan still stored: %v", err)
	}
	if _, err := cat.File(ctx, gone.Filename); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("row of the missing blob: %v, want removed", err)
	}
	rep, err = admin.Fsck(ctx, cat, store, opts, time.Now().Add(2*time.Hour))
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("after repair: %+v, %v", rep, err)
	}
}
