package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/pep503"
)

// newGenericCmd is "pyindex generic": listing, deleting and pruning generic
// files (PUT /generic/NAME/VERSION/FILE) from the command line, through
// the same admin.Service the API uses; it works while the server runs.
func newGenericCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generic",
		Short: "List, delete and prune generic files (versioned archives uploaded with PUT /generic/...)",
	}
	cmd.AddCommand(newGenericListCmd(load), newGenericDeleteCmd(load), newGenericPruneCmd(load), newGenericOwnerCmd(load))
	return cmd
}

func newGenericOwnerCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "owner",
		Short: "Add or remove an owner of a generic package (owners may upload to it and delete from it)",
	}
	for _, add := range []bool{true, false} {
		use, short, verb := "add NAME USER", "Make USER an owner of the generic package NAME", "added"
		if !add {
			use, short, verb = "remove NAME USER", "Remove USER from the owners of NAME (not the last one)", "removed"
		}
		cmd.AddCommand(&cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
					if err := cat.SetGenericOwner(ctx, args[0], args[1], add, cliWho()); err != nil {
						return err
					}
					owners, err := cat.GenericOwners(ctx, pep503.Normalize(args[0]))
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s; owners of %s: %s\n", verb, args[1], pep503.Normalize(args[0]), strings.Join(owners, ", "))
					return err
				})
			},
		})
	}
	return cmd
}

func newGenericListCmd(load loader) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [NAME]",
		Short: "List generic packages, or the versions and files of one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
				out := cmd.OutOrStdout()
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				if len(args) == 0 {
					pkgs, err := cat.GenericPackages(ctx)
					if err != nil {
						return err
					}
					if asJSON {
						return writeJSON(out, map[string]any{"packages": pkgs})
					}
					fmt.Fprintln(tw, "NAME\tLATEST\tVERSIONS\tFILES\tSIZE")
					for _, p := range pkgs {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", p.Name, p.Latest, p.Versions, p.Files, humanBytes(p.Size))
					}
					return tw.Flush()
				}
				g, versions, err := cat.GenericVersions(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(out, map[string]any{"package": g, "versions": versions})
				}
				fmt.Fprintln(tw, "VERSION\tFILENAME\tSIZE\tSHA256\tUPLOADED\tBY")
				for _, v := range versions {
					for _, f := range v.Files {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, f.Filename, humanBytes(f.Size), f.SHA256,
							f.UploadTime.Format("2006-01-02 15:04:05Z"), f.UploadedBy)
					}
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (as GET /api/v1/generic answers)")
	return cmd
}

func newGenericDeleteCmd(load loader) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "delete NAME VERSION [FILE]",
		Short: "Delete a version of a generic package, or one file of it, and their stored bytes",
		Long: `Delete one version of a generic package with all its files, or one file of
it. The catalog rows go first, then the stored bytes unless another file
shares them. The package keeps its name and owners. Each deleted file
writes a "generic-delete" audit entry.`,
		Example: `  pyindex generic delete myapp 1.4.dev7
  pyindex generic delete vendor-dlls 1.4 vendor-dlls-1.4.zip`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := ""
			if len(args) == 3 {
				file = args[2]
			}
			return withAdmin(cmd, load, func(ctx context.Context, a *admin.Service) error {
				d, err := a.DeleteGeneric(ctx, args[0], args[1], file, cliWho())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, admin.GenericDeletedJSON(d))
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tVERSION\tFILENAME\tSIZE")
				for _, f := range d.Files {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Version, f.Filename, humanBytes(f.Size))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "deleted %d files, %s from %s; freed %s of storage\n", len(d.Files), humanBytes(d.Bytes),
					absPath(a.Catalog().Path()), humanBytes(d.Freed))
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newGenericPruneCmd(load loader) *cobra.Command {
	var (
		rules  index.GenericPruneRules
		dryRun bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "prune [--name N] [--keep N] [--older-than D] [--all] [--dry-run] [--json]",
		Short: "Delete old versions of generic packages; works while the server runs",
		Long: `Delete versions of generic packages by rules. A version goes when every
rule given selects it:

  --keep N          it is not among the N newest versions (PEP 440) of its package
  --older-than D    its newest file was uploaded longer ago than D (720h)

Without --all only dev builds (.devN versions) are considered, and releases
and pre-releases stay; with --all every version is, and --keep counts them
all. --dry-run lists exactly what a real run would delete, and deletes
nothing. The same rules run on a schedule from [retention.generic].`,
		Example: `  pyindex generic prune --keep 5 --dry-run
  pyindex generic prune --name myapp --all --keep 10 --older-than 2160h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rules.Validate(); err != nil {
				return err
			}
			return withAdmin(cmd, load, func(ctx context.Context, a *admin.Service) error {
				res, err := a.PruneGeneric(ctx, rules, dryRun, cliWho())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, admin.GenericPruneJSON(res))
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tVERSION\tFILES\tSIZE\tREASONS")
				for _, v := range res.Versions {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", v.Name, v.Version, v.Files, humanBytes(v.Bytes), strings.Join(v.Reasons, ","))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if res.DryRun {
					fmt.Fprintf(out, "dry run: would delete %d versions, %d files, %s\n", len(res.Versions), len(res.Files), humanBytes(res.Bytes))
				} else {
					fmt.Fprintf(out, "deleted %d versions, %d files, %s from %s; freed %s of storage\n", len(res.Versions), len(res.Files),
						humanBytes(res.Bytes), absPath(a.Catalog().Path()), humanBytes(res.Freed))
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&rules.Names, "name", nil, "prune only this generic package (repeatable); default every one")
	f.IntVar(&rules.Keep, "keep", 0, "keep the N newest versions of each package (0: no count rule)")
	f.DurationVar(&rules.OlderThan, "older-than", 0, "delete versions whose newest file is older than this, e.g. 720h (0: no age rule)")
	f.BoolVar(&rules.All, "all", false, "consider every version, releases too (default: dev builds only)")
	f.BoolVar(&dryRun, "dry-run", false, "show what would be deleted, delete nothing")
	f.BoolVar(&asJSON, "json", false, "print JSON (as POST /api/v1/generic/prune answers)")
	return cmd
}
