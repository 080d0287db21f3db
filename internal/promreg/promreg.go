// Package promreg registers Prometheus collectors the one way every
// component does: a nil Registerer registers nothing, and a collector
// already registered under the same description (several components of
// one kind in a process, as in tests) is shared, not an error.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns it, or returns the collector of
// the same type already registered under c's description. A nil reg
// registers nothing and returns c. Any other registration error (a metric
// of the same name with other labels) is a programming error: it panics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev
			}
		}
		panic(err)
	}
	return c
}
