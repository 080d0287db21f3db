package periodic_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index/periodic"
)

func TestRunsAtStartThenEveryInterval(t *testing.T) {
	var n atomic.Int32
	calls := make(chan struct{}, 100)
	r := periodic.Start(context.Background(), time.Millisecond, func(context.Context) {
		n.Add(1)
		calls <- struct{}{}
	})
	for range 3 {
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d runs", n.Load())
		}
	}
	r.Stop()
	after := n.Load()
	time.Sleep(10 * time.Millisecond)
	if got := n.Load(); got != after {
		t.Errorf("%d runs after Stop", got-after)
	}
	r.Stop() // twice is fine
}

func TestFirstRunIsImmediate(t *testing.T) {
	ran := make(chan struct{})
	r := periodic.Start(context.Background(), time.Hour, func(context.Context) { close(ran) })
	defer r.Stop()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("no run at start")
	}
}

func TestStopCancelsTheRunInProgress(t *testing.T) {
	started := make(chan struct{})
	var sawCancel atomic.Bool
	r := periodic.Start(context.Background(), time.Hour, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		sawCancel.Store(true)
	})
	<-started
	r.Stop()
	if !sawCancel.Load() {
		t.Error("Stop returned before the run saw its context end")
	}
}

func TestParentContextEndsTheRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	r := periodic.Start(ctx, time.Hour, func(ctx context.Context) {
		<-ctx.Done()
		close(ended)
	})
	defer r.Stop()
	cancel()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the run's context did not end with the parent's")
	}
}

func TestStopConcurrentAndNil(t *testing.T) {
	var nilRunner *periodic.Runner
	nilRunner.Stop()
	r := periodic.Start(context.Background(), time.Millisecond, func(context.Context) {})
	done := make(chan struct{})
	for range 4 {
		go func() { r.Stop(); done <- struct{}{} }()
	}
	for range 4 {
		<-done
	}
}

func TestPanicsOnNonPositiveInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a zero interval")
		}
	}()
	periodic.Start(context.Background(), 0, func(context.Context) { t.Error("ran") })
}

// memLease is a lease of one name shared by holders in memory, as the
// catalog's leases are shared by replicas.
type memLease struct {
	mu     sync.Mutex
	holder string
	until  time.Time
	term   time.Duration
	broken map[string]bool // holders whose Acquire fails (a lost catalog)
}

// holderLease is memLease as one holder sees it.
type holderLease struct {
	l    *memLease
	name string
}

func (h holderLease) Acquire(ctx context.Context) (bool, error) {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	if h.l.broken[h.name] {
		return false, errors.New("catalog unreachable")
	}
	now := time.Now()
	if h.l.holder != h.name && h.l.holder != "" && now.Before(h.l.until) {
		return false, nil
	}
	h.l.holder, h.l.until = h.name, now.Add(h.l.term)
	return true, nil
}

func (h holderLease) Release(ctx context.Context) error {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	if h.l.holder == h.name {
		h.l.holder = ""
	}
	return nil
}

func (h holderLease) Term() time.Duration { return h.l.term }

func (l *memLease) breakHolder(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.broken[name] = true
}

// leasedJob counts the runs of each replica and fails the test when two
// overlap.
type leasedJob struct {
	t       *testing.T
	active  atomic.Int32
	runs    [2]atomic.Int32
	leading [2]atomic.Bool
}

func (j *leasedJob) start(l *memLease, i int) *periodic.Runner {
	return periodic.StartLeased(context.Background(), 5*time.Millisecond, holderLease{l, string(rune('a' + i))},
		func(on bool) { j.leading[i].Store(on) },
		func(ctx context.Context) {
			if n := j.active.Add(1); n > 1 {
				j.t.Errorf("%d replicas run the job at once", n)
			}
			j.runs[i].Add(1)
			select { // a run takes a while, or ends when cancelled
			case <-ctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
			j.active.Add(-1)
		})
}

func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLeasedRunsOnOneReplica: two replicas under one lease: one runs the
// job, every interval, the other never; stopping the first hands the job
// to the other at once (Stop releases the lease).
func TestLeasedRunsOnOneReplica(t *testing.T) {
	l := &memLease{term: 150 * time.Millisecond, broken: map[string]bool{}}
	j := &leasedJob{t: t}
	a := j.start(l, 0)
	waitUntil(t, "a leads", 5*time.Second, func() bool { return j.leading[0].Load() })
	b := j.start(l, 1)
	defer b.Stop()
	waitUntil(t, "a runs several times", 5*time.Second, func() bool { return j.runs[0].Load() >= 5 })
	time.Sleep(l.term) // b tries the lease a few times meanwhile
	if n := j.runs[1].Load(); n != 0 || j.leading[1].Load() {
		t.Fatalf("b ran %d times while a held the lease", n)
	}
	a.Stop()
	if j.leading[0].Load() {
		t.Error("a still leads after Stop")
	}
	// b tries every third of the term: it takes over within that.
	waitUntil(t, "b takes over", l.term, func() bool { return j.runs[1].Load() > 0 })
	if !j.leading[1].Load() {
		t.Error("b runs the job without leading")
	}
}

// TestLeasedTakeOverAfterDeath: the leader loses the catalog (it cannot
// renew): it stops its job before its term ends, and the other replica
// takes over once the term has run out, never overlapping it.
func TestLeasedTakeOverAfterDeath(t *testing.T) {
	l := &memLease{term: 300 * time.Millisecond, broken: map[string]bool{}}
	j := &leasedJob{t: t}
	a := j.start(l, 0)
	defer a.Stop()
	waitUntil(t, "a leads", 5*time.Second, func() bool { return j.runs[0].Load() > 0 })
	b := j.start(l, 1)
	defer b.Stop()
	died := time.Now()
	l.breakHolder("a")
	waitUntil(t, "a stops leading", l.term, func() bool { return !j.leading[0].Load() })
	waitUntil(t, "b takes over", 2*l.term, func() bool { return j.runs[1].Load() > 0 })
	if since := time.Since(died); since > l.term*3/2 {
		t.Errorf("b took over after %v, want within a term and a third (%v)", since, l.term*4/3)
	}
	before := j.runs[0].Load()
	time.Sleep(50 * time.Millisecond)
	if j.runs[0].Load() != before {
		t.Error("a still runs the job after losing the lease")
	}
}
