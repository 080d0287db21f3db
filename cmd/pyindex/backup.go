package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index/admin"
)

func newBackupCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "backup OUT",
		Short: "Take a consistent copy of the catalog and files while the server runs",
		Long: `Write a consistent online backup to OUT: a new (or empty) folder, or a
file whose name ends in .tar. The catalog is copied from one snapshot with
SQLite's VACUUM INTO, so uploads go on meanwhile. With the filesystem
backend, the files that snapshot references are copied too (hard-linked
when OUT is on the same filesystem: blobs never change once written).

With the s3 backend only the catalog is copied: back the bucket up by the
store's own means (versioning, replication, snapshots), and take the
catalog backup after the bucket's, or keep deleted objects long enough,
so that every file the catalog lists is in the bucket backup.

A backup folder is laid out like a data folder. Put it back with
pyindex restore.`,
		Example: `  pyindex backup /backups/pyindex-$(date +%F)
  pyindex backup /backups/pyindex-$(date +%F).tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			return backup(cmd.Context(), cfg, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

func newRestoreCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore IN --data DIR",
		Short: "Put a backup (folder or .tar) back into an empty data folder",
		Long: `Restore the backup IN (a folder or a .tar file written by pyindex backup)
into the data folder: the catalog, and the backup's files into the
configured store. The data folder must be empty (or absent) unless --force
is given, which replaces its catalog and adds the files. Stop the server
first. A catalog from an older pyindex is migrated when the server starts;
one from a newer pyindex is refused.`,
		Example: `  pyindex restore /backups/pyindex-2026-01-31.tar --data /var/lib/pyindex`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			return restore(cmd.Context(), cfg, args[0], force, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "restore into a data folder that is not empty, replacing its catalog")
	return cmd
}

// backup writes the backup of the server configured by cfg to out.
func backup(ctx context.Context, cfg Config, out string, stdout, stderr io.Writer) error {
	if _, err := os.Stat(catalogPath(cfg)); err != nil && cfg.Catalog.URL == "" {
		return fmt.Errorf("no catalog to back up: %w", err)
	}
	if err := admin.CheckBackupTarget(out); err != nil {
		return err
	}
	cat, store, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	res, err := admin.Backup(ctx, admin.BackupConfig{Out: out, Version: Version(), Backend: cfg.Storage.Backend}, cat, store)
	if err != nil {
		return err
	}

	man := res.Manifest
	fmt.Fprintf(stdout, "backup %s: catalog at serial %d (%d projects, %d files)", out, man.Serial, man.Projects, man.Files)
	if res.FilesCopied {
		fmt.Fprintf(stdout, ", %d blobs (%s", man.Blobs, humanBytes(res.Bytes))
		if res.Linked > 0 {
			fmt.Fprintf(stdout, ", %d hard-linked", res.Linked)
		}
		fmt.Fprint(stdout, ")")
	}
	fmt.Fprintln(stdout)
	if !res.FilesCopied {
		fmt.Fprintf(stderr, "storage backend %s: files are not copied; back the bucket up by its own means (versioning, replication)\n", cfg.Storage.Backend)
	}
	if res.Deleted > 0 {
		fmt.Fprintf(stderr, "note: %d files were deleted while the backup ran; the backup lists them without content\n", res.Deleted)
	}
	if len(res.Missing) > 0 {
		return fmt.Errorf("%d blobs the catalog references are missing from the store (first: %s); the backup lacks them: run pyindex fsck", len(res.Missing), res.Missing[0])
	}
	return nil
}

// restore puts the backup in into the data folder of cfg.
func restore(ctx context.Context, cfg Config, in string, force bool, stdout, stderr io.Writer) error {
	if cfg.Catalog.URL != "" {
		return fmt.Errorf("restore writes a SQLite catalog into a data folder; for a PostgreSQL catalog, restore into a data folder without --catalog, then copy it with pyindex catalog copy --data FOLDER --to %s", cfg.Catalog.URL)
	}
	if err := admin.CheckRestoreTarget(in, force, cfg.Data, filesPath(cfg)); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return err
	}
	unlock, err := lockData(cfg.Data, true)
	if errors.Is(err, errDataInUse) {
		return fmt.Errorf("a pyindex server is running on %s: stop it before restoring (it keeps the catalog being replaced open)", absPath(cfg.Data))
	}
	if err != nil {
		return err
	}
	defer unlock()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	res, err := admin.Restore(ctx, admin.RestoreConfig{In: in, CatalogPath: catalogPath(cfg)}, store, func(name string) {
		fmt.Fprintf(stderr, "ignoring %s\n", name)
	})
	if err != nil {
		return err
	}
	// Open it as the server will: this applies the migrations of a newer
	// pyindex and refuses a catalog from a newer one.
	cat, err := openCatalog(ctx, cfg)
	if err != nil {
		return fmt.Errorf("the restored catalog: %w", err)
	}
	defer cat.Close()
	stats, err := cat.Stats(ctx)
	if err != nil {
		return err
	}
	missing, err := admin.MissingBlobs(ctx, cat, store)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s: catalog at serial %d (%d projects, %d files), %d blobs (%s)\n",
		in, cfg.Data, stats.Serial, stats.Projects, stats.Files, res.Blobs, humanBytes(res.Bytes))
	fmt.Fprintf(stdout, "backup taken %s by pyindex %s\n", res.Manifest.Created.Format(time.RFC3339), res.Manifest.Version)
	if missing > 0 {
		fmt.Fprintf(stderr, "warning: %d files the catalog lists are not in the %s store", missing, cfg.Storage.Backend)
		if cfg.Storage.Backend != "fs" {
			fmt.Fprint(stderr, " (restore the bucket from its own backup)")
		}
		fmt.Fprintln(stderr, "; pyindex fsck lists them")
	}
	return nil
}
