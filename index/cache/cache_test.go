package cache_test

import (
	"sync"
	"testing"

	"github.com/pyindex/pyindex/index/cache"
)

func TestMapBound(t *testing.T) {
	c := cache.New[int, string](10)
	for i := range 100 {
		c.Put(i, "v")
		if n := c.Len(); n > 10 {
			t.Fatalf("%d entries after %d puts, bound 10", n, i+1)
		}
	}
	c.Put(99, "w") // replacing a present key drops nothing
	if v, ok := c.Get(99); !ok || v != "w" {
		t.Errorf("Get(99) = %q, %v", v, ok)
	}
	c.Update(99, func(cur string, ok bool) (string, bool) { return cur + "!", ok })
	if v, _ := c.Get(99); v != "w!" {
		t.Errorf("after Update, Get(99) = %q", v)
	}
	// A new key in a full map may evict any other, 99 included.
	c.Update(1000, func(cur string, ok bool) (string, bool) { return "new", !ok })
	c.Update(1001, func(string, bool) (string, bool) { return "not stored", false })
	if v, _ := c.Get(1000); v != "new" {
		t.Errorf("after Update, Get(1000) = %q", v)
	}
	if _, ok := c.Get(1001); ok {
		t.Error("Update stored although fn said not to")
	}
	c.Delete(99)
	if _, ok := c.Get(99); ok {
		t.Error("deleted key still present")
	}
	c.Clear()
	if c.Len() != 0 {
		t.Errorf("%d entries after Clear", c.Len())
	}
	if one := cache.New[int, int](0); one.Len() != 0 {
		t.Error("new map not empty")
	}
}

func TestMapConcurrent(t *testing.T) {
	c := cache.New[int, int](64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				c.Put(g*1000+i, i)
				c.Get(i)
			}
		})
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Errorf("%d entries, bound 64", c.Len())
	}
}
