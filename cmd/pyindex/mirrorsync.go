package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep508"
	"github.com/pyindex/pyindex/mirror"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
	"github.com/pyindex/pyindex/storage"
)

// errFailures makes a command exit with status 1 after it printed its own
// report (main prints the error too: keep it short).
var errFailures = errors.New("some files or projects failed (see above)")

// newMirrorCmd returns the "mirror" command group: sync, export, import.
func newMirrorCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "Prefetch public projects into the mirror's cache, and carry them across an air gap",
	}
	cmd.AddCommand(newMirrorSyncCmd(load), newMirrorExportCmd(load), newMirrorImportCmd(load))
	return cmd
}

func newMirrorSyncCmd(load loader) *cobra.Command {
	var (
		reqFiles, consFiles []string
		f                   mirrorsync.Filter
		maxSize             string
		deps, asJSON, dry   bool
		jobs                int
	)
	cmd := &cobra.Command{
		Use:   "sync [REQUIREMENT...] [-r requirements.txt]...",
		Short: "Fetch projects (and their dependencies) from the upstream into the cache",
		Long: `Fetch the files of the given projects from the upstream into the mirror's
cache, exactly as the pull-through cache stores them (verified against the
upstream's hashes, with their PEP 658 metadata), so that they install with
the upstream gone (mirror.offline = true), here or, after pyindex mirror
export/import, on an air-gapped instance.

Projects are PEP 508 requirements: "requests", "django>=4.2,<5",
"uvicorn[standard]", with an optional marker. -r reads a pip requirements
file (comments, -r includes and -c constraints relative to it; editables
and URLs are refused). Filters combine: a file is fetched when it passes
them all. --latest N keeps the N newest final releases (and the newer
pre-releases unless --no-prerelease); --python and --platform keep what
suits one of the given CPython versions and wheel platforms (manylinux and
macOS tags by libc / OS version; "any" wheels and sdists always suit a
platform). --deps follows Requires-Dist transitively, with markers
evaluated for the chosen Pythons and platforms (unknown when none is
given: kept) and the requested extras.

Files already stored are skipped, so a second run fetches only what is new
and an interrupted run continues where it stopped. It works while the
server runs (same data folder) or without it. The exit status is 1 when
any file or project failed.`,
		Example: `  pyindex mirror sync requests 'django>=4.2,<5' --deps
  pyindex mirror sync -r requirements.txt --deps --python 3.11 --python 3.12 \
      --platform manylinux_2_17_x86_64 --only-binary --latest 1
  pyindex mirror sync numpy --latest 3 --no-prerelease --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			if maxSize != "" {
				sz, err := storage.ParseSize(maxSize)
				if err != nil {
					return fmt.Errorf("--max-file-size: %w", err)
				}
				f.MaxFileSize = sz
			}
			opts := mirrorsync.Options{Filter: f, Deps: deps, Jobs: jobs, Actor: cliActor(), DryRun: dry}
			if dry {
				opts.Actor = "" // nothing fetched: nothing to audit
			}
			for _, a := range args {
				r, err := pep508.ParseRequirement(a)
				if err != nil {
					return err
				}
				opts.Requirements = append(opts.Requirements, r)
			}
			// A -c file's requirements only constrain; its own -c lines too.
			for i, path := range append(slices.Clone(reqFiles), consFiles...) {
				rf, err := mirrorsync.ParseRequirementsFile(path)
				if err != nil {
					return err
				}
				if i < len(reqFiles) {
					opts.Requirements = append(opts.Requirements, rf.Requirements...)
				} else {
					opts.Constraints = append(opts.Constraints, rf.Requirements...)
				}
				opts.Constraints = append(opts.Constraints, rf.Constraints...)
			}
			if len(opts.Requirements) == 0 {
				return errors.New("nothing to sync: name projects or give -r requirements.txt")
			}
			return withMirror(cmd, cfg, func(ctx context.Context, deps mirrorsync.Deps) error {
				bar := newSyncProgress(cmd.ErrOrStderr(), asJSON)
				opts.Progress = bar.event
				rep, err := mirrorsync.Run(ctx, deps, opts)
				bar.finish()
				if rep != nil {
					if perr := printSyncReport(cmd.OutOrStdout(), rep, asJSON, dry); perr != nil {
						return perr
					}
					if !asJSON && !dry {
						fmt.Fprintf(cmd.OutOrStdout(), "catalog: %s\n", absPath(deps.Catalog.Path()))
					}
				}
				if errors.Is(err, context.Canceled) {
					return errors.New("interrupted: run the same command again to continue (what was fetched is kept)")
				}
				if err != nil {
					return err
				}
				if !rep.OK() {
					return errFailures
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&reqFiles, "requirement", "r", nil, "sync the requirements of a pip requirements file (repeatable)")
	fl.StringArrayVarP(&consFiles, "constraint", "c", nil, "constrain versions with a pip constraints file (repeatable)")
	fl.IntVar(&f.Latest, "latest", 0, "keep only the N newest final releases of each project (0: all)")
	fl.StringArrayVar(&f.Pythons, "python", nil, "CPython version the files must suit, e.g. 3.11 (repeatable)")
	fl.StringArrayVar(&f.Platforms, "platform", nil, "wheel platform tag the files must suit, e.g. manylinux_2_17_x86_64, win_amd64, macosx_11_0_arm64 (repeatable)")
	fl.BoolVar(&f.OnlyBinary, "only-binary", false, "skip sdists")
	fl.BoolVar(&f.OnlyBinary, "no-sdist", false, "skip sdists (same as --only-binary)")
	fl.BoolVar(&f.NoPrerelease, "no-prerelease", false, "skip pre-releases unless a requirement names one")
	fl.StringVar(&maxSize, "max-file-size", "", "skip files larger than this, e.g. 200MiB")
	fl.BoolVar(&deps, "deps", false, "follow dependencies (Requires-Dist) transitively")
	fl.IntVarP(&jobs, "jobs", "j", 4, "parallel downloads")
	fl.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	fl.BoolVar(&dry, "dry-run", false, "select and report, download no distribution file (pages and PEP 658 metadata are fetched)")
	fl.String("upstream", "", "simple-API URL of the upstream index; env PYINDEX_MIRROR_UPSTREAM, config mirror.upstream")
	fl.String("upstream-changed", mirror.UpstreamChangedRefuse, upstreamChangedUsage)
	return cmd
}

// upstreamChangedUsage documents --upstream-changed (serve, mirror sync).
const upstreamChangedUsage = "when the cached pages come from another upstream than this run's: refuse, keep them (each refreshed from the new upstream when next asked for) or drop them; env PYINDEX_MIRROR_UPSTREAM_CHANGED, config mirror.upstream_changed"

// withMirror opens the catalog and store of cfg and a mirror of its
// upstream, runs fn with them and closes them. It logs warnings to stderr.
func withMirror(cmd *cobra.Command, cfg Config, fn func(context.Context, mirrorsync.Deps) error) error {
	if strings.TrimSpace(cfg.Mirror.Upstream) == "" {
		return errors.New("no upstream to sync from: set mirror.upstream or pass --upstream URL")
	}
	ctx := cmd.Context()
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	cfg.mayCreate = true // a sync fills a new data folder, as serve, restore and import do
	cat, store, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelError}))
	m, err := mirror.New(cfg.Mirror.Config, mirror.Deps{Catalog: cat, Store: store, Log: log, BaseURL: cfg.Index.BaseURL})
	if err != nil {
		return err
	}
	defer m.Close() // before the catalog: an interrupted sync's downloads end first
	// The same upstream as the cached pages' (the server's), or told what
	// to do with them.
	note, err := m.CheckUpstream(ctx, cliActor())
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", note)
	}
	return fn(ctx, mirrorsync.Deps{Mirror: m, Catalog: cat, Store: store, Log: log})
}

// syncProgress draws a progress bar on a terminal (files done of files
// selected so far; the total grows as dependencies are found).
type syncProgress struct {
	bar     *progressbar.ProgressBar
	planned int
}

func newSyncProgress(w io.Writer, quiet bool) *syncProgress {
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return &syncProgress{}
	}
	return &syncProgress{bar: progressbar.NewOptions(1,
		progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("syncing"),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(false))}
}

func (p *syncProgress) event(e mirrorsync.Event) {
	if p.bar == nil {
		return
	}
	if e.Kind == mirrorsync.EventPlanned {
		p.planned++
		p.bar.ChangeMax(p.planned)
		return
	}
	p.bar.Describe(e.Filename)
	p.bar.Add(1)
}

func (p *syncProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// printSyncReport prints the summary (and, in JSON, every file).
func printSyncReport(w io.Writer, rep *mirrorsync.Report, asJSON, dry bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if len(rep.Failures) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FAILED\tFILE\tERROR")
		for _, f := range rep.Failures {
			file := f.Filename
			if file == "" {
				file = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Project, file, f.Error)
		}
		tw.Flush()
	}
	if dry {
		fmt.Fprintf(w, "dry run: %d projects, %d files: %d to fetch (%s), %d already here; %d failures in %s\n",
			len(rep.Projects), len(rep.Files), rep.Missing, missingSize(rep), rep.Present,
			len(rep.Failures), rep.Duration.Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(w, "%d projects, %d files: %d fetched (%s), %d already here, %d failed; %d failures in %s\n",
		len(rep.Projects), len(rep.Files), rep.Fetched, humanBytes(rep.Bytes), rep.Present, rep.Failed,
		len(rep.Failures), rep.Duration.Round(time.Millisecond))
	return nil
}

// missingSize says how much a dry run would fetch, never claiming a size
// the upstream did not give: "12 MiB", "12 MiB and 3 files of unknown
// size", "7 files of unknown size".
func missingSize(rep *mirrorsync.Report) string {
	switch n := rep.MissingUnknown; {
	case n == 0:
		return humanBytes(rep.MissingBytes)
	case n == rep.Missing:
		return plural(n, "file") + " of unknown size"
	default:
		return humanBytes(rep.MissingBytes) + " and " + plural(n, "file") + " of unknown size"
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func newMirrorExportCmd(load loader) *cobra.Command {
	var (
		since  int64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "export OUT.tar [--since SERIAL]",
		Short: "Write the cached projects (pages, files, metadata) to a tar for another instance",
		Long: `Write the mirror's cached projects to OUT.tar ("-": standard output): their
pages as the upstream gave them, with the files whose bytes are cached, those
bytes and their PEP 658 metadata, and a manifest. Load it on another
instance with pyindex mirror import. Works while the server runs.

The summary names the catalog serial of this export: pass it to --since
next time to write only the projects that changed or cached files since.`,
		Example: `  pyindex mirror export /media/usb/pyindex-$(date +%F).tar
  pyindex mirror export /media/usb/delta.tar --since 1234`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDataDo(cmd, load, func(ctx context.Context, _ Config, cat *index.Catalog, store storage.Store) error {
				var w io.Writer = cmd.OutOrStdout()
				var tmp *os.File
				out := args[0]
				if out != "-" {
					// Written under a temporary name, renamed when complete: a
					// half-written archive never looks finished.
					var err error
					tmp, err = os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
					if err != nil {
						return err
					}
					defer os.Remove(tmp.Name())
					defer tmp.Close()
					w = tmp
				}
				rep, err := mirrorsync.Export(ctx, cat, store, w, since, cliActor())
				if err != nil {
					return err
				}
				if tmp != nil {
					if err := tmp.Sync(); err != nil {
						return err
					}
					if err := tmp.Close(); err != nil {
						return err
					}
					if err := os.Rename(tmp.Name(), out); err != nil {
						return err
					}
				}
				report := cmd.OutOrStdout()
				if out == "-" {
					report = cmd.ErrOrStderr()
				}
				return printExportReport(report, rep, asJSON, "exported")
			})
		},
	}
	cmd.Flags().Int64Var(&since, "since", 0, "only projects changed since the export that reported this serial")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func newMirrorImportCmd(load loader) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import IN.tar",
		Short: "Load an export of another instance's cache, verifying every file",
		Long: `Load IN.tar ("-": standard input), written by pyindex mirror export, into
this instance: every file is checked against its sha256 before any page is
recorded (a mismatch stops the import and records nothing), then the
projects are served as mirrored projects, also with mirror.offline = true
and no upstream. Files this instance had cached stay. Works while the
server runs.`,
		Example: `  pyindex mirror import /media/usb/pyindex-2026-11-25.tar`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
				return fmt.Errorf("data folder: %w", err)
			}
			var r io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			cfg.mayCreate = true // an import fills a new data folder
			cat, store, err := openData(ctx, cfg)
			if err != nil {
				return err
			}
			defer cat.Close()
			rep, err := mirrorsync.Import(ctx, cat, store, r, cliActor())
			if err != nil {
				return err
			}
			if err := printExportReport(cmd.OutOrStdout(), rep, asJSON, "imported"); err != nil || asJSON {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "catalog: %s\n", absPath(cat.Path()))
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func printExportReport(w io.Writer, rep *mirrorsync.ExportReport, asJSON bool, verb string) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintf(w, "%s %d projects, %d files", verb, rep.Projects, rep.Files)
	if rep.Generic > 0 {
		fmt.Fprintf(w, ", %d generic files", rep.Generic)
	}
	fmt.Fprintf(w, " (%d blobs, %s", rep.Blobs, humanBytes(rep.Bytes))
	if verb == "imported" {
		fmt.Fprintf(w, "; %d already here", rep.Present)
	}
	fmt.Fprintln(w, ")")
	if verb == "exported" {
		fmt.Fprintf(w, "serial %d: next time, pyindex mirror export --since %d\n", rep.Serial, rep.Serial)
	}
	return nil
}
