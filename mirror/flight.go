package mirror

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/singleflight"
)

// errClosed is the answer of a fetch asked for after Close.
var errClosed = errors.New("mirror: closed")

// shared runs fetch as the one call for key in g, or joins the call in
// flight; every deduplicated upstream fetch (pages, files, PEP 658
// metadata) goes through it.
//
// The one rule for cancelling: the shared call runs under
// context.WithoutCancel(ctx) with its own timeout, so that a caller going
// away (a client hanging up, an interrupted sync) neither fails the others
// waiting on it nor leaves a cache fill half done; each caller waits on its
// own ctx and gets ctx.Err() when that ends first. Close cancels the calls
// in flight and waits for them, so none outlives the mirror (and the
// catalog it records into).
func shared[T any](ctx context.Context, m *Mirror, g *singleflight.Group, key string, timeout time.Duration, fetch func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) {
		if !m.begin() {
			return nil, errClosed
		}
		defer m.inflight.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		defer context.AfterFunc(m.life, cancel)()
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

// begin counts a fetch in flight, unless the mirror is closed.
func (m *Mirror) begin() bool {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closed {
		return false
	}
	m.inflight.Add(1)
	return true
}

// Close cancels the upstream fetches in flight (a page, a file being
// cached, metadata) and waits until they have ended; fetches asked for
// afterwards fail. Close the mirror before its catalog.
func (m *Mirror) Close() {
	m.lifeMu.Lock()
	m.closed = true
	m.lifeMu.Unlock()
	m.stop()
	m.inflight.Wait()
}
