package storage

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the duration histogram and the error counter of a
// store decorated by WithMetrics (the ones registered on its registerer,
// when another decorator registered them first), or nils for any other
// store.
func Collectors(s Store) (duration *prometheus.HistogramVec, errs *prometheus.CounterVec) {
	var w *metered
	switch d := s.(type) {
	case *metered:
		w = d
	case meteredPresigner:
		w = d.metered
	case meteredPather:
		w = d.metered
	case meteredPresignerPather:
		w = d.metered
	default:
		return nil, nil
	}
	return w.m.duration, w.m.errors
}
