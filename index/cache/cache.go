// Package cache is the one bounded in-memory map the server's caches use
// (rendered pages, file rows, verified passwords, the mirror's warm
// state). It is deliberately simple: reads take a shared lock only, so the
// hot page path never serializes on it, and when the map is full a put
// drops about half of the entries, in map order (effectively at random).
// That is cheap, and good enough for caches whose stale entries are never
// asked for again (keys carry the serial they were read at).
package cache

import "sync"

// Map is a concurrency-safe map with a bound on its entries. The zero Map is
// not usable: make one with New.
type Map[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

// New returns a Map of at most size entries (at least one).
func New[K comparable, V any](size int) *Map[K, V] {
	return &Map[K, V]{m: make(map[K]V), max: max(size, 1)}
}

// Get returns the value stored under k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// Put stores v under k, first dropping about half of the entries when the
// map is full.
func (c *Map[K, V]) Put(k K, v V) {
	c.mu.Lock()
	c.put(k, v)
	c.mu.Unlock()
}

// Update replaces the value under k with what fn makes of the current one
// (ok: k is present), atomically with respect to every other method; when
// fn returns store = false, nothing changes. fn must not call c.
func (c *Map[K, V]) Update(k K, fn func(cur V, ok bool) (v V, store bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.m[k]
	if v, store := fn(cur, ok); store {
		c.put(k, v)
	}
}

// put is Put with c.mu held.
func (c *Map[K, V]) put(k K, v V) {
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		n := len(c.m) / 2
		for key := range c.m {
			if n == 0 {
				break
			}
			delete(c.m, key)
			n--
		}
	}
	c.m[k] = v
}

// Delete removes k.
func (c *Map[K, V]) Delete(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// Clear removes every entry.
func (c *Map[K, V]) Clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Map[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
