package upload

import (
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// spoolBuffer is how many bytes the spooler hands to the hashers at once.
const spoolBuffer = 256 << 10

// spoolDepth is how many chunks may be queued for the hashers: reading the
// next chunk from the network overlaps with hashing the previous ones.
const spoolDepth = 4

// teeHasher writes to dst and feeds every hash, each on a goroutine of its
// own, so that a large upload is hashed with all cores rather than at the
// speed of sha256 + md5 + blake2b in sequence (together slower than a
// disk). Write copies p into one of spoolDepth buffers, writes it to dst
// and queues it for the hashes, and returns without waiting for them unless
// every buffer is still in use; the slowest hash sets the pace, and the
// network read and the file write run alongside it. Wait blocks until every
// hash has consumed everything written; call it before reading a sum.
// Close stops the goroutines.
type teeHasher struct {
	dst  io.Writer
	work []chan *chunk
	free chan []byte
	wg   sync.WaitGroup // chunks not yet consumed by every hash
}

// chunk is one buffer on its way through the hashes.
type chunk struct {
	b       []byte
	pending atomic.Int32 // hashes that have not consumed b yet
}

func newTeeHasher(dst io.Writer, hs ...hash.Hash) *teeHasher {
	t := &teeHasher{dst: dst, free: make(chan []byte, spoolDepth)}
	for range spoolDepth {
		t.free <- nil // allocated on first use: a small upload needs one
	}
	for _, h := range hs {
		c := make(chan *chunk, spoolDepth)
		t.work = append(t.work, c)
		go func() {
			for ck := range c {
				h.Write(ck.b) // never fails
				if ck.pending.Add(-1) == 0 {
					t.free <- ck.b[:0]
					t.wg.Done()
				}
			}
		}()
	}
	return t
}

func (t *teeHasher) Write(p []byte) (int, error) {
	if len(t.work) == 0 {
		return t.dst.Write(p)
	}
	buf := append(<-t.free, p...)
	n, err := t.dst.Write(buf)
	if err != nil {
		t.free <- buf[:0]
		return n, err
	}
	ck := &chunk{b: buf}
	ck.pending.Store(int32(len(t.work)))
	t.wg.Add(1)
	for _, c := range t.work {
		c <- ck
	}
	return n, nil
}

// Wait returns once every hash has consumed all that was written.
func (t *teeHasher) Wait() { t.wg.Wait() }

// Close waits for the hashes and stops their goroutines.
func (t *teeHasher) Close() {
	t.wg.Wait()
	for _, c := range t.work {
		close(c)
	}
}
