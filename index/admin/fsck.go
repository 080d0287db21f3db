package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// The problems Fsck reports (FsckProblem.Problem).
const (
	ProblemMissing = "missing" // a row references a blob that is not stored
	ProblemOrphan  = "orphan"  // a stored blob no row references
	ProblemCorrupt = "corrupt" // a stored blob whose size or sha256 differs from its row's
)

// FsckOptions say what Fsck checks and whether it repairs.
type FsckOptions struct {
	// VerifyHashes reads every referenced blob and checks its sha256.
	VerifyHashes bool
	// Repair deletes orphans and removes or marks the rows whose blob is
	// missing or corrupt.
	Repair bool
	// Grace is how young an unreferenced blob may be and still be taken
	// for an upload in flight rather than an orphan.
	Grace time.Duration
	// Jobs is how many blobs are hashed in parallel with VerifyHashes
	// (at least one).
	Jobs int
	// Actor is recorded in the audit log for every repair.
	Actor index.Actor
}

// FsckProblem is one finding, with the catalog rows it concerns.
type FsckProblem struct {
	Problem string          `json:"problem"`
	Key     string          `json:"key"`
	Detail  string          `json:"detail,omitempty"`
	Size    int64           `json:"size,omitempty"`     // orphans: the blob's size
	ModTime *time.Time      `json:"modified,omitempty"` // orphans: when it was written
	Refs    []index.BlobRef `json:"refs,omitempty"`
	// Repaired is set by a repair once the problem is gone; Repair says
	// what was done, or why it was not.
	Repaired bool   `json:"repaired"`
	Repair   string `json:"repair,omitempty"`
}

// FsckReport is the result of a check.
type FsckReport struct {
	// Backend names the store checked; Fsck leaves it for the caller,
	// which knows the configuration.
	Backend    string `json:"backend"`
	Blobs      int    `json:"blobs"`      // stored blobs listed
	Bytes      int64  `json:"bytes"`      // their total size
	References int    `json:"references"` // references from catalog rows
	Verified   int    `json:"verified"`   // blobs whose sha256 was computed
	// YoungUnreferenced counts unreferenced blobs written less than the
	// grace period ago: most likely uploads in flight, not reported.
	YoungUnreferenced int           `json:"young_unreferenced"`
	Grace             string        `json:"grace"`
	Problems          []FsckProblem `json:"problems"`
}

// Unrepaired counts the problems left.
func (r *FsckReport) Unrepaired() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Repaired {
			n++
		}
	}
	return n
}

// Fsck compares the catalog's references with the store's blobs and, with
// opts.Repair, fixes what it found. The catalog is read first and the
// store listed afterwards, so a file uploaded in between shows up as a
// young unreferenced blob, never as missing; every finding is confirmed
// again before it is reported, and again under the catalog's write lock
// before it is repaired, so Fsck is safe while the server runs. now is the
// time blob ages are measured from. Only failures of the catalog or the
// store are returned as errors; problems are in the report.
func Fsck(ctx context.Context, cat *index.Catalog, store storage.Store, opts FsckOptions, now time.Time) (*FsckReport, error) {
	rep := &FsckReport{Grace: opts.Grace.String(), Problems: []FsckProblem{}}
	refs := map[string][]index.BlobRef{}
	if err := cat.ReferencedBlobs(ctx, func(r index.BlobRef) error {
		refs[r.Key] = append(refs[r.Key], r)
		rep.References++
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	stored := map[string]storage.Info{}
	if err := store.List(ctx, "", func(fi storage.Info) error {
		stored[fi.Key] = fi
		rep.Blobs++
		rep.Bytes += fi.Size
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list the store: %w", err)
	}

	var present []string // referenced and stored, with the right size
	for _, key := range slices.Sorted(maps.Keys(refs)) {
		rs := refs[key]
		fi, ok := stored[key]
		if !ok {
			// Stored since the listing, or deleted with its row since the
			// catalog was read? Only a blob still absent and still
			// referenced is missing.
			var err error
			fi, err = store.Stat(ctx, key)
			if err != nil && !errors.Is(err, storage.ErrNotExist) {
				return nil, err
			}
			if err != nil {
				if still, err := cat.BlobReferenced(ctx, key); err != nil {
					return nil, err
				} else if still {
					rep.Problems = append(rep.Problems, FsckProblem{Problem: ProblemMissing, Key: key, Refs: rs})
				}
				continue
			}
		}
		if bad := sizeMismatch(rs, fi.Size); bad != "" {
			rep.Problems = append(rep.Problems, FsckProblem{Problem: ProblemCorrupt, Key: key, Detail: bad, Refs: rs})
			continue
		}
		present = append(present, key)
	}

	for _, key := range slices.Sorted(maps.Keys(stored)) {
		if _, ok := refs[key]; ok {
			continue
		}
		fi := stored[key]
		if now.Sub(fi.ModTime) < opts.Grace {
			rep.YoungUnreferenced++
			continue
		}
		if still, err := cat.BlobReferenced(ctx, key); err != nil {
			return nil, err
		} else if still {
			continue // referenced by a row committed after the catalog was read
		}
		mt := fi.ModTime
		rep.Problems = append(rep.Problems, FsckProblem{Problem: ProblemOrphan, Key: key, Size: fi.Size, ModTime: &mt})
	}

	if opts.VerifyHashes {
		corrupt, err := verifyHashes(ctx, store, present, refs, opts.Jobs)
		if err != nil {
			return nil, err
		}
		rep.Verified = len(present)
		rep.Problems = append(rep.Problems, corrupt...)
	}
	slices.SortStableFunc(rep.Problems, func(a, b FsckProblem) int { return strings.Compare(a.Key, b.Key) })

	if opts.Repair {
		for i := range rep.Problems {
			if err := repairProblem(ctx, cat, store, &rep.Problems[i], opts, now); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

// sizeMismatch describes a size that differs from one the rows record.
func sizeMismatch(rs []index.BlobRef, size int64) string {
	for _, r := range rs {
		if r.Size >= 0 && r.Size != size {
			return fmt.Sprintf("size is %d bytes, want %d", size, r.Size)
		}
	}
	return ""
}

// verifyHashes reads every key in parallel and returns a corrupt problem
// for each whose sha256 differs from one its rows expect. A blob that
// vanished meanwhile is skipped (the next run sees why).
func verifyHashes(ctx context.Context, store storage.Store, keys []string, refs map[string][]index.BlobRef, jobs int) ([]FsckProblem, error) {
	var (
		mu  sync.Mutex
		out []FsckProblem
	)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	for _, key := range keys {
		g.Go(func() error {
			sum, _, err := hashBlob(ctx, store, key)
			if errors.Is(err, storage.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, r := range refs[key] {
				if r.SHA256 != "" && !strings.EqualFold(r.SHA256, sum) {
					mu.Lock()
					out = append(out, FsckProblem{Problem: ProblemCorrupt, Key: key,
						Detail: fmt.Sprintf("sha256 is %s, want %s", sum, strings.ToLower(r.SHA256)), Refs: refs[key]})
					mu.Unlock()
					break
				}
			}
			return nil
		})
	}
	return out, g.Wait()
}

// hashBlob returns the hex sha256 and the length of a stored blob.
func hashBlob(ctx context.Context, store storage.Store, key string) (string, int64, error) {
	rc, _, err := store.Open(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// repairProblem fixes one problem and records the outcome in it. Only
// failures of the catalog or the store are returned; a problem that went
// away by itself is marked repaired.
func repairProblem(ctx context.Context, cat *index.Catalog, store storage.Store, p *FsckProblem, opts FsckOptions, now time.Time) error {
	switch p.Problem {
	case ProblemOrphan:
		deleted, err := deleteIfUnreferenced(ctx, cat, store, p.Key, opts.Grace, now)
		if err != nil {
			return err
		}
		p.Repaired = true
		p.Repair = "deleted"
		if !deleted {
			p.Repair = "kept: referenced or rewritten since the check"
		}
		return nil
	case ProblemMissing, ProblemCorrupt:
		what := p.Problem
		if p.Detail != "" {
			what += " (" + p.Detail + ")"
		}
		var stillBroken func(context.Context) (bool, error)
		if p.Problem == ProblemMissing {
			stillBroken = func(ctx context.Context) (bool, error) {
				_, err := store.Stat(ctx, p.Key)
				if errors.Is(err, storage.ErrNotExist) {
					return true, nil
				}
				return false, err
			}
		}
		var done []string
		for _, ref := range p.Refs {
			repaired, orphans, err := cat.RepairBlobRef(ctx, ref, what, opts.Actor, stillBroken)
			if errors.Is(err, index.ErrNotFound) {
				done = append(done, ref.Filename+": changed since the check, left alone")
				continue
			}
			if err != nil {
				return fmt.Errorf("repair %s: %w", ref.Filename, err)
			}
			if !repaired {
				p.Repaired, p.Repair = true, "blob reappeared; nothing changed"
				return nil
			}
			done = append(done, ref.Filename+": "+repairAction(ref.Kind))
			for _, key := range orphans {
				// The broken blob itself, or a metadata blob of a removed
				// row; a fresh blob (rewritten meanwhile) is kept.
				if _, err := deleteIfUnreferenced(ctx, cat, store, key, 0, now); err != nil {
					return err
				}
			}
		}
		p.Repaired = true
		p.Repair = strings.Join(done, "; ")
	}
	return nil
}

// repairAction says what a repair did to a row of kind k.
func repairAction(k index.BlobKind) string {
	switch k {
	case index.BlobFile:
		return "file row removed"
	case index.BlobMetadata:
		return "metadata forgotten"
	case index.BlobMirrorFile:
		return "cached copy forgotten"
	case index.BlobGeneric:
		return "generic file row removed"
	default:
		return "cached metadata forgotten"
	}
}

// deleteIfUnreferenced deletes key unless a row references it or it was
// written less than grace ago (an upload in flight storing the same bytes
// again), deciding under the catalog's write lock. An absent key counts as
// deleted.
func deleteIfUnreferenced(ctx context.Context, cat *index.Catalog, store storage.Store, key string, grace time.Duration, now time.Time) (bool, error) {
	deleted, err := cat.DeleteBlobIfUnreferenced(ctx, key, func(ctx context.Context) error {
		if grace > 0 {
			fi, err := store.Stat(ctx, key)
			if err != nil {
				return err
			}
			if now.Sub(fi.ModTime) < grace {
				return errYoung
			}
		}
		return store.Delete(ctx, key)
	})
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return true, nil
	case errors.Is(err, errYoung):
		return false, nil
	}
	return deleted, err
}

// errYoung stops deleteIfUnreferenced from deleting a blob written within
// the grace period.
var errYoung = errors.New("blob written recently")
