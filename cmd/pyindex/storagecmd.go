package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index/admin"
)

func newStorageCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Blob store tools: copy every file to another store",
	}
	var (
		to      string
		opts    admin.CopyOptions
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
			if opts.Jobs < 1 {
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
			st, err := admin.CopyBlobs(ctx, src, dst, opts, func(c admin.BlobCopy) {
				switch {
				case c.Err != nil:
					fmt.Fprintf(cmd.ErrOrStderr(), "FAILED %s: %v\n", c.Key, c.Err)
				case verbose:
					fmt.Fprintf(out, "copied %s (%d bytes)\n", c.Key, c.Size)
				}
			})
			verb := "copied"
			if opts.DryRun {
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
	cp.Flags().BoolVar(&opts.DryRun, "dry-run", false, "only report what would be copied")
	cp.Flags().IntVar(&opts.Jobs, "jobs", 4, "blobs copied in parallel")
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
