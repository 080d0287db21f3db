package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/storage"
)

// readyProbeKey is a key no blob ever has (blobs live under "sha256/"):
// /readyz asks the store for it and takes "does not exist" as healthy.
const readyProbeKey = "readyz/probe"

// ready answers /readyz: 200 when the catalog answers a query and the store
// answers a Stat (and, for the filesystem backend, its folder is there), 503
// naming what failed otherwise. Load balancers take a replica out while it
// is not ready.
func (m *Main) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	var failed []string
	if err := m.Catalog.Ping(ctx); err != nil {
		m.Log.Warn("readiness: catalog", "err", err)
		failed = append(failed, "catalog")
	}
	if err := storeReady(ctx, m.Store); err != nil {
		m.Log.Warn("readiness: storage", "err", err)
		failed = append(failed, "storage")
	}
	if len(failed) > 0 {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "not ready: "+strings.Join(failed, ", ")+" unavailable")
	}
	return c.String(http.StatusOK, "ready\n")
}

// storeReady checks that the store answers. A missing probe key is the
// healthy answer; for a store rooted in a local folder, the folder must
// exist too (a missing mount would otherwise look like an empty store).
func storeReady(ctx context.Context, s storage.Store) error {
	if r, ok := storage.As[interface{ Root() string }](s); ok {
		fi, err := os.Stat(r.Root())
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return errors.New(r.Root() + " is not a directory")
		}
	}
	if _, err := s.Stat(ctx, readyProbeKey); err != nil && !errors.Is(err, storage.ErrNotExist) {
		return err
	}
	return nil
}
