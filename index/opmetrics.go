package index

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// catalogOp is a family of catalog operations, the op label of
// pyindex_catalog_operation_seconds. The families are few and fixed; what
// a request costs in the hot path (a serial, a page or a file row that the
// caches already hold) is no operation at all and is not timed.
type catalogOp int

const (
	opRead   catalogOp = iota // read transactions: pages, the JSON API, listings, admin views
	opWrite                   // write transactions: uploads, yanks, deletes, users, tokens, ...
	opSerial                  // serial lookups the serial cache could not answer
	opFile                    // file row lookups (downloads) the file cache could not answer
	opAuth                    // token and user lookups of an authentication
	opPing                    // readiness checks (/readyz)
	numOps
)

var opNames = [numOps]string{"read", "write", "serial", "file", "auth", "ping"}

// Error kinds counted by pyindex_catalog_errors_total: the failures of
// the database itself, not the answers (not found, exists, ...) it gives.
const (
	errKindUnavailable = iota
	errKindBusy
	errKindFull
	numErrKinds
)

var errKindNames = [numErrKinds]string{"unavailable", "busy", "full"}

// opMetrics are a catalog's operation metrics. The observers are made
// once, so that timing an operation hashes no label values.
type opMetrics struct {
	seconds  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	observer [numOps]prometheus.Observer
	counter  [numErrKinds]prometheus.Counter
}

func newOpMetrics(engine string) *opMetrics {
	labels := prometheus.Labels{"engine": engine}
	m := &opMetrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "pyindex", Subsystem: "catalog", Name: "operation_seconds",
			Help: "Catalog operations that reach the database, by family (read and write transactions, serial, file and auth lookups the caches could not answer, readiness pings).",
			// 100µs (a SQLite lookup) to ~30s (the statement timeout).
			Buckets:     prometheus.ExponentialBuckets(0.0001, 3, 12),
			ConstLabels: labels,
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "catalog", Name: "errors_total",
			Help:        "Catalog operations that failed because of the database: unavailable (PostgreSQL unreachable, restarting, failing over), busy (a lock or statement timeout), full (no disk space).",
			ConstLabels: labels,
		}, []string{"kind"}),
	}
	for op, name := range opNames {
		m.observer[op] = m.seconds.WithLabelValues(name)
	}
	for k, name := range errKindNames {
		m.counter[k] = m.errors.WithLabelValues(name)
	}
	return m
}

// since records one operation of family op that started at start and
// ended with *err. It is meant to be deferred:
//
//	defer c.ops.since(opRead, time.Now(), &err)
func (m *opMetrics) since(op catalogOp, start time.Time, err *error) {
	if m == nil {
		return
	}
	m.observer[op].Observe(time.Since(start).Seconds())
	if *err == nil {
		return
	}
	switch {
	case errors.Is(*err, ErrUnavailable):
		m.counter[errKindUnavailable].Inc()
	case errors.Is(*err, ErrBusy):
		m.counter[errKindBusy].Inc()
	case errors.Is(*err, ErrFull):
		m.counter[errKindFull].Inc()
	}
}

func (m *opMetrics) describe(ch chan<- *prometheus.Desc) {
	if m != nil {
		m.seconds.Describe(ch)
		m.errors.Describe(ch)
	}
}

func (m *opMetrics) collect(ch chan<- prometheus.Metric) {
	if m != nil {
		m.seconds.Collect(ch)
		m.errors.Collect(ch)
	}
}
