package index_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestLease: one holder at a time; the holder renews and releases; a
// lease whose term ran out is taken over, and its old holder can no
// longer renew it.
func TestLease(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat1 := indextest.OpenCatalog(t, path)
	cat2 := indextest.OpenCatalog(t, path) // another replica
	now := time.Now()
	clock := func() time.Time { return now }
	cat1.SetClock(clock)
	cat2.SetClock(clock)
	a := cat1.Lease("job:test", "a", 30*time.Second)
	b := cat2.Lease("job:test", "b", 30*time.Second)

	mustAcquire := func(l *index.Lease, want bool) {
		t.Helper()
		ok, err := l.Acquire(ctx)
		if err != nil || ok != want {
			t.Fatalf("%s Acquire = %v, %v; want %v", l.Holder(), ok, err, want)
		}
	}
	mustRenew := func(l *index.Lease, want bool) {
		t.Helper()
		ok, err := l.Renew(ctx)
		if err != nil || ok != want {
			t.Fatalf("%s Renew = %v, %v; want %v", l.Holder(), ok, err, want)
		}
	}
	holder := func(want string) {
		t.Helper()
		h, until, err := cat2.LeaseHolder(ctx, "job:test")
		if want == "" {
			if !errors.Is(err, index.ErrNotFound) {
				t.Fatalf("LeaseHolder = %q, %v; want ErrNotFound", h, err)
			}
			return
		}
		if err != nil || h != want || !until.After(now) {
			t.Fatalf("LeaseHolder = %q until %v, %v; want %q", h, until, err, want)
		}
	}

	holder("")
	mustRenew(a, false) // nothing to renew
	mustAcquire(a, true)
	mustAcquire(a, true) // again: extends it
	mustAcquire(b, false)
	mustRenew(b, false)
	holder("a")
	now = now.Add(20 * time.Second)
	mustRenew(a, true)
	now = now.Add(20 * time.Second) // within a's renewed term
	mustAcquire(b, false)
	if err := b.Release(ctx); err != nil { // not b's: nothing happens
		t.Fatal(err)
	}
	holder("a")

	now = now.Add(31 * time.Second) // a died: its term ran out
	holder("")
	mustAcquire(b, true)
	holder("b")
	mustRenew(a, false) // a woke up: it lost the lease
	mustAcquire(a, false)

	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	holder("")
	mustAcquire(a, true) // released: free at once

	// A lease nobody released is deleted an hour after it ran out, by the
	// next Release of any lease.
	dead := cat2.Lease("mirror:gone/x.whl", "dead", time.Minute)
	mustAcquire(dead, true)
	now = now.Add(time.Minute + 59*time.Minute)
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := leaseRows(t, cat1); n != 1 {
		t.Errorf("%d lease rows within the hour, want the dead one", n)
	}
	now = now.Add(2 * time.Minute)
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := leaseRows(t, cat1); n != 0 {
		t.Errorf("%d lease rows after the hour, want none", n)
	}
}

// leaseRows counts the leases table's rows, expired ones included.
func leaseRows(t *testing.T, cat *index.Catalog) int {
	t.Helper()
	n, err := index.LeaseRows(cat)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLeaseRace: holders on two catalog handles racing for one free
// lease: exactly one gets it.
func TestLeaseRace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	cats := []*index.Catalog{indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)}
	for round := range 5 {
		name := "mirror:race/" + string(rune('a'+round))
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := cats[i%2].Lease(name, index.NewLeaseHolder(), time.Minute).Acquire(ctx)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Errorf("%s: %d holders, want 1", name, n)
		}
	}
}

func TestNewLeaseHolder(t *testing.T) {
	a, b := index.NewLeaseHolder(), index.NewLeaseHolder()
	if a == b || a == "" {
		t.Errorf("holders %q and %q", a, b)
	}
}

// TestCatalogCopyLeavesLeases: a copy does not carry the source's leases
// (they name the source's processes): a replica on the copy takes a job's
// lease at once.
func TestCatalogCopyLeavesLeases(t *testing.T) {
	ctx := context.Background()
	src := indextest.Catalog(t)
	if ok, err := src.Lease("job:retention", "old-replica", time.Hour).Acquire(ctx); !ok || err != nil {
		t.Fatalf("acquire on the source: %v, %v", ok, err)
	}
	dst := indextest.OpenSQLite(t, filepath.Join(t.TempDir(), "copy.db"))
	counts, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Table == "leases" {
			t.Errorf("copy counted table leases: %+v", c)
		}
	}
	if ok, err := dst.Lease("job:retention", "new-replica", time.Minute).Acquire(ctx); !ok || err != nil {
		t.Fatalf("acquire on the copy = %v, %v; want the lease free", ok, err)
	}
}
