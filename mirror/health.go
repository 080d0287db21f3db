package mirror

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// Whether the upstream is failing, as far as this process knows.
//
// A page within its TTL is served without asking the upstream, so it lists
// files that were never fetched. While the upstream fails, a client that
// picks one of those gets a 502 and pip gives up, although an older version
// that is cached would have installed. So once an upstream request fails
// (it cannot be reached, times out, or answers 5xx or 429), pages list only
// their cached files (as a stale page does) until an upstream request
// succeeds again. The listing is back the moment the upstream answers:
// while it is down, a page request starts a background refresh of that
// page at most once every recheckDown, and its success (any request's
// success) ends the state. A file requested meanwhile all the same (from an
// old listing) is still tried, and its 502/504 says why it cannot be
// served.

// recheckDown is how often, while the upstream is failing, a page request
// asks the upstream (in the background) whether it is back.
const recheckDown = 15 * time.Second

// health records upstream failures; the zero value knows of none.
type health struct {
	now     func() time.Time
	downAt  atomic.Int64 // UnixNano of the last failure not followed by a success; 0: up
	probeAt atomic.Int64 // UnixNano of the last background probe
}

// observe records the outcome of an upstream request: the status it
// answered, or err when it failed without an answer.
func (h *health) observe(status int, err error) {
	switch {
	case err != nil:
		if errors.Is(err, context.Canceled) {
			return // the mirror closing, not the upstream failing
		}
		h.fail()
	case status >= 500 || status == http.StatusTooManyRequests:
		h.fail()
	default:
		h.downAt.Store(0)
	}
}

func (h *health) fail() {
	h.downAt.Store(h.now().UnixNano())
}

// down reports whether the last upstream request failed.
func (h *health) down() bool { return h.downAt.Load() != 0 }

// probeDue reports whether a background check of the upstream is due,
// claiming it when it is (at most one every recheckDown).
func (h *health) probeDue() bool {
	now := h.now().UnixNano()
	last := h.probeAt.Load()
	if now-last < int64(recheckDown) && now >= last {
		return false
	}
	return h.probeAt.CompareAndSwap(last, now)
}

// UpstreamDown reports whether the last upstream request failed (the
// upstream could not be reached, timed out, or answered 5xx or 429): pages
// then list only cached files until a request succeeds.
func (m *Mirror) UpstreamDown() bool { return !m.cfg.Offline && m.health.down() }

// cachedOnly reports whether the page of name lists only cached files
// because the upstream is failing, and starts a background refresh of the
// page when a check is due (its success ends the state).
func (m *Mirror) cachedOnly(name string) bool {
	if !m.UpstreamDown() {
		return false
	}
	if m.health.probeDue() {
		go func() { _ = m.refresh(m.life, name) }()
	}
	return true
}
