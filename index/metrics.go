package index

import "github.com/prometheus/client_golang/prometheus"

// poolCollector reports the catalog's connection pool and change
// notifications, read at scrape time.
type poolCollector struct {
	cat                         *Catalog
	conns, max, waits, waitSecs *prometheus.Desc
	notifications, connectFails *prometheus.Desc
}

// NewPoolCollector returns a collector of cat's pool: connections in use
// and idle, the pool's bound, waits for a connection, and (PostgreSQL)
// change notifications received and failed connection attempts; and of
// cat's operations: their latency by family and the database's failures
// by kind (opmetrics.go). On SQLite the pool is the read pool.
func NewPoolCollector(cat *Catalog) prometheus.Collector {
	engine := prometheus.Labels{"engine": cat.Engine()}
	return &poolCollector{
		cat: cat,
		conns: prometheus.NewDesc("pyindex_catalog_connections", "Catalog database connections by state (in_use, idle).",
			[]string{"state"}, engine),
		max: prometheus.NewDesc("pyindex_catalog_connections_max", "Most catalog database connections the pool opens.", nil, engine),
		waits: prometheus.NewDesc("pyindex_catalog_connection_waits_total", "Times a catalog operation waited for a free connection.",
			nil, engine),
		waitSecs: prometheus.NewDesc("pyindex_catalog_connection_wait_seconds_total", "Time catalog operations waited for a free connection.",
			nil, engine),
		notifications: prometheus.NewDesc("pyindex_catalog_change_notifications_total",
			"Change notifications received from PostgreSQL (other replicas' and this one's commits).", nil, engine),
		connectFails: prometheus.NewDesc("pyindex_catalog_connect_failures_total",
			"Attempts to open a PostgreSQL connection for the pools that failed (the server down or unreachable).", nil, engine),
	}
}

// Describe implements prometheus.Collector.
func (pc *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pc.conns, pc.max, pc.waits, pc.waitSecs, pc.notifications, pc.connectFails} {
		ch <- d
	}
	pc.cat.ops.describe(ch)
}

// Collect implements prometheus.Collector.
func (pc *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := pc.cat.PoolStats()
	ch <- prometheus.MustNewConstMetric(pc.conns, prometheus.GaugeValue, float64(s.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(pc.conns, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(pc.max, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(pc.waits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(pc.waitSecs, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(pc.notifications, prometheus.CounterValue, float64(pc.cat.NotificationsReceived()))
	var fails int64
	if pc.cat.conns != nil {
		fails = pc.cat.conns.fails.Load()
	}
	ch <- prometheus.MustNewConstMetric(pc.connectFails, prometheus.CounterValue, float64(fails))
	pc.cat.ops.collect(ch)
}
