package index

import (
	"context"
	"database/sql"
	"testing"

	"github.com/pyindex/pyindex/index/sqlitewatch"
)

// DisableSerialCache makes c query the database for every serial (for
// benchmarks comparing the two).
func DisableSerialCache(c *Catalog) {
	c.serials.close()
	c.serials = nil
}

// SerialChecks returns how many times c's serial cache has run PRAGMA
// data_version, and whether it watches the WAL index's change counter.
func SerialChecks(c *Catalog) (pragmas int64, watching bool) {
	w := c.serials.check.(*sqlitewatch.Watch)
	return w.Pragmas(), w.WatchingWAL()
}

// SerialCached reports whether c's serial cache, brought up to date,
// remembers project's serial ("" the global serial): a lookup of it would
// make no query.
func SerialCached(c *Catalog, project string) bool {
	if err := c.serials.sync(); err != nil {
		return false
	}
	c.serials.mu.Lock()
	defer c.serials.mu.Unlock()
	if project == "" {
		return c.serials.global >= 0
	}
	_, ok := c.serials.projects[project]
	return ok
}

// ChangeLogGap adds a row to the change log a few ids past the last, as
// when rows a reader had not read yet were pruned: it sees a gap.
func ChangeLogGap(t testing.TB, c *Catalog) {
	t.Helper()
	err := c.write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO change_log (id, serial, project, origin, at)
			SELECT MAX(id) + 5, 0, 'b', 0, 0 FROM change_log`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ChangeLogSize returns how many rows the change log has and its last id.
func ChangeLogSize(t testing.TB, c *Catalog) (rows, last int64) {
	t.Helper()
	if err := c.r.QueryRow(`SELECT COUNT(*), COALESCE(MAX(id), 0) FROM change_log`).Scan(&rows, &last); err != nil {
		t.Fatal(err)
	}
	return rows, last
}

// ChangeLogApplied returns the last row of the change log c's serial
// cache has applied, once brought up to date.
func ChangeLogApplied(c *Catalog) int64 {
	c.serials.sync()
	c.serials.mu.Lock()
	defer c.serials.mu.Unlock()
	return c.serials.last
}
