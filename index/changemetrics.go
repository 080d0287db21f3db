package index

import "github.com/prometheus/client_golang/prometheus"

// NewChangeCollector returns the histogram
// pyindex_catalog_change_propagation_seconds of cat: for each change
// committed by another process (a replica, the CLI), the time from its
// commit (the time recorded with it in the change log) to when cat's
// serial cache applied it. On PostgreSQL that is when the notification (or
// the poll) arrived; on SQLite, the first lookup after the commit. Clocks
// of other machines count: a skew shows in it. It returns nil when cat
// has no serial cache.
func NewChangeCollector(cat *Catalog) prometheus.Collector {
	if cat.propagation == nil {
		return nil
	}
	return cat.propagation
}
