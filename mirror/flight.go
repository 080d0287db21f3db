package mirror

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pyindex/pyindex/index"
)

// errClosed is the answer of a fetch asked for after Close.
var errClosed = errors.New("mirror: closed")

// shared runs fetch as the one call for key in g, or joins the call in
// flight; every deduplicated upstream fetch of pages and PEP 658 metadata
// goes through it (files go through fetchShared, below, which follows the
// same rule).
//
// The one rule for cancelling: the shared call runs under
// context.WithoutCancel(ctx) with its own timeout, so that a caller going
// away (a client hanging up, an interrupted sync) neither fails the others
// waiting on it nor leaves a cache fill half done; each caller waits on its
// own ctx and gets ctx.Err() when that ends first. Close cancels the calls
// in flight and waits for them, so none outlives the mirror (and the
// catalog it records into).
func shared[T any](ctx context.Context, m *Mirror, g *singleflight.Group, key string, timeout time.Duration, fetch func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) {
		if !m.begin() {
			return nil, errClosed
		}
		defer m.inflight.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		defer context.AfterFunc(m.life, cancel)()
		return fetch(ctx)
	})
	select {
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	}
}

// begin counts a fetch in flight, unless the mirror is closed.
func (m *Mirror) begin() bool {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closed {
		return false
	}
	m.inflight.Add(1)
	return true
}

// Close cancels the upstream fetches in flight (a page, a file being
// cached, metadata) and waits until they have ended; fetches asked for
// afterwards fail. Close the mirror before its catalog.
func (m *Mirror) Close() {
	m.lifeMu.Lock()
	m.closed = true
	m.lifeMu.Unlock()
	m.stop()
	m.inflight.Wait()
}

// downloads are the file downloads in flight, by project/filename: every
// requester of a file being fetched joins its download (one upstream GET)
// and streams from its spool as the bytes arrive, instead of waiting for
// the whole file. The zero value is ready.
type downloads struct {
	mu sync.Mutex
	m  map[string]*download
}

// download is one file download in flight.
type download struct {
	spool *spool
	done  chan struct{} // closed once file and err are set
	file  index.MirrorFile
	err   error
}

// fetchShared joins the download of key in flight, or starts one running
// fetch, under the rule of shared: its own mirror.file_timeout, cancelled
// by no caller, only by Close. fetch fills the spool it is given. With
// stream, the caller also gets a reference on the spool, taken before the
// download can end, so the spooled bytes stay readable until it calls
// release, whatever the download does meanwhile.
func (m *Mirror) fetchShared(ctx context.Context, key string, stream bool, fetch func(context.Context, *spool) (index.MirrorFile, error)) *download {
	dl := &m.downloads
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if d, ok := dl.m[key]; ok {
		if stream {
			d.spool.acquire()
		}
		return d
	}
	d := &download{spool: newSpool(), done: make(chan struct{})}
	if stream {
		d.spool.acquire()
	}
	if !m.begin() {
		d.err = errClosed
		d.spool.end(false)
		d.spool.release()
		close(d.done)
		return d
	}
	if dl.m == nil {
		dl.m = map[string]*download{}
	}
	dl.m[key] = d
	go func() {
		defer m.inflight.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.FileTimeout)
		defer cancel()
		defer context.AfterFunc(m.life, cancel)()
		file, err := fetch(ctx, d.spool)
		d.spool.end(false) // unless fetch ended it verified
		dl.mu.Lock()
		delete(dl.m, key)
		dl.mu.Unlock()
		d.file, d.err = file, err
		close(d.done)
		d.spool.release() // the download's own reference
	}()
	return d
}

// running returns the download of key in flight, or nil.
func (dl *downloads) running(key string) *download {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.m[key]
}

// wait returns the download's result, or ctx.Err() when ctx ends first.
func (d *download) wait(ctx context.Context) (index.MirrorFile, error) {
	select {
	case <-ctx.Done():
		return index.MirrorFile{}, ctx.Err()
	case <-d.done:
		return d.file, d.err
	}
}

// spool is the temporary file a download writes the upstream's bytes to,
// as the verifier releases them, while any number of requesters stream
// it. It ends verified, once the file is stored and recorded (every
// stream completes), or failed (every stream ends with an error); until
// it ends, its last byte is held back, so that no client of a known size
// can take an unverified file for complete. It is removed with its last
// reference.
type spool struct {
	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, at every change
	file    *os.File      // nil until the upstream answered
	size    int64         // the size the upstream announced, -1 unknown
	sha256  string        // the expected sha256, "" unknown
	n       int64         // bytes written, readable by streams
	ended   bool
	ok      bool // ended verified
	refs    int  // the download's, and each stream's
}

func newSpool() *spool { return &spool{changed: make(chan struct{}), refs: 1} }

// notify wakes the streams waiting on the spool. Call it with mu held.
func (s *spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// start gives the spool its file, once the upstream answered.
func (s *spool) start(f *os.File, size int64, sha256 string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.file, s.size, s.sha256 = f, size, sha256
	s.notify()
}

// Write appends p to the file and makes it readable.
func (s *spool) Write(p []byte) (int, error) {
	n, err := s.file.Write(p)
	s.mu.Lock()
	s.n += int64(n)
	s.notify()
	s.mu.Unlock()
	return n, err
}

// end marks the spool verified (ok) or failed, unless already ended.
func (s *spool) end(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended, s.ok = true, ok
		s.notify()
	}
}

func (s *spool) acquire() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

// release drops a reference; the last one closes and removes the file.
func (s *spool) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs--; s.refs == 0 && s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}

// spoolState is what a stream sees of a spool at one moment.
type spoolState struct {
	file      *os.File
	size      int64
	sha256    string
	n         int64 // readable: all but the last byte until ended verified
	ended, ok bool
	changed   <-chan struct{}
}

func (s *spool) state() spoolState {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	if !s.ok {
		n = max(n-1, 0)
	}
	return spoolState{s.file, s.size, s.sha256, n, s.ended, s.ok, s.changed}
}
