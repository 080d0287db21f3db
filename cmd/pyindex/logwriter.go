package main

import (
	"io"
	"sync"
	"time"
)

// logBufferMax bounds the log lines waiting to be written; a writer that
// falls behind (a full pipe) makes loggers wait, as a direct write would.
const logBufferMax = 1 << 20

// logFlushDelay is how long the first queued line waits for others to
// join it, and logFlushSize how much makes the writer go at once.
const (
	logFlushDelay = 20 * time.Millisecond
	logFlushSize  = 64 << 10
)

// batchWriter writes log lines from a goroutine of its own, in batches: a
// request no longer waits for a write(2) of its access line before its
// response is flushed, and under load one system call carries many lines.
// The goroutine wakes when a line arrives in an empty queue, lets lines
// gather for logFlushDelay (less if logFlushSize is reached), then writes
// them all. Waking for every line instead made it a runnable goroutine
// competing with the requests thousands of times a second, and measured
// tail latency grew tenfold. An idle server has no timer running. Close
// writes everything still queued; a SIGKILL loses at most the last
// logFlushDelay of lines.
type batchWriter struct {
	w io.Writer

	mu      sync.Mutex
	room    sync.Cond // signalled when buf has been taken
	buf     []byte
	closed  bool
	wake    chan struct{} // capacity 1: "lines arrived in an empty queue"
	hurry   chan struct{} // capacity 1: "write now" (queue large, or Close)
	stopped chan struct{}
}

func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: w, buf: make([]byte, 0, logFlushSize), wake: make(chan struct{}, 1),
		hurry: make(chan struct{}, 1), stopped: make(chan struct{})}
	b.room.L = &b.mu
	go b.loop()
	return b
}

// notify sends on c unless a signal is pending already.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Write queues p (one log record: slog handlers write each record with
// one call) and returns at once unless the queue is full.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) > 0 && len(b.buf)+len(p) > logBufferMax && !b.closed {
		b.room.Wait()
	}
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.buf) == 0 {
		notify(b.wake) // under mu: Close closes wake only after setting closed
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= logFlushSize {
		notify(b.hurry)
	}
	return len(p), nil
}

func (b *batchWriter) loop() {
	defer close(b.stopped)
	spare := make([]byte, 0, logFlushSize)
	timer := time.NewTimer(logFlushDelay)
	timer.Stop()
	for range b.wake {
		timer.Reset(logFlushDelay)
		select {
		case <-timer.C:
		case <-b.hurry:
			timer.Stop()
		}
		b.mu.Lock()
		lines := b.buf
		b.buf = spare[:0]
		b.room.Broadcast()
		b.mu.Unlock()
		if len(lines) > 0 {
			b.w.Write(lines) // nowhere to report a failed log write
		}
		if cap(lines) > 4*logBufferMax { // do not keep a burst's buffer for ever
			lines = make([]byte, 0, logFlushSize)
		}
		spare = lines
	}
}

// Close writes what is queued and makes later writes direct. It is safe
// to call more than once.
func (b *batchWriter) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.room.Broadcast()
	b.mu.Unlock()
	notify(b.hurry)
	close(b.wake)
	<-b.stopped
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > 0 {
		_, err := b.w.Write(b.buf)
		b.buf = nil
		return err
	}
	return nil
}
