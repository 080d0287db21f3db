package main_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
)

// TestMirrorFanOutPip: 50 real pips download at once a cold 20 MiB wheel
// that the upstream sends at 2 MiB/s (10 s). pip gives up on a read that
// waits longer than its --timeout (15 s by default; 5 s here, with no
// retry): every pip must be streamed the bytes as they arrive rather than
// wait for the whole download, and all get the same verified file, from
// one upstream GET.
func TestMirrorFanOutPip(t *testing.T) {
	if testing.Short() && !inCI() {
		t.Skip("end-to-end test skipped with -short")
	}
	clients := pips(t)
	pip := clients[len(clients)-1] // the newest
	const size, rate, n = 20 << 20, 2 << 20, 50

	whl, filename := bigWheel(t, size)
	sum := sha256.Sum256(whl)
	want := hex.EncodeToString(sum[:])
	page, _ := json.Marshal(map[string]any{
		"meta": map[string]any{"api-version": "1.1", "_last-serial": 1},
		"name": "slowpkg",
		"files": []map[string]any{{"filename": filename, "url": "/packages/" + filename,
			"hashes": map[string]string{"sha256": want}, "size": len(whl), "upload-time": "2024-01-01T00:00:00.000000Z"}},
	})
	var gets atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/slowpkg/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			w.Write(page)
		case "/packages/" + filename:
			gets.Add(1)
			w.Header().Set("Content-Length", strconv.Itoa(len(whl)))
			const chunk = 64 << 10
			for off := 0; off < len(whl); off += chunk {
				if _, err := w.Write(whl[off:min(off+chunk, len(whl))]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-time.After(time.Second * chunk / rate):
				case <-r.Context().Done():
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer up.Close()
	m := startServer(t, func(c *pyindex.Config) {
		c.Mirror.Upstream = up.URL + "/simple/"
		c.Mirror.FileTimeout = 2 * time.Minute
	})

	dirs := make([]string, n)
	outs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		dirs[i] = t.TempDir()
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, pip.python, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
				"--disable-pip-version-check", "--progress-bar", "off", "--timeout", "5", "--retries", "0",
				"--index-url", m.URL()+"/simple/", "--dest", dirs[i], "slowpkg==1.0")
			cmd.Env = cleanEnv()
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("pip %d: %v\n%s", i, errs[i], outs[i])
			continue
		}
		if got := sha256File(t, filepath.Join(dirs[i], filename)); got != want {
			t.Errorf("pip %d downloaded sha256 %s, want %s", i, got, want)
		}
	}
	if g := gets.Load(); g != 1 {
		t.Errorf("upstream GETs of the wheel = %d, want 1 for %d pips", g, n)
	}
}

// bigWheel builds a valid wheel of slowpkg 1.0 holding size random
// bytes, stored uncompressed.
func bigWheel(t *testing.T, size int) ([]byte, string) {
	t.Helper()
	blob := make([]byte, size)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"slowpkg/__init__.py", []byte("")},
		{"slowpkg/blob.bin", blob},
		{"slowpkg-1.0.dist-info/METADATA", []byte("Metadata-Version: 2.1\nName: slowpkg\nVersion: 1.0\n")},
		{"slowpkg-1.0.dist-info/WHEEL", []byte("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
		{"slowpkg-1.0.dist-info/RECORD", []byte("")},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), "slowpkg-1.0-py3-none-any.whl"
}
