package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"

	"github.com/pyindex/pyindex/storage"
)

// Service performs the admin operations that change both the catalog and the
// blob store: deletes and prunes. The catalog change commits first; only
// then are the blobs no row references any more deleted. A failure there
// leaves an orphan blob for fsck, never a row without its file. The HTTP
// admin API, the CLI and scheduled retention all go through it.
type Service struct {
	cat   *index.Catalog
	store storage.Store
	log   *slog.Logger
}

// Deps are what the admin components work on. Each constructor says which
// of them it needs.
type Deps struct {
	Catalog *index.Catalog
	Store   storage.Store
	Auth    *auth.Service
	Log     *slog.Logger // nil: slog.Default()
	// Registerer receives the components' metrics; nil registers none.
	Registerer prometheus.Registerer
}

// New returns a Service over deps.Catalog and deps.Store.
func New(deps Deps) (*Service, error) {
	if deps.Catalog == nil || deps.Store == nil {
		return nil, errors.New("admin.New: nil catalog or store")
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{cat: deps.Catalog, store: deps.Store, log: log}, nil
}

// Catalog returns the catalog the Service works on.
func (a *Service) Catalog() *index.Catalog { return a.cat }

// Deleted is the result of a delete or a prune.
type Deleted struct {
	index.Removal
	// Freed is the number of bytes actually removed from storage: shared
	// blobs that other rows still reference stay.
	Freed int64
}

// DeleteProject deletes a project, its rows and then its unshared blobs.
// Errors are Catalog.DeleteProjectRows'.
func (a *Service) DeleteProject(ctx context.Context, project string, who index.Actor) (Deleted, error) {
	rm, err := a.cat.DeleteProjectRows(ctx, project, who)
	if err != nil {
		return Deleted{}, err
	}
	return Deleted{Removal: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// DeleteRelease deletes a release, its rows and then its unshared blobs.
// Errors are Catalog.DeleteReleaseRows'.
func (a *Service) DeleteRelease(ctx context.Context, project, version string, who index.Actor) (Deleted, error) {
	rm, err := a.cat.DeleteReleaseRows(ctx, project, version, who)
	if err != nil {
		return Deleted{}, err
	}
	return Deleted{Removal: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// DeleteFile deletes one file's row and then its blobs unless shared.
// Errors are Catalog.DeleteFileRows'.
func (a *Service) DeleteFile(ctx context.Context, project, version, filename string, who index.Actor) (Deleted, error) {
	rm, err := a.cat.DeleteFileRows(ctx, project, version, filename, who)
	if err != nil {
		return Deleted{}, err
	}
	return Deleted{Removal: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// PruneResult is a prune's plan and, unless it was a dry run, the bytes
// freed in storage.
type PruneResult struct {
	index.PrunePlan
	DryRun bool
	Freed  int64
}

// Prune deletes the dev builds rules select, or with dryRun reports what it
// would delete, computed the same way. Errors are Catalog.PruneRows'.
func (a *Service) Prune(ctx context.Context, rules index.PruneRules, dryRun bool, who index.Actor) (PruneResult, error) {
	if dryRun {
		plan, err := a.cat.PlanPrune(ctx, rules)
		return PruneResult{PrunePlan: plan, DryRun: true}, err
	}
	plan, err := a.cat.PruneRows(ctx, rules, who)
	if err != nil {
		return PruneResult{}, err
	}
	return PruneResult{PrunePlan: plan, Freed: a.reclaim(ctx, plan.Blobs)}, nil
}

// reclaim deletes the blobs at keys that no file row references, and
// returns the bytes freed. Failures are logged, not returned: the catalog
// change has committed, and an orphan blob is fsck's to reclaim.
func (a *Service) reclaim(ctx context.Context, keys []string) int64 {
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
