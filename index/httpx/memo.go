package httpx

import (
	"strings"
	"sync"
	"sync/atomic"
)

// HeaderMemo remembers a function's answers for the header values it has
// seen, up to a bound. A client sends the same Accept and Accept-Encoding
// with every request, and the handful of clients a server has send a
// handful of values, so a cached page would otherwise parse the same
// q-values (a float each) on every hit: a visible share of its cost. The
// bound keeps a client that sends a new value each time from growing the
// memo; past it, values not seen yet are computed each time.
type HeaderMemo[V any] struct {
	fn   func(string) V
	last atomic.Pointer[memoEntry[V]] // the value asked last: most clients send one
	m    sync.Map                     // string -> *memoEntry[V]
	n    atomic.Int32
}

type memoEntry[V any] struct {
	value string
	v     V
}

// headerMemoMax is how many values a HeaderMemo keeps, and
// headerMemoLongest the longest it keeps.
const (
	headerMemoMax     = 256
	headerMemoLongest = 512
)

// NewHeaderMemo returns a memo of fn, which must be a pure function of
// its argument.
func NewHeaderMemo[V any](fn func(string) V) *HeaderMemo[V] {
	return &HeaderMemo[V]{fn: fn}
}

// Get returns fn(value), from the memo when value was seen before.
func (h *HeaderMemo[V]) Get(value string) V {
	if e := h.last.Load(); e != nil && e.value == value {
		return e.v
	}
	if e, ok := h.m.Load(value); ok {
		h.last.Store(e.(*memoEntry[V]))
		return e.(*memoEntry[V]).v
	}
	v := h.fn(value)
	if len(value) <= headerMemoLongest && h.n.Load() < headerMemoMax {
		// The value may be a substring of a whole request header:
		// keep a copy, not the header.
		e := &memoEntry[V]{strings.Clone(value), v}
		if _, loaded := h.m.LoadOrStore(e.value, e); !loaded {
			h.n.Add(1)
		}
	}
	return v
}
