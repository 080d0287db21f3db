package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pyindex/pyindex/storage"
)

// Admin performs the admin operations that change both the catalog and the
// blob store: deletes and prunes. The catalog change commits first; only
// then are the blobs no row references any more deleted. A failure there
// leaves an orphan blob for fsck, never a row without its file. The HTTP
// admin API, the CLI and scheduled retention all go through it.
type Admin struct {
	cat   *Catalog
	store storage.Store
	log   *slog.Logger
}

// NewAdmin returns an Admin over cat and store.
func NewAdmin(cat *Catalog, store storage.Store, log *slog.Logger) *Admin {
	if cat == nil || store == nil {
		panic("index.NewAdmin: nil catalog or store")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Admin{cat: cat, store: store, log: log}
}

// Catalog returns the catalog the Admin works on.
func (a *Admin) Catalog() *Catalog { return a.cat }

// Deleted is the result of a delete or a prune.
type Deleted struct {
	Removal
	// Freed is the number of bytes actually removed from storage: shared
	// blobs that other rows still reference stay.
	Freed int64
}

// DeleteProject deletes a project, its rows and then its unshared blobs.
// Errors are Catalog.DeleteProject's.
func (a *Admin) DeleteProject(ctx context.Context, project string, who Actor) (Deleted, error) {
	rm, err := a.cat.DeleteProject(ctx, project, who)
	if err != nil {
		return Deleted{}, err
	}
	return Deleted{Removal: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// DeleteRelease deletes a release, its rows and then its unshared blobs.
// Errors are Catalog.DeleteRelease's.
func (a *Admin) DeleteRelease(ctx context.Context, project, version string, who Actor) (Deleted, error) {
	rm, err := a.cat.DeleteRelease(ctx, project, version, who)
	if err != nil {
		return Deleted{}, err
	}
	return Deleted{Removal: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// DeleteFile deletes one file's row and then its blobs unless shared.
// Errors are Catalog.DeleteFile's.
func (a *Admin) DeleteFile(ctx context.Context, project, version, filename string, who Actor) (Deleted, error) {
	rm, err := a.cat.DeleteFile(ctx, project, version, filename, who)
	if err != nil {
		return Deleted{}, err
	}
	return Deleted{Removal: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// PruneResult is a prune's plan and, unless it was a dry run, the bytes
// freed in storage.
type PruneResult struct {
	PrunePlan
	DryRun bool
	Freed  int64
}

// Prune deletes the dev builds rules select, or with dryRun reports what it
// would delete, computed the same way. Errors are Catalog.Prune's.
func (a *Admin) Prune(ctx context.Context, rules PruneRules, dryRun bool, who Actor) (PruneResult, error) {
	if dryRun {
		plan, err := a.cat.PlanPrune(ctx, rules)
		return PruneResult{PrunePlan: plan, DryRun: true}, err
	}
	plan, err := a.cat.Prune(ctx, rules, who)
	if err != nil {
		return PruneResult{}, err
	}
	return PruneResult{PrunePlan: plan, Freed: a.reclaim(ctx, plan.Blobs)}, nil
}

// reclaim deletes the blobs at keys that no file row references, and
// returns the bytes freed. Failures are logged, not returned: the catalog
// change has committed, and an orphan blob is fsck's to reclaim.
func (a *Admin) reclaim(ctx context.Context, keys []string) int64 {
	var freed int64
	for _, key := range keys {
		var size int64
		_, err := a.cat.DeleteBlobIfUnreferenced(ctx, key, func(ctx context.Context) error {
			info, err := a.store.Stat(ctx, key)
			if errors.Is(err, storage.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := a.store.Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotExist) {
				return err
			}
			size = info.Size
			return nil
		})
		if err != nil {
			a.log.Warn("deleting a blob no file uses failed; fsck will reclaim it", "key", key, "err", fmt.Sprint(err))
			continue
		}
		freed += size
	}
	return freed
}
