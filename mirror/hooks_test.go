package mirror

// CatalogReads returns how many catalog reads the page path of m has made
// (the warm path makes none).
func CatalogReads(m *Mirror) int64 { return m.reads.Load() }
