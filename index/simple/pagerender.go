package simple

import (
	"context"
	"strconv"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// renders counts page renderings (tests check that concurrent misses
// share one).
var renders atomic.Int64

// renderGroup deduplicates renderings of one page: after a change, every
// request in flight for the page misses the cache at once, and without it
// each would read the catalog and gzip the page (at 100k projects the root
// index costs a few hundred milliseconds of CPU each).
type renderGroup struct{ g singleflight.Group }

type rendered struct {
	p      *page
	serial int64
}

// renderShared returns the page of key from one call of render shared by concurrent
// callers, and caches it under the serial render reports. render runs
// under ctx without its cancellation: one client hanging up must not fail
// the others.
func (h *Handler) renderShared(ctx context.Context, key pageKey, render func(context.Context) (*page, int64, error)) (*page, int64, error) {
	sk := key.name + "\x00" + strconv.FormatInt(key.serial, 10) + "\x00" + strconv.FormatBool(key.json) + "\x00" + string(key.source)
	ch := h.renders.g.DoChan(sk, func() (any, error) {
		// A caller that missed the cache just before an earlier flight
		// for the same key stored its page starts a flight of its own:
		// look again before rendering.
		if p, _ := h.cache.Get(key); p != nil {
			return rendered{p, key.serial}, nil
		}
		renders.Add(1)
		p, serial, err := render(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		k := key
		k.serial = serial
		h.cache.Put(k, p)
		h.known.rememberPage(k, p) // fallback.go
		return rendered{p, serial}, nil
	})
	select {
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, 0, r.Err
		}
		v := r.Val.(rendered)
		return v.p, v.serial, nil
	}
}
