package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// loadProjects is how many projects the steady load spreads its uploads
// over (none of them a project a case reads).
const loadProjects = 16

// loadStats is what a steady load achieved, over one or more wrk runs.
type loadStats struct {
	mu       sync.Mutex
	lat      []time.Duration
	failed   int
	firstErr error
	skipped  int // ticks with too many uploads in flight
	elapsed  time.Duration
}

func (s *loadStats) add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed++
		if s.firstErr == nil {
			s.firstErr = err
		}
		return
	}
	s.lat = append(s.lat, d)
}

// startLoad uploads small wheels to p at a steady rate (files a second;
// each upload on its own goroutine, at most 16 in flight) until the
// returned function is called, which stops the ticking, waits for the
// uploads in flight and adds what happened to stats.
func (b *bench) startLoad(ctx context.Context, p *pyindexProc, rate float64, stats *loadStats) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		sem := make(chan struct{}, 16)
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				stats.mu.Lock()
				stats.skipped++
				stats.mu.Unlock()
				continue
			}
			w, err := b.newSmallWheel(fmt.Sprintf("bench-load-%d", b.uploadSeq.Load()%loadProjects))
			if err != nil {
				stats.add(0, err)
				<-sem
				continue
			}
			wg.Go(func() {
				defer func() { <-sem }()
				stats.add(b.uploadWheel(ctx, p, w))
			})
		}
	}()
	return func() {
		close(quit)
		<-done
		elapsed := time.Since(start)
		wg.Wait()
		stats.mu.Lock()
		stats.elapsed += elapsed
		stats.mu.Unlock()
	}
}

// summary is the load's line in the report, and whether it kept the rate
// (95% of it) without a failure.
func (s *loadStats) summary(rate float64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := float64(len(s.lat)) / s.elapsed.Seconds()
	p50, p99 := percentiles(s.lat)
	note := fmt.Sprintf("%d uploads in %s: %.1f/s, p50 %s, p99 %s", len(s.lat), round(s.elapsed), got, round(p50), round(p99))
	if s.skipped > 0 {
		note += fmt.Sprintf("; %d ticks skipped (16 uploads in flight)", s.skipped)
	}
	if s.failed > 0 {
		note += fmt.Sprintf("; %d failed, first: %v", s.failed, s.firstErr)
	}
	return note, s.failed == 0 && got >= 0.95*rate
}
