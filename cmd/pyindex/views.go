package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
)

// list, show and audit read what the admin API reads, through the same
// admin.Views; --json prints the API's JSON for the same question.

// withViews opens the catalog and runs fn with admin.Views over it.
func withViews(cmd *cobra.Command, load loader, fn func(context.Context, *admin.Views) error) error {
	return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
		v, err := admin.NewViews(admin.Deps{Catalog: cat})
		if err != nil {
			return err
		}
		return fn(ctx, v)
	})
}

// checkLimit refuses a --limit the API would refuse.
func checkLimit(cmd *cobra.Command, n int) error {
	if cmd.Flags().Changed("limit") && n < 1 {
		return errors.New("--limit must be a positive integer")
	}
	return nil
}

const timeFormat = "2006-01-02 15:04Z"

func newListCmd(load loader) *cobra.Command {
	var q index.ProjectQuery
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--query TEXT] [--limit N] [--cursor C] [--json]",
		Short: "List the hosted projects, a page at a time (GET /api/v1/projects)",
		Long: `List the hosted projects sorted by name, with their release and file
counts, size and last upload. --query keeps the projects whose normalized
name contains TEXT (the API's q); --limit sets the page size (default 100,
at most 1000). When there are more, the cursor of the next page is printed
on standard error: pass it to --cursor.`,
		Example: `  pyindex list
  pyindex list --query acme --limit 20
  pyindex list --json | jq -r '.projects[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(cmd, q.Limit); err != nil {
				return err
			}
			return withViews(cmd, load, func(ctx context.Context, v *admin.Views) error {
				l, err := v.Projects(ctx, q)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, l)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tRELEASES\tFILES\tSIZE\tLAST UPLOAD")
				for _, p := range l.Projects {
					last := "-"
					if p.LastUpload != nil {
						last = p.LastUpload.Format(timeFormat)
					}
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", p.Name, p.Releases, p.Files, humanBytes(p.Size), last)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if l.Next != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "more projects: pyindex list --cursor %s\n", *l.Next)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Q, "query", "", "only projects whose name contains this (the API's q)")
	f.IntVar(&q.Limit, "limit", 0, "projects per page (default 100, at most 1000)")
	f.StringVar(&q.Cursor, "cursor", "", "start after the previous page (the cursor it printed)")
	f.BoolVar(&asJSON, "json", false, "print JSON (as GET /api/v1/projects answers)")
	return cmd
}

func newShowCmd(load loader) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show PROJECT [VERSION] [--json]",
		Short: "Show a project's owners, releases and files, or one release (yanked ones marked)",
		Long: `Show a project: its owners and every release, newest first, with its
files (GET /api/v1/projects/NAME). With VERSION, only that release
(GET /api/v1/projects/NAME/releases/VERSION). Yanked releases are marked
with their reason.`,
		Example: `  pyindex show acme-util
  pyindex show acme-util 1.2.0 --json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withViews(cmd, load, func(ctx context.Context, v *admin.Views) error {
				out := cmd.OutOrStdout()
				if len(args) == 2 {
					r, err := v.Release(ctx, args[0], args[1])
					if err != nil {
						return err
					}
					if asJSON {
						return writeJSON(out, r)
					}
					fmt.Fprintf(out, "%s %s%s, created %s\n\n", r.Project, r.Version, yankedMark(r.ReleaseInfo), r.Created.Format(timeFormat))
					return printReleases(out, []admin.ReleaseInfo{r.ReleaseInfo})
				}
				p, err := v.Project(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(out, p)
				}
				title := p.Name
				if p.DisplayName != p.Name {
					title += " (" + p.DisplayName + ")"
				}
				fmt.Fprintf(out, "%s, last serial %d\n%s\n\n", title, p.LastSerial, describeOwners(p.Owners))
				if len(p.Releases) == 0 {
					_, err := fmt.Fprintln(out, "no releases")
					return err
				}
				return printReleases(out, p.Releases)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (as the API answers)")
	return cmd
}

// yankedMark is " (yanked: REASON)" for a yanked release, "" otherwise.
func yankedMark(r admin.ReleaseInfo) string {
	switch {
	case !r.Yanked:
		return ""
	case r.YankedReason == "":
		return " (yanked)"
	}
	return " (yanked: " + r.YankedReason + ")"
}

// printReleases prints one line a file, its release's version first
// (marked "yanked" when it is).
func printReleases(w io.Writer, rels []admin.ReleaseInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tYANKED\tFILENAME\tSIZE\tUPLOADED\tBY")
	for _, r := range rels {
		yanked := "-"
		if r.Yanked {
			yanked = "yanked"
		}
		if len(r.Files) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t(no files)\t\t\t\n", r.Version, yanked)
		}
		for _, f := range r.Files {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Version, yanked, f.Filename, humanBytes(f.Size), f.UploadTime.Format(timeFormat), f.UploadedBy)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rels {
		if r.Yanked && r.YankedReason != "" {
			fmt.Fprintf(w, "%s is yanked: %s\n", r.Version, r.YankedReason)
		}
	}
	return nil
}

func newAuditCmd(load loader) *cobra.Command {
	var q index.AuditQuery
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--project P] [--actor A] [--action X] [--limit N] [--json]",
		Short: "Show the audit log, newest first (GET /api/v1/audit)",
		Long: `Show who changed what, newest first: uploads, yanks, deletes, prunes,
users, tokens and owners. The filters are the API's: --project (any
spelling), --actor (a user, or cli:NAME for this command line), --action
(upload, yank, delete, user add, owner add, ...); --limit defaults to 100,
at most 1000.`,
		Example: `  pyindex audit --project acme-util
  pyindex audit --action "owner add" --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(cmd, q.Limit); err != nil {
				return err
			}
			return withViews(cmd, load, func(ctx context.Context, v *admin.Views) error {
				l, err := v.Audit(ctx, q)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return writeJSON(out, l)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "AT\tACTOR\tACTION\tPROJECT\tVERSION\tFILENAME\tDETAIL")
				for _, e := range l.Events {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Actor, e.Action,
						dash(e.Project), dash(e.Version), dash(e.Filename), e.Detail)
				}
				return tw.Flush()
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Project, "project", "", "only events of this project")
	f.StringVar(&q.Actor, "actor", "", "only events by this actor")
	f.StringVar(&q.Action, "action", "", "only events of this action")
	f.IntVar(&q.Limit, "limit", 0, "at most this many events (default 100, at most 1000)")
	f.BoolVar(&asJSON, "json", false, "print JSON (as GET /api/v1/audit answers)")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
