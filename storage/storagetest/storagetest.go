// Package storagetest is the compliance suite every storage.Store backend
// runs, so that the filesystem and S3 backends meet one contract.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyindex/pyindex/storage"
)

// Run runs the compliance suite. Every subtest calls newStore for a store of
// its own, which must start empty; subtests run in parallel, so newStore must
// be safe for concurrent use. Backends exercise the suite with e.g.
//
//	func TestStore(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return newTestStore(t) })
//	}
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"ZeroBytes", testZeroBytes},
		{"UnknownSize", testUnknownSize},
		{"Overwrite", testOverwrite},
		{"InFlightPutInvisible", testInFlightPutInvisible},
		{"SizeMismatch", testSizeMismatch},
		{"ReaderError", testReaderError},
		{"InvalidKeys", testInvalidKeys},
		{"NotExist", testNotExist},
		{"Delete", testDelete},
		{"List", testList},
		{"ListStops", testListStops},
		{"ContextCancelled", testContextCancelled},
		{"CancelMidPut", testCancelMidPut},
		{"LargeBlob", testLargeBlob},
		{"ConcurrentPuts", testConcurrentPuts},
		{"SeekRead", testSeekRead},
		{"ServeContentRange", testServeContentRange},
		{"ContentAddressedKey", testContentAddressedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var errBoom = errors.New("storagetest: reader failed")

func testRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	key := "sha256/ab/cd/roundtrip"
	data := []byte("hello, pyindex")
	before := time.Now()
	mustPut(t, s, key, onlyReader(data), int64(len(data)))

	fi, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Key != key || fi.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, want key %q size %d", fi, key, len(data))
	}
	// Servers may round to the second and clocks may be a little off.
	if fi.ModTime.Before(before.Add(-time.Minute)) || fi.ModTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("Stat ModTime = %v, want about %v", fi.ModTime, before)
	}

	rc, oi, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("read %q, want %q", got, data)
	}
	if oi.Key != key || oi.Size != int64(len(data)) || oi.ModTime.IsZero() {
		t.Errorf("Open Info = %+v, want key %q size %d and a ModTime", oi, key, len(data))
	}

	// A seekable reader (the upload flow hands over its temp file) too.
	key2 := "sha256/ab/cd/roundtrip-seekable"
	if err := storage.PutBytes(ctx, s, key2, data); err != nil {
		t.Fatalf("PutBytes: %v", err)
	}
	if got := mustRead(t, s, key2); !bytes.Equal(got, data) {
		t.Errorf("after PutBytes read %q, want %q", got, data)
	}
}

func testZeroBytes(t *testing.T, s storage.Store) {
	key := "zero/empty"
	for _, r := range []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"plain", onlyReader(nil), 0},
		{"seekable", bytes.NewReader(nil), 0},
		{"unknown size", onlyReader(nil), -1},
	} {
		mustPut(t, s, key, r.r, r.size)
		fi, err := s.Stat(t.Context(), key)
		if err != nil {
			t.Fatalf("%s: Stat: %v", r.name, err)
		}
		if fi.Size != 0 {
			t.Errorf("%s: Stat size = %d, want 0", r.name, fi.Size)
		}
		if got := mustRead(t, s, key); len(got) != 0 {
			t.Errorf("%s: read %d bytes, want 0", r.name, len(got))
		}
	}
	infos := list(t, s, "zero/")
	if len(infos) != 1 || infos[0].Key != key || infos[0].Size != 0 {
		t.Errorf("List = %+v, want one empty %q", infos, key)
	}
}

func testUnknownSize(t *testing.T, s storage.Store) {
	data := pattern(300 << 10)
	mustPut(t, s, "unknown/size", onlyReader(data), -1)
	fi, err := s.Stat(t.Context(), "unknown/size")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Size != int64(len(data)) {
		t.Errorf("Stat size = %d, want %d", fi.Size, len(data))
	}
	if got := mustRead(t, s, "unknown/size"); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes differing from the %d stored", len(got), len(data))
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	ctx := t.Context()
	key := "over/write"
	v1 := bytes.Repeat([]byte("1"), 1000)
	v2 := bytes.Repeat([]byte("2"), 1500)
	mustPut(t, s, key, onlyReader(v1), int64(len(v1)))

	// A reader opened before the overwrite sees the old blob whole (or
	// fails), never a mix of the two.
	rc, _, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatalf("read head: %v", err)
	}

	mustPut(t, s, key, onlyReader(v2), int64(len(v2)))

	rest, err := io.ReadAll(rc)
	if err == nil {
		if got := append(head, rest...); !bytes.Equal(got, v1) {
			t.Errorf("reader opened before overwrite read %d bytes (%q...), want the old blob", len(got), got[:min(len(got), 20)])
		}
	}
	fi, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Size != int64(len(v2)) {
		t.Errorf("Stat size = %d, want %d", fi.Size, len(v2))
	}
	if got := mustRead(t, s, key); !bytes.Equal(got, v2) {
		t.Errorf("after overwrite read %d bytes, want the new blob", len(got))
	}
	if infos := list(t, s, "over/"); len(infos) != 1 {
		t.Errorf("List after overwrite = %+v, want one blob", infos)
	}
}

// testInFlightPutInvisible holds a Put half-way and checks that neither a
// new key nor the new content of an existing key can be seen until it
// returns: this is what a crash mid-Put leaves behind.
func testInFlightPutInvisible(t *testing.T, s storage.Store) {
	ctx := t.Context()
	old := []byte("old content")
	mustPut(t, s, "inflight/existing", onlyReader(old), int64(len(old)))

	for _, key := range []string{"inflight/new", "inflight/existing"} {
		half := pattern(64 << 10)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := s.Put(ctx, key, pr, int64(2*len(half)))
			pr.CloseWithError(fmt.Errorf("put returned early: %v", err))
			done <- err
		}()
		if _, err := pw.Write(half); err != nil {
			t.Fatalf("%s: feeding first half: %v", key, err)
		}

		fi, err := s.Stat(ctx, key)
		switch key {
		case "inflight/new":
			if !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("Stat(%s) during Put = %+v, %v; want ErrNotExist", key, fi, err)
			}
		default:
			if err != nil || fi.Size != int64(len(old)) {
				t.Errorf("Stat(%s) during Put = %+v, %v; want the old blob", key, fi, err)
			} else if got := mustRead(t, s, key); !bytes.Equal(got, old) {
				t.Errorf("read %s during Put = %q, want %q", key, got, old)
			}
		}
		var keys []string
		for _, fi := range list(t, s, "inflight/") {
			keys = append(keys, fi.Key)
		}
		want := []string{"inflight/existing"}
		if key == "inflight/existing" {
			want = append(want, "inflight/new") // committed in round one
		}
		if !slices.Equal(keys, want) {
			t.Errorf("List during Put = %q, want %q", keys, want)
		}

		if _, err := pw.Write(half); err != nil {
			t.Fatalf("%s: feeding second half: %v", key, err)
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
		if got := mustRead(t, s, key); !bytes.Equal(got, append(half, half...)) {
			t.Errorf("after Put(%s) read %d bytes, want the new blob", key, len(got))
		}
	}
}

func testSizeMismatch(t *testing.T, s storage.Store) {
	ctx := t.Context()
	old := []byte("previous")
	big := pattern(200 << 10)

	tests := []struct {
		name string
		r    func() io.Reader
		size int64
	}{
		{"short", func() io.Reader { return onlyReader(big[:100]) }, 200},
		{"long", func() io.Reader { return onlyReader(big[:300]) }, 200},
		{"long by one", func() io.Reader { return onlyReader(big[:201]) }, 200},
		{"short seekable", func() io.Reader { return bytes.NewReader(big[:100]) }, 200},
		{"long seekable", func() io.Reader { return bytes.NewReader(big[:300]) }, 200},
		{"empty for one", func() io.Reader { return onlyReader(nil) }, 1},
		{"one for empty", func() io.Reader { return onlyReader(big[:1]) }, 0},
		{"one for empty seekable", func() io.Reader { return bytes.NewReader(big[:1]) }, 0},
		{"big short", func() io.Reader { return onlyReader(big[:len(big)-1]) }, int64(len(big))},
		{"big long", func() io.Reader { return onlyReader(big) }, int64(len(big) - 1)},
		{"slow long", func() io.Reader { return oneByteReader{onlyReader(big[:300])} }, 200},
	}
	for i, tc := range tests {
		newKey := fmt.Sprintf("mismatch/%d/new", i)
		oldKey := fmt.Sprintf("mismatch/%d/existing", i)
		mustPut(t, s, oldKey, onlyReader(old), int64(len(old)))
		for _, key := range []string{newKey, oldKey} {
			err := s.Put(ctx, key, tc.r(), tc.size)
			if !errors.Is(err, storage.ErrSizeMismatch) {
				t.Errorf("%s: Put(%s) = %v, want ErrSizeMismatch", tc.name, key, err)
			}
		}
		if fi, err := s.Stat(ctx, newKey); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("%s: Stat after failed Put = %+v, %v; want ErrNotExist", tc.name, fi, err)
		}
		if got := mustRead(t, s, oldKey); !bytes.Equal(got, old) {
			t.Errorf("%s: failed Put changed existing blob to %d bytes", tc.name, len(got))
		}
	}
	if infos := list(t, s, ""); len(infos) != len(tests) {
		t.Errorf("List after failed Puts found %d blobs, want only the %d existing ones", len(infos), len(tests))
	}
}

func testReaderError(t *testing.T, s storage.Store) {
	ctx := t.Context()
	old := []byte("previous")
	mustPut(t, s, "readerr/existing", onlyReader(old), int64(len(old)))
	data := pattern(300 << 10)
	for _, size := range []int64{int64(len(data)), -1} {
		for _, key := range []string{"readerr/new", "readerr/existing"} {
			r := &failingReader{r: bytes.NewReader(data), after: 100 << 10}
			err := s.Put(ctx, key, r, size)
			if !errors.Is(err, errBoom) {
				t.Errorf("Put(%s, size %d) with a failing reader = %v, want the reader's error", key, size, err)
			}
		}
		if fi, err := s.Stat(ctx, "readerr/new"); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("size %d: Stat after failed Put = %+v, %v; want ErrNotExist", size, fi, err)
		}
		if got := mustRead(t, s, "readerr/existing"); !bytes.Equal(got, old) {
			t.Errorf("size %d: failed Put changed existing blob to %d bytes", size, len(got))
		}
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustPut(t, s, "x", onlyReader([]byte("x")), 1)
	keys := []string{
		"", "../x", "a/../x", "..", ".", "/abs", "/x", "a//b", "a/./b", "./a",
		"a/", "a\x00b", "a\\b", "..\\x", "a\nb", "a\x7fb", strings.Repeat("k", 2000),
	}
	for _, key := range keys {
		if err := s.Put(ctx, key, onlyReader([]byte("x")), 1); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if rc, _, err := s.Open(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"../", "/", "a//", "..", "a\\"} {
		err := s.List(ctx, prefix, func(fi storage.Info) error {
			t.Errorf("List(%q) reported %q", prefix, fi.Key)
			return nil
		})
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("List(%q) = %v, want ErrInvalidKey", prefix, err)
		}
	}
	if infos := list(t, s, ""); len(infos) != 1 {
		t.Errorf("List after invalid Puts = %+v, want only x", infos)
	}
}

func testNotExist(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustPut(t, s, "dir/sub/blob", onlyReader([]byte("x")), 1)
	// Absent keys, including prefixes of existing keys (directories on a
	// filesystem) and keys "below" an existing blob.
	for _, key := range []string{"absent", "dir/absent", "dir", "dir/sub", "dir/sub/blob/below"} {
		if rc, _, err := s.Open(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotExist", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want ErrNotExist", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Delete(%q) = %v, want ErrNotExist", key, err)
		}
	}
	if got := mustRead(t, s, "dir/sub/blob"); string(got) != "x" {
		t.Errorf("blob changed to %q", got)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, key := range []string{"del/a/1", "del/a/2", "del/b/1"} {
		mustPut(t, s, key, onlyReader([]byte(key)), int64(len(key)))
	}
	if err := s.Delete(ctx, "del/a/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "del/a/1"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat after Delete = %v, want ErrNotExist", err)
	}
	if err := s.Delete(ctx, "del/a/1"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("second Delete = %v, want ErrNotExist", err)
	}
	// Removing the last blob under a prefix, then storing there again.
	if err := s.Delete(ctx, "del/b/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := keys(list(t, s, "del/")); !slices.Equal(got, []string{"del/a/2"}) {
		t.Errorf("List after Delete = %q, want [del/a/2]", got)
	}
	mustPut(t, s, "del/b/1", onlyReader([]byte("again")), 5)
	if got := mustRead(t, s, "del/b/1"); string(got) != "again" {
		t.Errorf("read after re-Put = %q", got)
	}
}

func testList(t *testing.T, s storage.Store) {
	stored := map[string]int{
		"p/a/1": 1, "p/a/2": 22, "p/ab/1": 3, "p/b/1": 0, "pq/1": 5, "other/1": 6,
	}
	for key, n := range stored {
		mustPut(t, s, key, onlyReader(pattern(n)), int64(n))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"other/1", "p/a/1", "p/a/2", "p/ab/1", "p/b/1", "pq/1"}},
		{"p/", []string{"p/a/1", "p/a/2", "p/ab/1", "p/b/1"}},
		{"p", []string{"p/a/1", "p/a/2", "p/ab/1", "p/b/1", "pq/1"}},
		{"p/a/", []string{"p/a/1", "p/a/2"}},
		{"p/a", []string{"p/a/1", "p/a/2", "p/ab/1"}},
		{"p/a/1", []string{"p/a/1"}},
		{"pq/", []string{"pq/1"}},
		{"nope/", nil},
		{"nope", nil},
		{"p/a/1/", nil},
	}
	for _, tc := range tests {
		infos := list(t, s, tc.prefix)
		if got := keys(infos); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
		for _, fi := range infos {
			if fi.Size != int64(stored[fi.Key]) || fi.ModTime.IsZero() {
				t.Errorf("List(%q) reported %+v, want size %d and a ModTime", tc.prefix, fi, stored[fi.Key])
			}
		}
	}
}

func testListStops(t *testing.T, s storage.Store) {
	for i := range 5 {
		key := fmt.Sprintf("stop/%d", i)
		mustPut(t, s, key, onlyReader([]byte(key)), int64(len(key)))
	}
	errStop := errors.New("stop here")
	calls := 0
	err := s.List(t.Context(), "stop/", func(storage.Info) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Errorf("List = %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("callback ran %d times after returning an error, want 1", calls)
	}
}

func testContextCancelled(t *testing.T, s storage.Store) {
	mustPut(t, s, "ctx/existing", onlyReader([]byte("x")), 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if err := s.Put(ctx, "ctx/new", onlyReader([]byte("x")), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Put = %v, want context.Canceled", err)
	}
	if rc, _, err := s.Open(ctx, "ctx/existing"); !errors.Is(err, context.Canceled) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Open = %v, want context.Canceled", err)
	}
	if _, err := s.Stat(ctx, "ctx/existing"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "ctx/existing"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete = %v, want context.Canceled", err)
	}
	if err := s.List(ctx, "", func(storage.Info) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List = %v, want context.Canceled", err)
	}
	if got := keys(list(t, s, "")); !slices.Equal(got, []string{"ctx/existing"}) {
		t.Errorf("List after cancelled calls = %q, want [ctx/existing]", got)
	}
}

// testCancelMidPut cancels the context while Put is reading.
func testCancelMidPut(t *testing.T, s storage.Store) {
	data := pattern(1 << 20)
	for _, size := range []int64{int64(len(data)), -1} {
		ctx, cancel := context.WithCancel(t.Context())
		r := &cancellingReader{r: bytes.NewReader(data), after: 256 << 10, cancel: cancel}
		err := s.Put(ctx, "cancel/mid", r, size)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("size %d: Put cancelled mid-stream = %v, want context.Canceled", size, err)
		}
		if _, err := s.Stat(t.Context(), "cancel/mid"); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("size %d: Stat after cancelled Put = %v, want ErrNotExist", size, err)
		}
	}
}

// testLargeBlob streams 20 MiB in and out, comparing SHA-256 digests; the
// blob is generated on the fly and never held in memory.
func testLargeBlob(t *testing.T, s storage.Store) {
	if testing.Short() {
		t.Skip("large blob skipped in -short mode")
	}
	ctx := t.Context()
	const size = 20 << 20
	key := "large/blob"
	h := sha256.New()
	src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1}), size), h)
	mustPut(t, s, key, src, size)
	want := h.Sum(nil)

	rc, fi, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if fi.Size != size {
		t.Errorf("Open size = %d, want %d", fi.Size, size)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if n != size || !bytes.Equal(h.Sum(nil), want) {
		t.Errorf("read back %d bytes with sha256 %x, want %d bytes with %x", n, h.Sum(nil), size, want)
	}

	// Seek into the middle of a large blob (a Range request for a resumed
	// download) and check against the generator.
	const off = size - 3<<20 - 12345
	if _, err := rc.Seek(off, io.SeekStart); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	got := make([]byte, 4096)
	if _, err := io.ReadFull(rc, got); err != nil {
		t.Fatalf("read after Seek: %v", err)
	}
	gen := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(io.Discard, gen, off); err != nil {
		t.Fatal(err)
	}
	wantPart := make([]byte, len(got))
	if _, err := io.ReadFull(gen, wantPart); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantPart) {
		t.Errorf("bytes at offset %d differ from what was stored", off)
	}
}

// testConcurrentPuts races writers of one key: the survivor is one of them,
// whole.
func testConcurrentPuts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const writers = 8
	key := "concurrent/key"
	content := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 64<<10+i*1000) }
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			b := content(i)
			errs[i] = s.Put(ctx, key, onlyReader(b), int64(len(b)))
		})
	}
	// Readers during the race see nothing or one whole blob.
	for range 4 {
		wg.Go(func() {
			rc, _, err := s.Open(ctx, key)
			if errors.Is(err, storage.ErrNotExist) {
				return
			}
			if err != nil {
				t.Errorf("Open during concurrent Puts: %v", err)
				return
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				return // e.g. S3 refusing a changed ETag: no mixed data
			}
			if !isContent(b, content) {
				t.Errorf("read during concurrent Puts a torn blob of %d bytes", len(b))
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	b := mustRead(t, s, key)
	if !isContent(b, content) {
		t.Errorf("after concurrent Puts the blob is %d bytes starting %q: not one writer's whole content", len(b), b[:min(len(b), 8)])
	}
	if infos := list(t, s, "concurrent/"); len(infos) != 1 || infos[0].Size != int64(len(b)) {
		t.Errorf("List after concurrent Puts = %+v, want one blob of %d bytes", infos, len(b))
	}
}

func isContent(b []byte, content func(int) []byte) bool {
	if len(b) == 0 {
		return false
	}
	i := int(b[0] - 'a')
	return i >= 0 && i < 26 && bytes.Equal(b, content(i))
}

func testSeekRead(t *testing.T, s storage.Store) {
	data := pattern(100_000)
	key := "seek/blob"
	mustPut(t, s, key, onlyReader(data), int64(len(data)))
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()

	steps := []struct {
		offset int64
		whence int
		pos    int64 // expected position after Seek
		n      int   // bytes to read
	}{
		{0, io.SeekEnd, int64(len(data)), 0}, // what http.ServeContent does first
		{0, io.SeekStart, 0, 10},
		{500, io.SeekStart, 500, 100},
		{1000, io.SeekCurrent, 1600, 50},
		{-10, io.SeekEnd, int64(len(data) - 10), 10},
		{0, io.SeekStart, 0, 5},
		{99_000, io.SeekStart, 99_000, 1000},
	}
	for _, st := range steps {
		pos, err := rc.Seek(st.offset, st.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", st.offset, st.whence, err)
		}
		if pos != st.pos {
			t.Fatalf("Seek(%d, %d) = %d, want %d", st.offset, st.whence, pos, st.pos)
		}
		got := make([]byte, st.n)
		if _, err := io.ReadFull(rc, got); err != nil {
			t.Fatalf("read %d bytes at %d: %v", st.n, pos, err)
		}
		if !bytes.Equal(got, data[pos:pos+int64(st.n)]) {
			t.Errorf("read at %d differs from what was stored", pos)
		}
	}
	// At the end, Read reports io.EOF.
	if _, err := rc.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, io.EOF", n, err)
	}
}

// testServeContentRange serves a blob the way the HTTP layer does.
func testServeContentRange(t *testing.T, s storage.Store) {
	data := pattern(10_000)
	key := "serve/blob"
	mustPut(t, s, key, onlyReader(data), int64(len(data)))
	tests := []struct {
		rng    string
		status int
		want   []byte
	}{
		{"", http.StatusOK, data},
		{"bytes=100-199", http.StatusPartialContent, data[100:200]},
		{"bytes=-50", http.StatusPartialContent, data[len(data)-50:]},
		{"bytes=9990-", http.StatusPartialContent, data[9990:]},
	}
	for _, tc := range tests {
		rc, fi, err := s.Open(t.Context(), key)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		req := httptest.NewRequest(http.MethodGet, "/files/blob.whl", nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		rec := httptest.NewRecorder()
		http.ServeContent(rec, req, "blob.whl", fi.ModTime, rc)
		rc.Close()
		if rec.Code != tc.status || !bytes.Equal(rec.Body.Bytes(), tc.want) {
			t.Errorf("Range %q: status %d with %d bytes, want %d with %d", tc.rng, rec.Code, rec.Body.Len(), tc.status, len(tc.want))
		}
	}
}

func testContentAddressedKey(t *testing.T, s storage.Store) {
	data := []byte("wheel bytes")
	sum := sha256.Sum256(data)
	key := storage.Key(fmt.Sprintf("%X", sum)) // upper case is accepted
	if want := fmt.Sprintf("sha256/%x/%x/%x", sum[:1], sum[1:2], sum); key != want {
		t.Fatalf("Key = %q, want %q", key, want)
	}
	if err := storage.PutBytes(t.Context(), s, key, data); err != nil {
		t.Fatalf("PutBytes: %v", err)
	}
	if got := mustRead(t, s, key); !bytes.Equal(got, data) {
		t.Errorf("read %q, want %q", got, data)
	}
	if err := storage.PutBytes(t.Context(), s, storage.Key("../../etc/passwd"), data); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("PutBytes under the Key of a bad digest = %v, want ErrInvalidKey", err)
	}
}

// Helpers.

func mustPut(t *testing.T, s storage.Store, key string, r io.Reader, size int64) {
	t.Helper()
	if err := s.Put(t.Context(), key, r, size); err != nil {
		t.Fatalf("Put(%q, size %d): %v", key, size, err)
	}
}

func mustRead(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	rc, fi, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	if int64(len(b)) != fi.Size {
		t.Errorf("Open(%q) reported size %d but read %d bytes", key, fi.Size, len(b))
	}
	return b
}

// list returns List's results sorted by key.
func list(t *testing.T, s storage.Store, prefix string) []storage.Info {
	t.Helper()
	var infos []storage.Info
	err := s.List(t.Context(), prefix, func(fi storage.Info) error {
		infos = append(infos, fi)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	slices.SortFunc(infos, func(a, b storage.Info) int { return strings.Compare(a.Key, b.Key) })
	return infos
}

func keys(infos []storage.Info) []string {
	var ks []string
	for _, fi := range infos {
		ks = append(ks, fi.Key)
	}
	return ks
}

// pattern returns n bytes that differ at every offset modulo 251.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// onlyReader hides every method but Read (no Seek, ReadAt or WriteTo), as
// for a network stream.
func onlyReader(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// failingReader returns errBoom after the first after bytes.
type failingReader struct {
	r     io.Reader
	after int
	n     int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errBoom
	}
	if len(p) > f.after-f.n {
		p = p[:f.after-f.n]
	}
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}

// cancellingReader calls cancel once after bytes have been read.
type cancellingReader struct {
	r      io.Reader
	after  int
	n      int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.n >= c.after {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
