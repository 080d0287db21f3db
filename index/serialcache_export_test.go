package index

// DisableSerialCache makes c query the database for every serial (for
// benchmarks comparing the two).
func DisableSerialCache(c *Catalog) {
	c.serials.close()
	c.serials = nil
}
