// Package periodic runs a function on a fixed interval in its own
// goroutine, for the server's scheduled work (retention, mirror syncs).
//
// It imports only the standard library.
package periodic

import (
	"context"
	"time"
)

// Runner is a running schedule, made by Start. Its methods may be called
// from any goroutine.
type Runner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start calls fn at once and then every interval, in a new goroutine,
// until ctx ends or Stop is called. fn gets a context that ends then, so a
// run in progress can stop early; runs never overlap. When a run takes
// longer than interval, the next one starts as soon as it returns, and the
// ticks missed meanwhile are dropped (as with time.Ticker). interval must be
// positive: Start panics otherwise, as time.NewTicker does.
func Start(ctx context.Context, interval time.Duration, fn func(ctx context.Context)) *Runner {
	t := time.NewTicker(interval)
	ctx, cancel := context.WithCancel(ctx)
	r := &Runner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer t.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// Stop cancels the context of the run in progress, if any, and waits for
// the goroutine to end. It may be called more than once, from several
// goroutines at once, and on a nil Runner (which does nothing).
func (r *Runner) Stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}
