package index

import "github.com/pyindex/pyindex/index/sqlitewatch"

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
