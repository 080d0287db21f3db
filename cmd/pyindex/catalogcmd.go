package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
)

func newCatalogCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Catalog tools: copy the catalog to another database",
	}
	var to string
	cp := &cobra.Command{
		Use:   "copy --to postgres://...|sqlite:PATH",
		Short: "Copy the configured catalog into an empty one, SQLite to PostgreSQL or back",
		Long: `Copy every row of the configured catalog (the SQLite file in the data
folder, or the PostgreSQL database of --catalog / [catalog] url) into an
empty catalog: a PostgreSQL database given by URL, or a new SQLite file
given as sqlite:PATH. The source is read in one consistent snapshot, the
target written in one transaction, and each table's row count checked
afterwards. Files are not copied: both catalogs reference the same store.

This is how one machine grows into several replicas on PostgreSQL (stop
the server, copy, start the replicas with the URL) and how a PostgreSQL
catalog is snapshotted into a single file. The target must be empty (a
database just created, or a file that does not exist yet).`,
		Example: `  pyindex catalog copy --data /var/lib/pyindex --to postgres://pyindex@db/pyindex
  pyindex catalog copy --catalog postgres://pyindex@db/pyindex --to sqlite:/backups/catalog.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to is required: a postgres:// URL or sqlite:PATH")
			}
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			return withCatalogDo(cmd, func(*cobra.Command) (Config, error) { return cfg, nil }, func(ctx context.Context, src *index.Catalog) (err error) {
				dst, err := openCopyTarget(ctx, cfg, to)
				if err != nil {
					return err
				}
				defer dst.Close()
				if path, ok := strings.CutPrefix(to, "sqlite:"); ok {
					// A file this command created goes if the copy fails.
					defer func() {
						if err != nil {
							dst.Close()
							for _, p := range []string{path, path + "-wal", path + "-shm"} {
								os.Remove(p)
							}
						}
					}()
				}
				if dst.Path() == src.Path() {
					return errors.New("--to names the catalog being copied")
				}
				counts, err := src.CopyTo(ctx, dst)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TABLE\tROWS")
				for _, c := range counts {
					fmt.Fprintf(tw, "%s\t%d\n", c.Table, c.Rows)
				}
				tw.Flush()
				fmt.Fprintf(out, "copied %s to %s; row counts verified\n", absPath(src.Path()), absPath(dst.Path()))
				return nil
			})
		},
	}
	cp.Flags().StringVar(&to, "to", "", "the empty catalog receiving the copy: postgres://... or sqlite:PATH (required)")
	cmd.AddCommand(cp)
	return cmd
}

// openCopyTarget opens the catalog --to names.
func openCopyTarget(ctx context.Context, cfg Config, to string) (*index.Catalog, error) {
	if path, ok := strings.CutPrefix(to, "sqlite:"); ok {
		if path == "" {
			return nil, errors.New("--to sqlite:PATH needs a path")
		}
		if _, err := os.Stat(path); err == nil {
			return nil, fmt.Errorf("--to %s: the file exists; copy into a new file", to)
		}
		return index.Open(ctx, path)
	}
	if !index.IsPostgresURL(to) {
		return nil, fmt.Errorf("--to %q: want a postgres:// URL or sqlite:PATH", to)
	}
	c := cfg.Catalog
	c.URL = to
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return index.OpenPostgres(ctx, c)
}
