// Package periodic runs a function on a fixed interval in its own
// goroutine, for the server's scheduled work (retention, mirror syncs),
// and, with StartLeased, on one of several replicas at a time.
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

// Lease is what StartLeased holds while it runs its function: a lease in
// the catalog (index.Lease) that one holder at a time has, until its term
// runs out without a renewal.
type Lease interface {
	// Acquire takes the lease for one term, or extends it when this
	// holder has it already; false: another holder has it.
	Acquire(ctx context.Context) (bool, error)
	// Release gives the lease up if this holder has it.
	Release(ctx context.Context) error
	// Term is how long the lease lasts from a successful Acquire.
	Term() time.Duration
}

// StartLeased is Start for work that one replica at a time must do (each
// replica starts it; the lease decides): in a new goroutine, it takes or
// renews lease every third of its term, and while it holds it, runs fn at
// once and then every interval, as Start does. When the lease is lost (an
// Acquire finds another holder, or Acquire has failed until less than a
// third of the term may be left, as when the catalog is unreachable) the
// run in progress is cancelled and waited for, before the term ends, so
// that the replica taking over never overlaps it; then StartLeased waits
// for the lease again. A replica that dies stops renewing, and another
// takes over within a term and a third.
//
// leading, when not nil, is called with true when this replica takes the
// lease and false when it loses it, from the goroutine (for a gauge).
// Stop cancels the run in progress, waits for it, and releases the lease,
// so that another replica takes over at once.
func StartLeased(ctx context.Context, interval time.Duration, lease Lease, leading func(bool), fn func(ctx context.Context)) *Runner {
	if interval <= 0 {
		panic("periodic: non-positive interval")
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Runner{cancel: cancel, done: make(chan struct{})}
	if leading == nil {
		leading = func(bool) {}
	}
	go func() {
		defer close(r.done)
		renew := max(lease.Term()/3, time.Millisecond)
		var job *Runner // non-nil while the lease is held
		var until time.Time
		drop := func() {
			if job != nil {
				job.Stop()
				job = nil
				leading(false)
			}
		}
		defer func() {
			held := job != nil
			drop()
			if held {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renew)
				_ = lease.Release(rctx) // else it runs out within a term
				cancel()
			}
		}()
		t := time.NewTicker(renew)
		defer t.Stop()
		for {
			start := time.Now()
			// Bounded, so that a hung catalog cannot keep the job running
			// past the term.
			actx, cancel := context.WithTimeout(ctx, renew/2)
			ok, err := lease.Acquire(actx)
			cancel()
			switch {
			case ctx.Err() != nil:
				return
			case err == nil && ok:
				until = start.Add(lease.Term())
				if job == nil {
					leading(true)
					job = Start(ctx, interval, fn)
				}
			case err == nil: // another holder has it
				drop()
			case time.Until(until) <= renew: // not renewed, and the term is nearly over
				drop()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}
