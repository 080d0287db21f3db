package mirror

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// shared runs fetch as the one call for key in g, or joins the call in
// flight; every deduplicated upstream fetch (pages, files, PEP 658
// metadata) goes through it.
//
// The one rule for cancelling: the shared call runs under
// context.WithoutCancel(ctx) with its own timeout, so that a caller going
// away (a client hanging up, an interrupted sync) neither fails the others
// waiting on it nor leaves a cache fill half done; each caller waits on its
// own ctx and gets ctx.Err() when that ends first.
func shared[T any](ctx context.Context, g *singleflight.Group, key string, timeout time.Duration, fetch func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return fetch(ctx)
	})
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	}
}
