package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/storage"
)

// errFsckProblems makes pyindex fsck exit with status 1.
var errFsckProblems = errors.New("problems found")

func newFsckCmd(load loader) *cobra.Command {
	var (
		opts   admin.FsckOptions
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
			if opts.Grace < 0 {
				return errors.New("--grace must not be negative")
			}
			if opts.Jobs < 1 {
				return errors.New("--jobs must be at least 1")
			}
			return withDataDo(cmd, load, func(ctx context.Context, cfg Config, cat *index.Catalog, store storage.Store) error {
				opts.Actor = index.Actor{Name: cliActor()}
				rep, err := admin.Fsck(ctx, cat, store, opts, time.Now())
				if err != nil {
					return err
				}
				rep.Backend = cfg.Storage.Backend
				if asJSON {
					if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
						return err
					}
				} else {
					printFsck(cmd.OutOrStdout(), rep, opts)
					if opts.Repair {
						fmt.Fprintf(cmd.OutOrStdout(), "catalog: %s\n", absPath(cat.Path()))
					}
				}
				if n := rep.Unrepaired(); n > 0 {
					hint := ""
					if !opts.Repair {
						hint = "; run pyindex fsck --repair to fix them"
					}
					return fmt.Errorf("%w: %d%s", errFsckProblems, n, hint)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.VerifyHashes, "verify-hashes", false, "read every referenced blob and check its sha256")
	f.BoolVar(&opts.Repair, "repair", false, "delete orphans and remove or mark rows whose blob is missing or corrupt")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.DurationVar(&opts.Grace, "grace", time.Hour, "ignore unreferenced blobs younger than this (uploads in flight)")
	f.IntVar(&opts.Jobs, "jobs", 4, "blobs hashed in parallel with --verify-hashes")
	return cmd
}

// printFsck writes the human-readable report.
func printFsck(w io.Writer, rep *admin.FsckReport, opts admin.FsckOptions) {
	fmt.Fprintf(w, "%d blobs (%s) in the %s store, %d references from the catalog", rep.Blobs, humanBytes(rep.Bytes), rep.Backend, rep.References)
	if opts.VerifyHashes {
		fmt.Fprintf(w, ", %d blobs hashed", rep.Verified)
	}
	fmt.Fprintln(w)
	counts := map[string]int{}
	for _, p := range rep.Problems {
		counts[p.Problem]++
		line := fmt.Sprintf("%-8s %s", p.Problem, p.Key)
		switch {
		case p.Problem == admin.ProblemOrphan:
			line += fmt.Sprintf("  %d bytes, written %s", p.Size, p.ModTime.UTC().Format(time.RFC3339))
		case p.Detail != "":
			line += "  " + p.Detail
		}
		for _, r := range p.Refs {
			line += "\n         " + describeRef(r)
		}
		if opts.Repair {
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
			counts[admin.ProblemMissing], counts[admin.ProblemOrphan], counts[admin.ProblemCorrupt])
		if opts.Repair {
			fmt.Fprintf(w, ", %d left after repair", rep.Unrepaired())
		}
	}
	if rep.YoungUnreferenced > 0 {
		fmt.Fprintf(w, "; %d unreferenced blobs younger than %s skipped (uploads in flight?)", rep.YoungUnreferenced, opts.Grace)
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
	case index.BlobGeneric:
		return fmt.Sprintf("generic file %s (%s %s)", r.Filename, r.Project, r.Version)
	default:
		return fmt.Sprintf("metadata of mirrored file %s (%s)", r.Filename, r.Project)
	}
}
