package index

// DisableSerialCache makes c query the database for every serial (for
// benchmarks comparing the two).
func DisableSerialCache(c *Catalog) {
	c.serials.close()
	c.serials = nil
}

// Renders returns how many pages have been rendered so far.
func Renders() int64 { return renders.Load() }
