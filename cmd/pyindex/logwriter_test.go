package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the writer's goroutine and the
// test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBatchWriter checks that every line arrives whole, in each writer's
// order, that Close writes what is still queued, and that lines written
// after Close go straight out.
func TestBatchWriter(t *testing.T) {
	var out lockedBuffer
	bw := newBatchWriter(&out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(bw, "w%d line %d %s\n", w, i, strings.Repeat("x", i%300))
			}
		})
	}
	wg.Wait()
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(bw, "after close\n")
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines+1 || got[len(got)-1] != "after close" {
		t.Fatalf("%d lines, last %q; want %d, last \"after close\"", len(got), got[len(got)-1], writers*lines+1)
	}
	next := make([]int, writers)
	for _, l := range got[:len(got)-1] {
		var w, i int
		if _, err := fmt.Sscanf(l, "w%d line %d", &w, &i); err != nil {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[w] || len(l) != len(fmt.Sprintf("w%d line %d ", w, i))+i%300 {
			t.Fatalf("writer %d: line %q out of order or cut (want line %d)", w, l, next[w])
		}
		next[w]++
	}
	if err := bw.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
}

// TestBatchWriterFull checks that a writer that cannot keep up makes
// loggers wait rather than queueing without bound.
func TestBatchWriterFull(t *testing.T) {
	release := make(chan struct{})
	var out lockedBuffer
	slow := writerFunc(func(p []byte) (int, error) {
		<-release
		return out.Write(p)
	})
	bw := newBatchWriter(slow)
	line := []byte(strings.Repeat("y", 1023) + "\n")
	done := make(chan struct{})
	go func() {
		for range 4 * logBufferMax / len(line) {
			bw.Write(line)
		}
		close(done)
	}()
	select { // the writer never returns before release, so done cannot close
	case <-done:
		t.Fatal("4 MiB queued behind a writer that never returned")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	<-done
	bw.Close()
	if n := len(out.String()); n != 4*logBufferMax {
		t.Errorf("%d bytes written; want %d", n, 4*logBufferMax)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
