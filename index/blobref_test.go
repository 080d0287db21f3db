package index_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// RepairBlobRef changes nothing when the row changed since fsck read it,
// or when the blob is back by the time the write lock is held.
func TestRepairBlobRefRechecks(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	store := indextest.Store(t)
	a := indextest.SeedDist(t, cat, store, "acme_util-0.1.tar.gz")
	b := indextest.SeedDist(t, cat, store, "acme_util-0.2.tar.gz")
	refs := map[string]index.BlobRef{}
	if err := cat.ReferencedBlobs(ctx, func(r index.BlobRef) error { refs[r.Filename] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	who := index.Actor{Name: "test"}

	// The row was deleted meanwhile (an admin delete): ErrNotFound.
	if _, err := cat.DeleteFileRows(ctx, "acme-util", "", a.Filename, who); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cat.RepairBlobRef(ctx, refs[a.Filename], "missing", who, nil); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("repair of a deleted row: %v, want ErrNotFound", err)
	}
	// The blob is there again when checked under the lock: no change.
	repaired, orphans, err := cat.RepairBlobRef(ctx, refs[b.Filename], "missing", who,
		func(context.Context) (bool, error) { return false, nil })
	if err != nil || repaired || len(orphans) != 0 {
		t.Errorf("repair of a blob that came back: %v, %v, %v", repaired, orphans, err)
	}
	if _, err := cat.File(ctx, b.Filename); err != nil {
		t.Errorf("row removed although its blob came back: %v", err)
	}
	if ev, _ := cat.AuditEvents(ctx, index.AuditQuery{Action: "fsck-repair"}); len(ev) != 0 {
		t.Errorf("audit entries for repairs that did not happen: %+v", ev)
	}
}
