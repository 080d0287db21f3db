package mirror_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/storage"
)

// slowUpstream is an upstream index with one project, "slowpkg", whose one
// file it sends at a fixed rate, counting the GETs of the file.
type slowUpstream struct {
	*httptest.Server
	filename string
	page     []byte
	body     []byte // what the file's URL sends
	rate     int    // bytes a second
	gets     atomic.Int32
}

// startSlowUpstream serves a file of size random bytes at rate bytes a
// second. With corrupt, the bytes sent differ from the page's hash in
// the middle, which only the end of the download can tell.
func startSlowUpstream(t *testing.T, size, rate int, corrupt bool) (*slowUpstream, []byte) {
	t.Helper()
	want := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	u := &slowUpstream{filename: "slowpkg-1.0.tar.gz", body: want, rate: rate}
	if corrupt {
		u.body = append([]byte(nil), want...)
		u.body[size/2] ^= 0xff
	}
	sum := sha256.Sum256(want)
	page, err := json.Marshal(map[string]any{
		"meta": map[string]any{"api-version": "1.1", "_last-serial": 1},
		"name": "slowpkg",
		"files": []map[string]any{{
			"filename": u.filename, "url": "/packages/" + u.filename,
			"hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])},
			"size":   size, "upload-time": "2024-01-01T00:00:00.000000Z", "yanked": false,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	u.page = page
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u, want
}

func (u *slowUpstream) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/simple/slowpkg/":
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		w.Write(u.page)
	case "/packages/" + u.filename:
		u.gets.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(u.body)))
		const chunk = 64 << 10
		pause := time.Duration(float64(chunk) / float64(u.rate) * float64(time.Second))
		for off := 0; off < len(u.body); off += chunk {
			if _, err := w.Write(u.body[off:min(off+chunk, len(u.body))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// fanoutEnv is a mirror in front of u, with its spools in a folder of
// the test's (TMPDIR), returned.
func fanoutEnv(t *testing.T, u *slowUpstream) (*env, string) {
	t.Helper()
	data, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp) // after t.TempDir, which makes its folders there
	e := newEnv(t, nil, data, func(c *mirror.Config) {
		c.Upstream = u.URL + "/simple/"
		c.FileTimeout = time.Minute
	})
	e.Page("slowpkg")
	return e, tmp
}

// fetched is what one client of the fan-out got.
type fetched struct {
	status    int
	firstByte time.Duration // from the start, until the first body byte
	n         int64
	sha256    string
	err       error // the request's or the body's
}

func fetch(url string, start time.Time, hdr map[string]string, method string) fetched {
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return fetched{err: err}
	}
	defer resp.Body.Close()
	out := fetched{status: resp.StatusCode, firstByte: -1}
	h := sha256.New()
	one := make([]byte, 1)
	if n, err := io.ReadFull(resp.Body, one); n == 1 {
		out.firstByte = time.Since(start)
		h.Write(one)
		out.n = 1
	} else if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		out.err = err
		return out
	}
	n, err := io.Copy(h, resp.Body)
	out.n += n
	out.err = err
	out.sha256 = hex.EncodeToString(h.Sum(nil))
	return out
}

// TestFirstFetchFanOut: 50 clients ask at once for a cold 20 MiB file that
// the upstream sends at 2 MiB/s (10 s). Each gets its first byte within
// 2 s (pip gives up after 15 s without one) and the same verified bytes,
// from one upstream GET; a HEAD and a Range request asked meanwhile wait
// and are answered from the store; the spool is gone afterwards.
func TestFirstFetchFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s download")
	}
	const size, rate, clients = 20 << 20, 2 << 20, 50
	u, want := startSlowUpstream(t, size, rate, false)
	e, tmp := fanoutEnv(t, u)
	url := e.URL("/mirror/files/slowpkg/" + u.filename)
	wantSum := sum256(want)

	start := time.Now()
	got := make([]fetched, clients)
	var head, ranged fetched
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { got[i] = fetch(url, start, nil, http.MethodGet) })
	}
	wg.Go(func() {
		time.Sleep(200 * time.Millisecond) // while the download runs
		head = fetch(url, start, nil, http.MethodHead)
	})
	wg.Go(func() {
		time.Sleep(200 * time.Millisecond)
		ranged = fetch(url, start, map[string]string{"Range": "bytes=100-199"}, http.MethodGet)
	})
	wg.Wait()
	took := time.Since(start)

	for i, g := range got {
		if g.err != nil || g.status != 200 || g.n != size || g.sha256 != wantSum {
			t.Errorf("client %d: status %d, %d bytes, sha256 %s, err %v", i, g.status, g.n, g.sha256, g.err)
		}
		if g.firstByte < 0 || g.firstByte > 2*time.Second {
			t.Errorf("client %d: first byte after %v (the download took %v)", i, g.firstByte, took)
		}
	}
	if head.err != nil || head.status != 200 || head.n != 0 {
		t.Errorf("HEAD during the download: %d, %d bytes, %v", head.status, head.n, head.err)
	}
	if ranged.err != nil || ranged.status != http.StatusPartialContent || ranged.sha256 != sum256(want[100:200]) {
		t.Errorf("Range during the download: %d, %d bytes, %v", ranged.status, ranged.n, ranged.err)
	}
	if n := u.gets.Load(); n != 1 {
		t.Errorf("upstream file GETs = %d, want 1", n)
	}
	if got := lookups(e, "file", "miss"); got != clients+2 {
		t.Errorf("file misses = %v, want %d", got, clients+2)
	}

	// Stored once verified, and the spool removed.
	ctx := context.Background()
	if _, err := e.Store.Stat(ctx, storage.Key(wantSum)); err != nil {
		t.Errorf("the verified file is not stored: %v", err)
	}
	waitEmpty(t, tmp)
	if r := e.Get("/mirror/files/slowpkg/"+u.filename, nil); r.Status != 200 || sum256(r.Body) != wantSum || u.gets.Load() != 1 {
		t.Errorf("after the download: %d, sha256 %s, %d upstream GETs", r.Status, sum256(r.Body), u.gets.Load())
	}
}

// TestFirstFetchFanOutCorrupt: when the upstream's bytes do not match the
// hash on its page, every client streaming the download gets an error
// (a broken connection), never the whole wrong file, and nothing is
// stored.
func TestFirstFetchFanOutCorrupt(t *testing.T) {
	const size, rate, clients = 4 << 20, 4 << 20, 10
	u, want := startSlowUpstream(t, size, rate, true)
	e, tmp := fanoutEnv(t, u)
	url := e.URL("/mirror/files/slowpkg/" + u.filename)

	start := time.Now()
	got := make([]fetched, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { got[i] = fetch(url, start, nil, http.MethodGet) })
	}
	wg.Wait()
	for i, g := range got {
		if g.err == nil && g.status == 200 {
			t.Errorf("client %d: a complete 200 (%d bytes, sha256 %s) of a corrupt file", i, g.n, g.sha256)
		}
		if g.status == 200 && g.firstByte < 0 {
			t.Errorf("client %d: a 200 with no byte streamed (%v)", i, g.err)
		}
		if g.sha256 == sum256(u.body) {
			t.Errorf("client %d: got the corrupt bytes whole", i)
		}
	}
	if n := u.gets.Load(); n != 1 {
		t.Errorf("upstream file GETs = %d, want 1", n)
	}
	ctx := context.Background()
	for _, b := range [][]byte{want, u.body} {
		if _, err := e.Store.Stat(ctx, storage.Key(sum256(b))); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("a blob was stored for the corrupt download: %v", err)
		}
	}
	if f, err := e.Cat.MirrorFile(ctx, "slowpkg", u.filename); err != nil || f.BlobKey != "" {
		t.Errorf("catalog: %+v %v", f, err)
	}
	waitEmpty(t, tmp)
	// The next request fetches again, and fails again.
	if g := fetch(url, time.Now(), nil, http.MethodGet); g.err == nil && g.status == 200 {
		t.Errorf("a later request: complete %d", g.status)
	}
}

// waitEmpty waits until the spools in dir are gone.
func waitEmpty(t *testing.T, dir string) {
	t.Helper()
	var names []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			return
		}
		names = names[:0]
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	t.Errorf("left in the temporary folder: %s", fmt.Sprint(names))
}
