package mirror

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/pyindex/pyindex/storage"
)

// Label values. Labels are bounded: never a project or file name.
const (
	kindPage     = "page"
	kindFile     = "file"
	kindMetadata = "metadata"

	resultHit      = "hit"      // served from the cache, fresh (files: always)
	resultMiss     = "miss"     // fetched from the upstream
	resultStale    = "stale"    // the upstream failed; the cached copy was served
	resultNegative = "negative" // a remembered upstream 404
	resultOffline  = "offline"  // offline and not cached
)

type metrics struct {
	lookups  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	bytes    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "mirror", Name: "cache_lookups_total",
			Help: "Mirror cache lookups by kind (page, file, metadata) and result (hit, miss, stale, negative, offline).",
		}, []string{"kind", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "pyindex", Subsystem: "mirror", Name: "upstream_request_duration_seconds",
			Help:    "Upstream requests until the response headers, by kind and status (200, 304, 404, 4xx, 5xx, error).",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 10),
		}, []string{"kind", "status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "mirror", Name: "upstream_errors_total",
			Help: "Upstream failures by kind and reason (unreachable, timeout, status, invalid, hash_mismatch, store).",
		}, []string{"kind", "reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "mirror", Name: "upstream_bytes_total",
			Help: "Bytes of files and metadata downloaded from the upstream.",
		}, []string{"kind"}),
	}
	m.lookups = storage.Register(reg, m.lookups)
	m.duration = storage.Register(reg, m.duration)
	m.errors = storage.Register(reg, m.errors)
	m.bytes = storage.Register(reg, m.bytes)
	return m
}

func (m *metrics) lookup(kind, result string) { m.lookups.WithLabelValues(kind, result).Inc() }

func (m *metrics) upstream(kind, status string, start time.Time) {
	m.duration.WithLabelValues(kind, status).Observe(time.Since(start).Seconds())
}

func (m *metrics) upstreamError(kind, reason string) { m.errors.WithLabelValues(kind, reason).Inc() }
