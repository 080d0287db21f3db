package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/pyindex/pyindex/storage"
)

func newStorageCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Blob store tools: copy every file to another store",
	}
	var (
		to      string
		opts    copyOptions
		verbose bool
	)
	cp := &cobra.Command{
		Use:   "copy --to CONFIG.toml [--dry-run]",
		Short: "Copy every blob from the configured store to the store of another configuration",
		Long: `Copy every blob (files, extracted metadata, cached mirror files) from the
store of the current configuration to the [storage] of the configuration
file given with --to: from a folder to S3 or back, or between buckets.

The --to file is read without PYINDEX_* environment overrides (they
describe the current configuration); its S3 credentials may still come
from PYINDEX_S3_ACCESS_KEY/PYINDEX_S3_SECRET_KEY or the AWS chain.

Blobs already present at the destination with the right size are
skipped, so an interrupted copy resumes where it stopped. Each copied
blob is read back from the destination and its sha256 checked (against
its content address, and against the bytes read from the source). The
server may keep running; copy again right before switching to pick up
files uploaded meanwhile, then run pyindex fsck on the new store.`,
		Example: `  pyindex storage copy --config pyindex.toml --to pyindex-s3.toml --dry-run
  pyindex storage copy --config pyindex.toml --to pyindex-s3.toml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to CONFIG.toml is required: the configuration whose [storage] receives the copy")
			}
			if opts.jobs < 1 {
				return errors.New("--jobs must be at least 1")
			}
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			dstCfg, err := LoadConfig(to, func(string) (string, bool) { return "", false })
			if err == nil {
				err = dstCfg.Validate()
			}
			if err != nil {
				return fmt.Errorf("--to %s: %w", to, err)
			}
			if same, where := sameStore(cfg, dstCfg); same {
				return fmt.Errorf("--to %s describes the store being copied (%s)", to, where)
			}
			ctx := cmd.Context()
			src, err := openStore(ctx, cfg)
			if err != nil {
				return fmt.Errorf("source: %w", err)
			}
			dst, err := openStore(ctx, dstCfg)
			if err != nil {
				return fmt.Errorf("destination (%s): %w", to, err)
			}
			out := cmd.OutOrStdout()
			if verbose {
				opts.log = out
			}
			opts.errs = cmd.ErrOrStderr()
			st, err := copyBlobs(ctx, src, dst, opts)
			verb := "copied"
			if opts.dryRun {
				verb = "to copy"
			}
			fmt.Fprintf(out, "%s -> %s: %d blobs %s (%s), %d already present, %d failed\n",
				storeName(cfg), storeName(dstCfg), st.Copied, verb, humanBytes(st.CopiedBytes), st.Present, st.Failed)
			if err != nil {
				return err
			}
			if st.Failed > 0 {
				return fmt.Errorf("%d blobs failed to copy (see above); run the copy again", st.Failed)
			}
			return nil
		},
	}
	cp.Flags().StringVar(&to, "to", "", "configuration file whose [storage] receives the copy (required)")
	cp.Flags().BoolVar(&opts.dryRun, "dry-run", false, "only report what would be copied")
	cp.Flags().IntVar(&opts.jobs, "jobs", 4, "blobs copied in parallel")
	cp.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every blob copied")
	cmd.AddCommand(cp)
	return cmd
}

// storeName describes a configuration's store for messages.
func storeName(cfg Config) string {
	if cfg.Storage.Backend == "s3" {
		s := cfg.Storage.S3
		name := "s3://" + s.Bucket
		if p := strings.Trim(s.Prefix, "/"); p != "" {
			name += "/" + p
		}
		return name + " at " + s.Endpoint
	}
	return filesPath(cfg)
}

// sameStore reports whether two configurations name the same store.
func sameStore(a, b Config) (bool, string) {
	if a.Storage.Backend != b.Storage.Backend {
		return false, ""
	}
	if a.Storage.Backend == "s3" {
		x, y := a.Storage.S3, b.Storage.S3
		host := func(e string) string {
			_, h, ok := strings.Cut(e, "://")
			if !ok {
				h = e
			}
			return strings.ToLower(strings.TrimSuffix(h, "/"))
		}
		return host(x.Endpoint) == host(y.Endpoint) && x.Bucket == y.Bucket &&
			strings.Trim(x.Prefix, "/") == strings.Trim(y.Prefix, "/"), storeName(a)
	}
	pa, err1 := filepath.Abs(filesPath(a))
	pb, err2 := filepath.Abs(filesPath(b))
	return err1 == nil && err2 == nil && pa == pb, pa
}

// copyOptions are the flags of pyindex storage copy.
type copyOptions struct {
	dryRun bool
	jobs   int
	log    io.Writer // when not nil, one line per blob copied
	errs   io.Writer // when not nil, one line per blob that failed
}

// copyStats counts what copyBlobs did.
type copyStats struct {
	Copied      int   // blobs copied (or, in a dry run, to copy)
	CopiedBytes int64 // their size
	Present     int   // already at the destination with the right size
	Failed      int   // could not be copied or verified; reported on log
}

// copyBlobs copies every blob of src that dst lacks (or holds with another
// size) and verifies each copy by reading it back. A blob that fails is
// counted and reported, and the copy goes on; only a failure to list src
// or a cancelled ctx stops it (with an error). Put is atomic on every
// backend, so an interrupted copy leaves no partial blob: running it again
// resumes.
func copyBlobs(ctx context.Context, src, dst storage.Store, opts copyOptions) (copyStats, error) {
	var (
		mu sync.Mutex
		st copyStats
	)
	logf := func(format string, args ...any) {
		if opts.log != nil {
			fmt.Fprintf(opts.log, format+"\n", args...)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.jobs, 1))
	listErr := src.List(gctx, "", func(fi storage.Info) error {
		g.Go(func() error {
			copied, err := copyBlob(gctx, src, dst, fi, opts.dryRun)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && gctx.Err() != nil:
				return gctx.Err()
			case err != nil:
				st.Failed++
				if opts.errs != nil {
					fmt.Fprintf(opts.errs, "FAILED %s: %v\n", fi.Key, err)
				}
			case copied:
				st.Copied++
				st.CopiedBytes += fi.Size
				logf("copied %s (%d bytes)", fi.Key, fi.Size)
			default:
				st.Present++
			}
			return nil
		})
		return nil
	})
	if err := g.Wait(); err != nil {
		return st, err
	}
	if listErr != nil {
		return st, fmt.Errorf("list the source: %w", listErr)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, nil
}

// copyBlob copies one blob unless dst holds it with the right size, and
// reports whether it copied. The bytes are hashed on the way; the copy is
// then read back and must hash the same, and match the content address
// of a "sha256/..." key. A copy that fails verification is deleted again.
func copyBlob(ctx context.Context, src, dst storage.Store, fi storage.Info, dryRun bool) (bool, error) {
	have, err := dst.Stat(ctx, fi.Key)
	switch {
	case err == nil && have.Size == fi.Size:
		return false, nil
	case err != nil && !errors.Is(err, storage.ErrNotExist):
		return false, fmt.Errorf("destination: %w", err)
	}
	if dryRun {
		return true, nil
	}
	rc, info, err := src.Open(ctx, fi.Key)
	if err != nil {
		return false, fmt.Errorf("source: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if err := dst.Put(ctx, fi.Key, io.TeeReader(rc, h), info.Size); err != nil {
		return false, fmt.Errorf("destination: %w", err)
	}
	srcSum := hex.EncodeToString(h.Sum(nil))
	verr := func() error {
		if want := contentAddress(fi.Key); want != "" && want != srcSum {
			return fmt.Errorf("the source blob is corrupt: sha256 %s, want %s (see pyindex fsck --verify-hashes)", srcSum, want)
		}
		got, _, err := hashBlob(ctx, dst, fi.Key)
		if err != nil {
			return fmt.Errorf("read back: %w", err)
		}
		if got != srcSum {
			return fmt.Errorf("copy reads back with sha256 %s, want %s", got, srcSum)
		}
		return nil
	}()
	if verr != nil {
		if err := dst.Delete(context.WithoutCancel(ctx), fi.Key); err != nil && !errors.Is(err, storage.ErrNotExist) {
			return false, fmt.Errorf("%w; deleting the bad copy failed too: %w", verr, err)
		}
		return false, verr
	}
	return true, nil
}

// contentAddress returns the digest a "sha256/ab/cd/<hex>" key (see
// storage.Key) promises, or "" for any other key.
func contentAddress(key string) string {
	hexsum := key[strings.LastIndexByte(key, '/')+1:]
	if storage.Key(hexsum) != key {
		return ""
	}
	return hexsum
}
