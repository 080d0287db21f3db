package upload

import (
	"slices"
	"sync"
)

// keyedMutex serializes work on the same blob keys.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	n int
}

// lock takes the locks of keys (in sorted order, so two callers cannot
// deadlock) and returns the function that releases them.
func (k *keyedMutex) lock(keys ...string) func() {
	keys = sortedUnique(keys)
	held := make([]*keyLock, 0, len(keys))
	for _, key := range keys {
		k.mu.Lock()
		if k.m == nil {
			k.m = map[string]*keyLock{}
		}
		l := k.m[key]
		if l == nil {
			l = &keyLock{}
			k.m[key] = l
		}
		l.n++
		k.mu.Unlock()
		l.Lock()
		held = append(held, l)
	}
	return func() {
		for i, l := range held {
			l.Unlock()
			k.mu.Lock()
			l.n--
			if l.n == 0 {
				delete(k.m, keys[i])
			}
			k.mu.Unlock()
		}
	}
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
