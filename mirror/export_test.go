package mirror

// CatalogReads returns how many catalog reads the page and file paths of m
// have made (the warm paths make none).
func CatalogReads(m *Mirror) int64 { return m.reads.Load() }
