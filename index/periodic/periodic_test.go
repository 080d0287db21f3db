package periodic_test

import (
	"context"
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
