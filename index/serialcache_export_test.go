package index

// DisableSerialCache makes c query the database for every serial (for
// benchmarks comparing the two).
func DisableSerialCache(c *Catalog) {
	c.serials.close()
	c.serials = nil
}

// SerialChecks returns how many times c's serial cache has run PRAGMA
// data_version, and whether it watches the WAL index's change counter.
func SerialChecks(c *Catalog) (pragmas int64, watching bool) {
	return c.serials.check.Pragmas(), c.serials.check.WatchingWAL()
}
