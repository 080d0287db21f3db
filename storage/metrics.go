package storage

import (
	"context"
	"errors"
	"io"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operation label values of the storage metrics.
const (
	OpPut     = "put"
	OpOpen    = "open"
	OpStat    = "stat"
	OpDelete  = "delete"
	OpList    = "list"
	OpPresign = "presign"
)

var ops = []string{OpPut, OpOpen, OpStat, OpDelete, OpList}

type metrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "pyindex",
			Subsystem: "storage",
			Name:      "operation_duration_seconds",
			Help:      "Duration of blob store operations (for open: until the reader is ready; for list: the whole walk).",
			// 0.5ms (a local stat) to ~2min (a large upload to S3).
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"backend", "op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex",
			Subsystem: "storage",
			Name:      "errors_total",
			Help:      "Blob store operations that failed, not counting ErrNotExist and cancelled contexts.",
		}, []string{"backend", "op"}),
	}
	m.duration = Register(reg, m.duration)
	m.errors = Register(reg, m.errors)
	return m
}

// Register registers c on reg and returns it, or returns the collector
// already registered under the same description, so that several
// components of one kind (stores decorated per backend, servers in one
// test binary) share one metric family. A nil reg registers nothing and
// returns c, which then records unexported. It panics on a conflicting
// metric of the same name, a programming error. Every package of the
// server registers its collectors through it, so nil means the same
// everywhere.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a conflicting metric of the same name: a programming error
	}
	return c
}

// WithMetrics returns s decorated with Prometheus metrics: the histogram
// pyindex_storage_operation_duration_seconds{backend,op} and the counter
// pyindex_storage_errors_total{backend,op}, where op is one of the Op*
// constants and backend should be a fixed name such as "fs" or "s3" (labels
// never carry keys, so cardinality stays bounded). ErrNotExist (a normal
// cache miss) and context.Canceled (a client that went away) are not counted
// as errors, nor is an error returned by a List callback. A nil reg records
// without registering. Errors from s come back unchanged.
//
// The result implements Presigner and Pather exactly when s does (presigning
// is timed as op "presign"), and its Unwrap method returns s.
func WithMetrics(s Store, backend string, reg prometheus.Registerer) Store {
	m := newMetrics(reg)
	for _, op := range ops {
		m.errors.WithLabelValues(backend, op) // export zeros, so rate() works
	}
	w := &metered{s: s, m: m, backend: backend}
	_, isPresigner := s.(Presigner)
	pather, isPather := s.(Pather)
	switch {
	case isPresigner && isPather:
		m.errors.WithLabelValues(backend, OpPresign)
		return meteredPresignerPather{meteredPresigner{w}, pather}
	case isPresigner:
		m.errors.WithLabelValues(backend, OpPresign)
		return meteredPresigner{w}
	case isPather:
		return meteredPather{w, pather}
	}
	return w
}

// Unwrap returns the store a decorator such as WithMetrics wraps, or nil if
// s wraps nothing.
func Unwrap(s Store) Store {
	if u, ok := s.(interface{ Unwrap() Store }); ok {
		return u.Unwrap()
	}
	return nil
}

// As finds the first store in the chain s, Unwrap(s), ... that is a T, as
// errors.As does for errors: As[*fs.FS](store) reaches the filesystem
// backend under any decorators.
func As[T any](s Store) (T, bool) {
	for s != nil {
		if t, ok := s.(T); ok {
			return t, true
		}
		s = Unwrap(s)
	}
	var zero T
	return zero, false
}

type metered struct {
	s       Store
	m       *metrics
	backend string
}

// Unwrap returns the decorated store.
func (w *metered) Unwrap() Store { return w.s }

func (w *metered) observe(op string, start time.Time, err error) {
	w.m.duration.WithLabelValues(w.backend, op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, ErrNotExist) && !errors.Is(err, context.Canceled) {
		w.m.errors.WithLabelValues(w.backend, op).Inc()
	}
}

func (w *metered) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	start := time.Now()
	err := w.s.Put(ctx, key, r, size)
	w.observe(OpPut, start, err)
	return err
}

func (w *metered) Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error) {
	start := time.Now()
	rc, fi, err := w.s.Open(ctx, key)
	w.observe(OpOpen, start, err)
	return rc, fi, err
}

func (w *metered) Stat(ctx context.Context, key string) (Info, error) {
	start := time.Now()
	fi, err := w.s.Stat(ctx, key)
	w.observe(OpStat, start, err)
	return fi, err
}

func (w *metered) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := w.s.Delete(ctx, key)
	w.observe(OpDelete, start, err)
	return err
}

func (w *metered) List(ctx context.Context, prefix string, fn func(Info) error) error {
	start := time.Now()
	var fnErr error
	err := w.s.List(ctx, prefix, func(fi Info) error {
		fnErr = fn(fi)
		return fnErr
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		w.observe(OpList, start, nil) // the caller stopped the walk
	} else {
		w.observe(OpList, start, err)
	}
	return err
}

// meteredPresigner is the decorator of a store that implements Presigner.
type meteredPresigner struct{ *metered }

func (w meteredPresigner) PresignedGetURL(ctx context.Context, key, filename string) (*url.URL, error) {
	start := time.Now()
	u, err := w.s.(Presigner).PresignedGetURL(ctx, key, filename)
	if errors.Is(err, errors.ErrUnsupported) {
		w.observe(OpPresign, start, nil) // switched off by configuration: not a failure
	} else {
		w.observe(OpPresign, start, err)
	}
	return u, err
}

// meteredPather is the decorator of a store that implements Pather; Path
// is not timed.
type meteredPather struct {
	*metered
	Pather
}

type meteredPresignerPather struct {
	meteredPresigner
	Pather
}
