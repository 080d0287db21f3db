package main_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// uploadBytes builds a twine-like upload of in-memory file data.
func uploadBytes(url, filename string, data []byte, name, version string) *http.Request {
	sum := sha256.Sum256(data)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, kv := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"name", name},
		{"version", version}, {"filetype", "bdist_wheel"}, {"pyversion", "py3"}, {"metadata_version", "2.1"},
		{"sha256_digest", hex.EncodeToString(sum[:])}} {
		w.WriteField(kv[0], kv[1])
	}
	fw, _ := w.CreateFormFile("content", filename)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/legacy/", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// pyindexBinary builds the real program once per test binary.
func pyindexBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pyindex-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "pyindex")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs "pyindex serve" as a separate process and waits until
// it answers /healthz.
func startProcess(t *testing.T, data string) (*exec.Cmd, string) {
	t.Helper()
	return startProcessEnv(t, data, "PYINDEX_MIRROR_UPSTREAM=")
}

// startProcessEnv is startProcess with extra environment variables.
func startProcessEnv(t *testing.T, data string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(pyindexBinary(t), "serve", "--data", data, "--listen", addr)
	cmd.Env = append(append(os.Environ(), "PYINDEX_LOG_LEVEL=warn"), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	for i := 0; i < 200; i++ {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, url
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start:\n%s", logs.String())
	return nil, ""
}

// TestKillDuringUploads kills the server with SIGKILL while uploads are in
// flight, restarts it on the same data, and checks that every listed file
// downloads whole with its hash, every upload that got 200 is there, and no
// temporary files remain.
func TestKillDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped with -short")
	}
	data := t.TempDir()
	cli(t, nil, "ci-password-1\n", "user", "add", "ci", "--password-stdin", "--data", data, "--init")
	proc, url := startProcess(t, data)

	type dist struct {
		name, version, filename string
		data                    []byte
	}
	var dists []dist
	for i := 0; i < 24; i++ {
		payload := make([]byte, 512<<10+i*64<<10)
		rand.Read(payload)
		name := fmt.Sprintf("crash_%02d", i)
		fn, _ := indextest.Wheel(t, name, "1.0", "")
		di := name + "-1.0.dist-info/"
		b := indextest.Zip(t, map[string]string{
			di + "METADATA": "Metadata-Version: 2.1\nName: " + strings.ReplaceAll(name, "_", "-") + "\nVersion: 1.0\n",
			di + "WHEEL":    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
			di + "RECORD":   "", name + "/blob.bin": string(payload),
		})
		dists = append(dists, dist{strings.ReplaceAll(name, "_", "-"), "1.0", fn, b})
	}

	var mu sync.Mutex
	accepted := map[string]string{} // filename -> sha256
	var wg sync.WaitGroup
	some := make(chan struct{}) // closed when a few uploads have landed
	client := &http.Client{Timeout: 20 * time.Second}
	for _, d := range dists {
		wg.Add(1)
		go func(d dist) {
			defer wg.Done()
			req := uploadBytes(url, d.filename, d.data, d.name, d.version)
			req.SetBasicAuth("ci", "ci-password-1")
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				sum := sha256.Sum256(d.data)
				mu.Lock()
				accepted[d.filename] = hex.EncodeToString(sum[:])
				if len(accepted) == 3 {
					close(some)
				}
				mu.Unlock()
			}
		}(d)
	}
	// Kill once some uploads have landed, so that others are in flight.
	select {
	case <-some:
	case <-time.After(10 * time.Second):
	}
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()
	wg.Wait()
	t.Logf("%d of %d uploads were acknowledged before the kill", len(accepted), len(dists))

	_, url = startProcess(t, data)
	// Temporary files are cleaned at start.
	if ents, _ := os.ReadDir(filepath.Join(data, "tmp")); len(ents) != 0 {
		t.Errorf("temporary uploads left after restart: %d", len(ents))
	}
	filepath.WalkDir(filepath.Join(data, "files"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("partial blob left after restart: %s", p)
		}
		return nil
	})
	// Every listed file downloads whole and matches its hash; every
	// acknowledged upload is listed.
	listed := map[string]bool{}
	link := regexp.MustCompile(`href="([^"#]+)#sha256=([0-9a-f]{64})"[^>]*>([^<]+)<`)
	for _, d := range dists {
		resp, err := http.Get(url + "/simple/" + d.name + "/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 404 {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(string(page), -1) {
			listed[m[3]] = true
			fr, err := http.Get(url + m[1])
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			io.Copy(h, fr.Body)
			fr.Body.Close()
			if got := hex.EncodeToString(h.Sum(nil)); fr.StatusCode != 200 || got != m[2] {
				t.Errorf("%s: status %d, sha256 %s, listed %s", m[3], fr.StatusCode, got, m[2])
			}
		}
	}
	for fn := range accepted {
		if !listed[fn] {
			t.Errorf("%s was acknowledged with 200 but is gone after the crash", fn)
		}
	}
	// Clients retry what failed; everything lands.
	for _, d := range dists {
		req := uploadBytes(url, d.filename, d.data, d.name, d.version)
		req.SetBasicAuth("ci", "ci-password-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("retry of %s: %d %s", d.filename, resp.StatusCode, b)
		}
	}
}

// TestKillDuringMirrorFetches kills the server while it is fetching files
// from the upstream for clients, restarts it, and checks that the cache
// holds no partial file: every file downloads whole with the upstream's
// hash, and no temporary file remains.
func TestKillDuringMirrorFetches(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped with -short")
	}
	up := mirrortest.Start(t, false)
	var dists []mirrortest.Dist
	for i := 0; i < 6; i++ {
		dists = append(dists, mirrortest.Wheel(mirrortest.Meta{Name: "crash-dep", Version: fmt.Sprintf("1.%d", i)}, "py3-none-any"))
	}
	up.AddProject("crash-dep", dists...)
	data := t.TempDir()
	proc, url := startProcessEnv(t, data, "PYINDEX_MIRROR_UPSTREAM="+up.SimpleURL())

	resp, err := http.Get(url + "/simple/crash-dep/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	link := regexp.MustCompile(`href="([^"#]+)#sha256=([0-9a-f]{64})"`)
	links := link.FindAllStringSubmatch(string(page), -1)
	if len(links) != len(dists) {
		t.Fatalf("page lists %d files, want %d:\n%s", len(links), len(dists), page)
	}
	before := up.Total()
	release := up.Hold() // the upstream sends headers, then stalls
	var wg sync.WaitGroup
	for _, l := range links {
		wg.Add(1)
		go func(u string) {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			if r, err := c.Get(url + u); err == nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		}(l[1])
	}
	time.Sleep(500 * time.Millisecond)
	if up.Total() == before {
		t.Fatal("no upstream file fetch was in flight at the kill")
	}
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()
	release()
	wg.Wait()

	_, url = startProcessEnv(t, data, "PYINDEX_MIRROR_UPSTREAM="+up.SimpleURL())
	for _, l := range links {
		r, err := http.Get(url + l[1])
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, r.Body)
		r.Body.Close()
		if got := hex.EncodeToString(h.Sum(nil)); r.StatusCode != 200 || got != l[2] {
			t.Errorf("%s after the crash: status %d, sha256 %s, want %s", l[1], r.StatusCode, got, l[2])
		}
	}
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasPrefix(d.Name(), ".tmp-") || (filepath.Base(filepath.Dir(p)) == "tmp" && strings.HasPrefix(d.Name(), "upload-"))) {
			t.Errorf("temporary file left after restart: %s", p)
		}
		return nil
	})
}
