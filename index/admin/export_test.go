package admin

import "github.com/prometheus/client_golang/prometheus"

// FreedCounter returns r's counter pyindex_retention_bytes_freed_total.
func FreedCounter(r *Retention) prometheus.Counter { return r.freed }
