package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/storage"
)

// The admin subcommands (prune, yank, unyank, delete) open the catalog and
// the store directly, like "user": they work while the server runs (the
// server sees their changes at once through the catalog serial) and record
// "cli:$USER" in the audit log.

// withAdmin loads the configuration, opens the catalog and the store, and
// runs fn with an admin.Service over them.
func withAdmin(cmd *cobra.Command, load loader, fn func(context.Context, *admin.Service) error) error {
	return withDataDo(cmd, load, func(ctx context.Context, _ Config, cat *index.Catalog, store storage.Store) error {
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		svc, err := admin.New(admin.Deps{Catalog: cat, Store: store, Log: log})
		if err != nil {
			return err
		}
		return fn(ctx, svc)
	})
}

func cliWho() index.Actor { return index.Actor{Name: cliActor()} }

func newPruneCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	var req admin.PruneRequest
	var projects []string
	var olderThan time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "prune [--project P] --keep-dev N [--dev-older-than D] [--released-dev] [--dry-run] [--json]",
		Short: "Delete old development builds (.devN versions); works while the server runs",
		Long: `Delete development builds (PEP 440 .devN versions) by rules; a build goes
when any rule selects it. Final releases, pre-releases and post-releases
are never touched.

  --keep-dev N        keep the N newest dev builds of each base release
                      (1.2.dev4, 1.2rc1.dev2 and 1.2.post1.dev1 share base 1.2)
  --dev-older-than D  delete dev builds uploaded longer ago than D (720h)
  --released-dev      delete dev builds a release of their base supersedes
                      (1.2.dev4 once 1.2 exists)

--dry-run lists exactly what a real run would delete, and deletes nothing.
Files go from storage after the catalog change, unless another file shares
their bytes.`,
		Example: `  pyindex prune --keep-dev 5 --dry-run
  pyindex prune --project acme-util --keep-dev 3 --dev-older-than 720h --released-dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules := index.PruneRules{Projects: projects, KeepDev: req.KeepDev, DevOlderThan: olderThan, ReleasedDev: req.ReleasedDev}
			if err := rules.Validate(); err != nil {
				return err
			}
			return withAdmin(cmd, load, func(ctx context.Context, a *admin.Service) error {
				res, err := a.Prune(ctx, rules, req.DryRun, cliWho())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, admin.PruneJSON(res))
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PROJECT\tVERSION\tFILES\tSIZE\tREASONS")
				for _, r := range res.Releases {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Project, r.Version, r.Files, humanBytes(r.Bytes), strings.Join(r.Reasons, ","))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if res.DryRun {
					fmt.Fprintf(out, "dry run: would delete %d releases, %d files, %s\n", len(res.Releases), len(res.Files), humanBytes(res.Bytes))
				} else {
					fmt.Fprintf(out, "deleted %d releases, %d files, %s from %s; freed %s of storage\n", len(res.Releases), len(res.Files), humanBytes(res.Bytes), absPath(a.Catalog().Path()), humanBytes(res.Freed))
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&projects, "project", nil, "prune only this project (repeatable); default every project")
	f.IntVar(&req.KeepDev, "keep-dev", 0, "keep the N newest dev builds of each base release (0: no count rule)")
	f.DurationVar(&olderThan, "dev-older-than", 0, "delete dev builds uploaded longer ago than this, e.g. 720h (0: no age rule)")
	f.BoolVar(&req.ReleasedDev, "released-dev", false, "delete dev builds of a base that has a release")
	f.BoolVar(&req.DryRun, "dry-run", false, "show what would be deleted, delete nothing")
	f.BoolVar(&asJSON, "json", false, "print JSON (as POST /api/v1/prune answers)")
	return cmd
}

func newYankCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "yank PROJECT VERSION [--reason R]",
		Short: "Yank a release (PEP 592): installers skip it unless pinned with ==",
		Long: `Yank a release: its files stay downloadable, but pip and uv skip it unless
a requirement pins it exactly (==VERSION). The simple pages show the
reason at once. Undo with "pyindex unyank".`,
		Example: `  pyindex yank acme-util 1.2.0 --reason "corrupt wheel, use 1.2.1"`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(cmd, load, func(ctx context.Context, a *admin.Service) error {
				r, err := a.Catalog().Yank(ctx, args[0], args[1], reason, cliWho())
				if err != nil {
					return err
				}
				return printRelease(cmd.OutOrStdout(), asJSON, "yanked", args[0], r, a.Catalog().Path())
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it is yanked (shown by pip)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// confirmName asks on stderr for project's name to be typed on stdin, and
// refuses unless it is.
func confirmName(cmd *cobra.Command, project string) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "Delete project %s with all its releases and files? Type its name to confirm: ", project)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.TrimSpace(line) != project {
		if err != nil {
			fmt.Fprintln(cmd.ErrOrStderr())
		}
		return fmt.Errorf("not confirmed: nothing deleted (type the project name, or pass --yes)")
	}
	return nil
}

func newUnyankCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "unyank PROJECT VERSION",
		Short: "Undo a yank",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAdmin(cmd, load, func(ctx context.Context, a *admin.Service) error {
				r, err := a.Catalog().Unyank(ctx, args[0], args[1], cliWho())
				if err != nil {
					return err
				}
				return printRelease(cmd.OutOrStdout(), asJSON, "unyanked", args[0], r, a.Catalog().Path())
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printRelease reports a yank or unyank of r in the catalog at path.
func printRelease(w io.Writer, asJSON bool, verb, project string, r index.Release, path string) error {
	if asJSON {
		return writeJSON(w, map[string]any{"project": project, "version": r.Version, "yanked": r.Yanked, "yanked_reason": r.YankedReason})
	}
	if r.YankedReason != "" {
		_, err := fmt.Fprintf(w, "%s %s %s in %s: %s\n", verb, project, r.Version, absPath(path), r.YankedReason)
		return err
	}
	_, err := fmt.Fprintf(w, "%s %s %s in %s\n", verb, project, r.Version, absPath(path))
	return err
}

func newDeleteCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	var asJSON, yes bool
	cmd := &cobra.Command{
		Use:   "delete PROJECT [VERSION [FILENAME]]",
		Short: "Delete a project, a release or one file, and their stored files",
		Long: `Delete a whole project, one release of it, or one file of a release. The
catalog rows go first; then the stored files, unless another file shares
their bytes. A project keeps its name (and owners) when its last release
is deleted; only deleting the project frees the name. Consider "pyindex
yank" instead: a deleted version breaks everyone who pinned it.

Deleting a whole project asks you to type its name first (read from
standard input); --yes skips the question, for scripts.`,
		Example: `  pyindex delete acme-util 1.2.0.dev3
  pyindex delete acme-util 1.2.0 acme_util-1.2.0-cp312-cp312-linux_x86_64.whl
  pyindex delete old-project          # asks for the name
  pyindex delete old-project --yes`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && !yes {
				if err := confirmName(cmd, args[0]); err != nil {
					return err
				}
			}
			return withAdmin(cmd, load, func(ctx context.Context, a *admin.Service) error {
				var d admin.Deleted
				var err error
				switch len(args) {
				case 1:
					d, err = a.DeleteProject(ctx, args[0], cliWho())
				case 2:
					d, err = a.DeleteRelease(ctx, args[0], args[1], cliWho())
				default:
					d, err = a.DeleteFile(ctx, args[0], args[1], args[2], cliWho())
				}
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					files := make([]map[string]any, 0, len(d.Files))
					for _, f := range d.Files {
						files = append(files, map[string]any{"project": f.Project, "version": f.Version, "filename": f.Filename, "size": f.Size})
					}
					return writeJSON(out, map[string]any{"files": files, "bytes": d.Bytes, "freed": d.Freed})
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tFILENAME\tSIZE")
				for _, f := range d.Files {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Version, f.Filename, humanBytes(f.Size))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "deleted %d files, %s from %s; freed %s of storage\n", len(d.Files), humanBytes(d.Bytes), absPath(a.Catalog().Path()), humanBytes(d.Freed))
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&yes, "yes", false, "delete a whole project without asking")
	return cmd
}
