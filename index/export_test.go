package index

import "time"

// SetNow replaces the catalog's clock, so that upload times (and therefore
// golden pages) are deterministic.
func SetNow(c *Catalog, now func() time.Time) { c.now = now }

// Renderers, exported for the benchmarks.
var (
	RenderProjectJSON = renderProjectJSON
	RenderProjectHTML = renderProjectHTML
)
