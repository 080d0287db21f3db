package mirror_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	"github.com/pyindex/pyindex/storage"
)

const (
	leasedFile = "acme_util-0.2-py3-none-any.whl"
	leasedPath = "/mirror/files/acme-util/" + leasedFile
	leasedUp   = "/packages/" + leasedFile // the upstream's path of it
)

// shortLeases shortens the leases of what the test builds next.
func shortLeases(t *testing.T, term time.Duration) {
	old := index.LeaseTerm
	index.LeaseTerm = term
	t.Cleanup(func() { index.LeaseTerm = old })
}

// replicas returns two servers on one catalog and one store (two
// replicas), both having read acme-util's page.
func replicas(t *testing.T, up *mirrortest.Upstream, mutate2 func(*mirror.Config)) (*env, *env) {
	t.Helper()
	dir := t.TempDir()
	e1 := newEnv(t, up, dir, nil)
	e2 := newEnv(t, up, dir, mutate2)
	e1.Page("acme-util")
	e2.Page("acme-util")
	return e1, e2
}

// waitFor polls cond for up to within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
	}
}

// TestFileOnceAcrossReplicas: many clients asking two replicas at once for
// a file neither has: one upstream GET, one stored blob, every body whole
// and verified (those of the replica without the lease come from the
// store once the other has stored it).
func TestFileOnceAcrossReplicas(t *testing.T) {
	up := mirrortest.Start(t, false)
	e1, e2 := replicas(t, up, nil)
	want := distBytes(t, leasedFile)
	release := up.Hold()
	go func() {
		for up.Count(leasedUp) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // every client arrives, on both
		release()
	}()
	const n = 8
	var wg sync.WaitGroup
	results := make([]struct {
		status int
		sum    string
		err    error
	}, 2*n)
	for i := range 2 * n {
		e := []*env{e1, e2}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.Do(http.MethodGet, leasedPath, nil)
			results[i].status, results[i].sum, results[i].err = r.Status, sum256(r.Body), r.Err
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != 200 || r.sum != sum256(want) {
			t.Errorf("client %d (replica %d): %d %v, sha256 %s", i, i%2+1, r.status, r.err, r.sum)
		}
	}
	if c := up.Count(leasedUp); c != 1 {
		t.Errorf("upstream file GETs = %d, want 1", c)
	}
	var blobs []string
	if err := e1.Store.List(context.Background(), "", func(fi storage.Info) error {
		blobs = append(blobs, fi.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 1 || blobs[0] != storage.Key(sum256(want)) {
		t.Errorf("stored blobs %v, want the one file", blobs)
	}
	if _, _, err := e1.Cat.LeaseHolder(context.Background(), "mirror:acme-util/"+leasedFile); err == nil {
		t.Error("the file's lease is still held after the download")
	}
	// Both serve it from the store from now on.
	for _, e := range []*env{e1, e2} {
		if r := e.Get(leasedPath, nil); r.Status != 200 || sum256(r.Body) != sum256(want) {
			t.Errorf("cached: %d", r.Status)
		}
	}
	if c := up.Count(leasedUp); c != 1 {
		t.Errorf("upstream file GETs = %d after, want 1", c)
	}
}

// TestFileLeaseTakeover: the replica fetching a file dies mid-download
// (its catalog gone, so its lease is neither renewed nor released): its
// client gets a broken response, never a whole-looking one; the other
// replica's client waits, and once the lease has run out that replica
// fetches the file itself and serves it whole.
func TestFileLeaseTakeover(t *testing.T) {
	const term = 600 * time.Millisecond
	shortLeases(t, term)
	up := mirrortest.Start(t, false)
	e1, e2 := replicas(t, up, nil)
	want := distBytes(t, leasedFile)
	release := up.Hold() // e1's download stops halfway
	defer release()
	first := make(chan error, 1)
	go func() {
		r := e1.Do(http.MethodGet, leasedPath, nil)
		if r.Err == nil && r.Status == 200 && sum256(r.Body) == sum256(want) {
			first <- nil
			return
		}
		first <- r.Err
	}()
	waitFor(t, "the first replica's download starts", 10*time.Second, func() bool { return up.Count(leasedUp) == 1 })
	up.Hold()() // later downloads run through
	second := make(chan struct {
		status int
		sum    string
	}, 1)
	go func() {
		r := e2.Do(http.MethodGet, leasedPath, nil)
		second <- struct {
			status int
			sum    string
		}{r.Status, sum256(r.Body)}
	}()
	time.Sleep(term / 2)
	if c := up.Count(leasedUp); c != 1 {
		t.Fatalf("the second replica fetched the file while the first held its lease (%d GETs)", c)
	}
	select {
	case r := <-second:
		t.Fatalf("the second replica answered %d while the first was fetching", r.status)
	default:
	}

	died := time.Now()
	e1.Cat.Close()    // no renewal, no release: the lease stays until it runs out
	e1.Mirror.Close() // the download in flight ends
	if err := <-first; err == nil {
		t.Error("the dying replica's client got the whole file")
	}
	select {
	case r := <-second:
		if r.status != 200 || r.sum != sum256(want) {
			t.Errorf("second replica: %d, sha256 %s", r.status, r.sum)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second replica did not take over")
	}
	// The lease runs out within a term of the death; the waiter looks
	// at least every second.
	if since := time.Since(died); since > term+1500*time.Millisecond {
		t.Errorf("took over after %v, want within a term (%v) and a second", since, term)
	}
	if c := up.Count(leasedUp); c != 2 {
		t.Errorf("upstream file GETs = %d, want 2 (the dead one's and the takeover)", c)
	}
}

// TestFileLeaseWaitTimesOut: a replica waiting for another's download
// gives up after its mirror.file_timeout with a 504 that says why,
// never a partial body, while the holder goes on.
func TestFileLeaseWaitTimesOut(t *testing.T) {
	up := mirrortest.Start(t, false)
	e1, e2 := replicas(t, up, func(c *mirror.Config) { c.FileTimeout = 500 * time.Millisecond })
	want := distBytes(t, leasedFile)
	release := up.Hold()
	defer release()
	first := make(chan int, 1)
	go func() {
		r := e1.Do(http.MethodGet, leasedPath, nil)
		if sum256(r.Body) != sum256(want) {
			r.Status = -1
		}
		first <- r.Status
	}()
	waitFor(t, "the first replica's download starts", 10*time.Second, func() bool { return up.Count(leasedUp) == 1 })
	r := e2.Get(leasedPath, nil)
	if r.Status != http.StatusGatewayTimeout || !strings.Contains(string(r.Body), "another server") {
		t.Errorf("waiting replica: %d %q, want 504", r.Status, r.Body)
	}
	release()
	if s := <-first; s != 200 {
		t.Errorf("the holder's client: %d", s)
	}
	if r := e2.Get(leasedPath, nil); r.Status != 200 || sum256(r.Body) != sum256(want) {
		t.Errorf("after the download: %d", r.Status)
	}
	if c := up.Count(leasedUp); c != 1 {
		t.Errorf("upstream file GETs = %d, want 1", c)
	}
}
