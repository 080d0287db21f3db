package upload

import (
	"hash"
	"io"
	"sync"
)

// spoolBuffer is how many bytes the spooler hands to the hashers at once.
const spoolBuffer = 256 << 10

// teeHasher writes to dst and feeds every hash, each on a goroutine of its
// own, so that a large upload is hashed with all cores rather than at the
// speed of sha256 + md5 + blake2b in sequence (together slower than a
// disk). Write returns once dst and every hash have consumed p, so the
// caller may reuse p. Close stops the goroutines.
type teeHasher struct {
	dst  io.Writer
	work []chan []byte
	wg   sync.WaitGroup
}

func newTeeHasher(dst io.Writer, hs ...hash.Hash) *teeHasher {
	t := &teeHasher{dst: dst}
	for _, h := range hs {
		c := make(chan []byte)
		t.work = append(t.work, c)
		go func() {
			for p := range c {
				h.Write(p) // never fails
				t.wg.Done()
			}
		}()
	}
	return t
}

func (t *teeHasher) Write(p []byte) (int, error) {
	t.wg.Add(len(t.work))
	for _, c := range t.work {
		c <- p
	}
	n, err := t.dst.Write(p)
	t.wg.Wait()
	return n, err
}

func (t *teeHasher) Close() {
	for _, c := range t.work {
		close(c)
	}
}
