package main

import (
	"io"
	"sync"
)

// logBufferMax bounds the log lines waiting to be written; a writer that
// falls behind (a full pipe) makes loggers wait, as a direct write would.
const logBufferMax = 1 << 20

// batchWriter writes log lines from a goroutine of its own, in batches:
// whatever has queued since the last write goes out in one write. A request
// no longer waits for a write(2) of its access line before its response is
// flushed, and under load one system call carries many lines. Nothing waits
// on a timer: a line is written as soon as the goroutine runs, so only the
// lines of the last instants are lost if the process is killed (Close
// writes everything still queued).
type batchWriter struct {
	w io.Writer

	mu      sync.Mutex
	room    sync.Cond // signalled when buf has been taken
	buf     []byte
	closed  bool
	wake    chan struct{} // capacity 1: "buf has lines"
	stopped chan struct{}
}

func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: w, buf: make([]byte, 0, 64<<10), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	b.room.L = &b.mu
	go b.loop()
	return b
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
	b.buf = append(b.buf, p...)
	select { // under mu: Close closes wake only after setting closed
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *batchWriter) loop() {
	defer close(b.stopped)
	spare := make([]byte, 0, 64<<10)
	for range b.wake {
		b.mu.Lock()
		lines := b.buf
		b.buf = spare[:0]
		b.room.Broadcast()
		b.mu.Unlock()
		if len(lines) > 0 {
			b.w.Write(lines) // nowhere to report a failed log write
		}
		if cap(lines) > 4*logBufferMax { // do not keep a burst's buffer for ever
			lines = make([]byte, 0, 64<<10)
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
