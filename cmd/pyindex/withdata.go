package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// loader loads the configuration for a command (flags, env, file).
type loader func(*cobra.Command) (Config, error)

// withCatalogDo opens the catalog of the loaded configuration, runs fn and
// closes it. CLI commands use it while the server may be running: SQLite
// in WAL mode allows that.
func withCatalogDo(cmd *cobra.Command, load loader, fn func(context.Context, *index.Catalog) error) error {
	cfg, err := load(cmd)
	if err != nil {
		return err
	}
	cat, err := openCatalog(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	return fn(cmd.Context(), cat)
}

// withDataDo opens the catalog and the blob store of the loaded
// configuration, runs fn and closes the catalog, for commands that need
// both (fsck, mirror export).
func withDataDo(cmd *cobra.Command, load loader, fn func(context.Context, Config, *index.Catalog, storage.Store) error) error {
	cfg, err := load(cmd)
	if err != nil {
		return err
	}
	cat, store, err := openData(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	return fn(cmd.Context(), cfg, cat, store)
}
