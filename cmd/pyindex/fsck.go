package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// Problems fsck reports.
const (
	problemMissing = "missing" // a row references a blob that is not stored
	problemOrphan  = "orphan"  // a stored blob no row references
	problemCorrupt = "corrupt" // a stored blob whose size or sha256 differs from its row's
)

// fsckOptions are the flags of pyindex fsck.
type fsckOptions struct {
	verifyHashes bool
	repair       bool
	grace        time.Duration
	jobs         int
	actor        index.Actor
}

// fsckProblem is one finding, with the catalog rows it concerns.
type fsckProblem struct {
	Problem string          `json:"problem"`
	Key     string          `json:"key"`
	Detail  string          `json:"detail,omitempty"`
	Size    int64           `json:"size,omitempty"`     // orphans: the blob's size
	ModTime *time.Time      `json:"modified,omitempty"` // orphans: when it was written
	Refs    []index.BlobRef `json:"refs,omitempty"`
	// Repaired is set by --repair once the problem is gone; Repair says
	// what was done, or why it was not.
	Repaired bool   `json:"repaired"`
	Repair   string `json:"repair,omitempty"`
}

// fsckReport is the result of a check, printed as text or JSON.
type fsckReport struct {
	Backend    string `json:"backend"`
	Blobs      int    `json:"blobs"`      // stored blobs listed
	Bytes      int64  `json:"bytes"`      // their total size
	References int    `json:"references"` // references from catalog rows
	Verified   int    `json:"verified"`   // blobs whose sha256 was computed
	// YoungUnreferenced counts unreferenced blobs written less than the
	// grace period ago: most likely uploads in flight, not reported.
	YoungUnreferenced int           `json:"young_unreferenced"`
	Grace             string        `json:"grace"`
	Problems          []fsckProblem `json:"problems"`
}

// unrepaired counts the problems left.
func (r *fsckReport) unrepaired() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Repaired {
			n++
		}
	}
	return n
}

// errFsckProblems makes pyindex fsck exit with status 1.
var errFsckProblems = errors.New("problems found")

func newFsckCmd(load loader) *cobra.Command {
	var (
		opts   fsckOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "fsck [--verify-hashes] [--repair] [--json]",
		Short: "Check that the catalog and the blob store agree (works while the server runs)",
		Long: `Check that every file the catalog lists is stored, and that every stored
blob belongs to a file, on either storage backend. It reports:

  missing   a catalog row (hosted file, its metadata, a cached mirror file)
            whose blob is absent: the file cannot be downloaded
  orphan    a stored blob no row references (left by a crash, a failed
            upload or an interrupted delete); blobs younger than --grace are
            skipped, since an upload stores its blob before its row
  corrupt   a blob whose size differs from its row's, or with
            --verify-hashes, whose sha256 differs (every blob is read)

--repair deletes orphans, and for missing or corrupt blobs: removes the
hosted file's row (so the file can be uploaded again), forgets the
file's PEP 658 metadata, or forgets the mirror's cached copy (fetched again
from the upstream when asked). Every repair bumps the serial and is in
the audit log (action fsck-repair). The exit status is 1 when problems
remain.`,
		Example: `  pyindex fsck
  pyindex fsck --verify-hashes --json > fsck.json
  pyindex fsck --repair --config /etc/pyindex.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.grace < 0 {
				return errors.New("--grace must not be negative")
			}
			if opts.jobs < 1 {
				return errors.New("--jobs must be at least 1")
			}
			return withDataDo(cmd, load, func(ctx context.Context, cfg Config, cat *index.Catalog, store storage.Store) error {
				opts.actor = index.Actor{Name: cliActor()}
				rep, err := fsck(ctx, cat, store, opts, time.Now())
				if err != nil {
					return err
				}
				rep.Backend = cfg.Storage.Backend
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if err := enc.Encode(rep); err != nil {
						return err
					}
				} else {
					printFsck(cmd.OutOrStdout(), rep, opts)
				}
				if n := rep.unrepaired(); n > 0 {
					hint := ""
					if !opts.repair {
						hint = "; run pyindex fsck --repair to fix them"
					}
					return fmt.Errorf("%w: %d%s", errFsckProblems, n, hint)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.verifyHashes, "verify-hashes", false, "read every referenced blob and check its sha256")
	f.BoolVar(&opts.repair, "repair", false, "delete orphans and remove or mark rows whose blob is missing or corrupt")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.DurationVar(&opts.grace, "grace", time.Hour, "ignore unreferenced blobs younger than this (uploads in flight)")
	f.IntVar(&opts.jobs, "jobs", 4, "blobs hashed in parallel with --verify-hashes")
	return cmd
}

// fsck compares the catalog's references with the store's blobs and, with
// opts.repair, fixes what it found. The catalog is read first and the
// store listed afterwards, so a file uploaded in between shows up as a
// young unreferenced blob, never as missing; every finding is confirmed
// again before it is reported, and again under the catalog's write lock
// before it is repaired, so fsck is safe while the server runs.
func fsck(ctx context.Context, cat *index.Catalog, store storage.Store, opts fsckOptions, now time.Time) (*fsckReport, error) {
	rep := &fsckReport{Grace: opts.grace.String(), Problems: []fsckProblem{}}
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
	for _, key := range sortedKeys(refs) {
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
					rep.Problems = append(rep.Problems, fsckProblem{Problem: problemMissing, Key: key, Refs: rs})
				}
				continue
			}
		}
		if bad := sizeMismatch(rs, fi.Size); bad != "" {
			rep.Problems = append(rep.Problems, fsckProblem{Problem: problemCorrupt, Key: key, Detail: bad, Refs: rs})
			continue
		}
		present = append(present, key)
	}

	for _, key := range sortedKeys(stored) {
		if _, ok := refs[key]; ok {
			continue
		}
		fi := stored[key]
		if now.Sub(fi.ModTime) < opts.grace {
			rep.YoungUnreferenced++
			continue
		}
		if still, err := cat.BlobReferenced(ctx, key); err != nil {
			return nil, err
		} else if still {
			continue // referenced by a row committed after the catalog was read
		}
		mt := fi.ModTime
		rep.Problems = append(rep.Problems, fsckProblem{Problem: problemOrphan, Key: key, Size: fi.Size, ModTime: &mt})
	}

	if opts.verifyHashes {
		corrupt, err := verifyHashes(ctx, store, present, refs, opts.jobs)
		if err != nil {
			return nil, err
		}
		rep.Verified = len(present)
		rep.Problems = append(rep.Problems, corrupt...)
	}
	slices.SortStableFunc(rep.Problems, func(a, b fsckProblem) int { return strings.Compare(a.Key, b.Key) })

	if opts.repair {
		for i := range rep.Problems {
			if err := repairProblem(ctx, cat, store, &rep.Problems[i], opts, now); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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
func verifyHashes(ctx context.Context, store storage.Store, keys []string, refs map[string][]index.BlobRef, jobs int) ([]fsckProblem, error) {
	var (
		mu  sync.Mutex
		out []fsckProblem
	)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
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
					out = append(out, fsckProblem{Problem: problemCorrupt, Key: key,
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
func repairProblem(ctx context.Context, cat *index.Catalog, store storage.Store, p *fsckProblem, opts fsckOptions, now time.Time) error {
	switch p.Problem {
	case problemOrphan:
		deleted, err := deleteIfUnreferenced(ctx, cat, store, p.Key, opts.grace, now)
		if err != nil {
			return err
		}
		p.Repaired = true
		p.Repair = "deleted"
		if !deleted {
			p.Repair = "kept: referenced or rewritten since the check"
		}
		return nil
	case problemMissing, problemCorrupt:
		what := p.Problem
		if p.Detail != "" {
			what += " (" + p.Detail + ")"
		}
		var stillBroken func(context.Context) (bool, error)
		if p.Problem == problemMissing {
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
			repaired, orphans, err := cat.RepairBlobRef(ctx, ref, what, opts.actor, stillBroken)
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

func repairAction(k index.BlobKind) string {
	switch k {
	case index.BlobFile:
		return "file row removed"
	case index.BlobMetadata:
		return "metadata forgotten"
	case index.BlobMirrorFile:
		return "cached copy forgotten"
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

var errYoung = errors.New("blob written recently")

// printFsck writes the human-readable report.
func printFsck(w io.Writer, rep *fsckReport, opts fsckOptions) {
	fmt.Fprintf(w, "%d blobs (%s) in the %s store, %d references from the catalog", rep.Blobs, humanBytes(rep.Bytes), rep.Backend, rep.References)
	if opts.verifyHashes {
		fmt.Fprintf(w, ", %d blobs hashed", rep.Verified)
	}
	fmt.Fprintln(w)
	counts := map[string]int{}
	for _, p := range rep.Problems {
		counts[p.Problem]++
		line := fmt.Sprintf("%-8s %s", p.Problem, p.Key)
		switch {
		case p.Problem == problemOrphan:
			line += fmt.Sprintf("  %d bytes, written %s", p.Size, p.ModTime.UTC().Format(time.RFC3339))
		case p.Detail != "":
			line += "  " + p.Detail
		}
		for _, r := range p.Refs {
			line += "\n         " + describeRef(r)
		}
		if opts.repair {
			if p.Repaired {
				line += "\n         repaired: " + p.Repair
			} else {
				line += "\n         NOT repaired: " + p.Repair
			}
		}
		fmt.Fprintln(w, line)
	}
	if len(rep.Problems) == 0 {
		fmt.Fprint(w, "no problems")
	} else {
		fmt.Fprintf(w, "%d problems (%d missing, %d orphan, %d corrupt)", len(rep.Problems),
			counts[problemMissing], counts[problemOrphan], counts[problemCorrupt])
		if opts.repair {
			fmt.Fprintf(w, ", %d left after repair", rep.unrepaired())
		}
	}
	if rep.YoungUnreferenced > 0 {
		fmt.Fprintf(w, "; %d unreferenced blobs younger than %s skipped (uploads in flight?)", rep.YoungUnreferenced, opts.grace)
	}
	fmt.Fprintln(w)
}

func describeRef(r index.BlobRef) string {
	switch r.Kind {
	case index.BlobFile:
		return fmt.Sprintf("file %s (%s %s)", r.Filename, r.Project, r.Version)
	case index.BlobMetadata:
		return fmt.Sprintf("metadata of %s (%s %s)", r.Filename, r.Project, r.Version)
	case index.BlobMirrorFile:
		return fmt.Sprintf("mirrored file %s (%s)", r.Filename, r.Project)
	default:
		return fmt.Sprintf("metadata of mirrored file %s (%s)", r.Filename, r.Project)
	}
}
