package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
)

// The generic files' end-to-end tests drive the real server with the real
// curl, as a CI job and a deploy job would (README, "Generic files").

// curlClient runs curl against one server.
type curlClient struct {
	t    *testing.T
	bin  string
	base string
}

func newCurl(t *testing.T, m *pyindex.Main) *curlClient {
	t.Helper()
	return &curlClient{t: t, bin: need(t, "curl"), base: m.URL()}
}

// do runs curl -sS with args (a server path in them, /generic/..., /api/...
// or /metrics, is made a URL) and returns
// the status code of the last response and the body printed on stdout.
func (c *curlClient) do(dir string, args ...string) (int, string) {
	c.t.Helper()
	full := []string{"-sS", "-w", "\n%{http_code}"}
	for _, a := range args {
		if strings.HasPrefix(a, "/generic/") || strings.HasPrefix(a, "/api/") || a == "/metrics" {
			a = c.base + a
		}
		full = append(full, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, full...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			c.t.Fatalf("curl %s: %v\n%s", strings.Join(full, " "), err, errOut.String())
		}
	}
	s := out.String()
	i := strings.LastIndexByte(s, '\n')
	code, err := strconv.Atoi(s[i+1:])
	if err != nil {
		c.t.Fatalf("curl %s: no status in %q (%s)", strings.Join(full, " "), s, errOut.String())
	}
	return code, s[:i]
}

// want runs do and fails the test unless the status is code.
func (c *curlClient) want(code int, args ...string) string {
	c.t.Helper()
	got, body := c.do("", args...)
	if got != code {
		c.t.Fatalf("curl %s: %d %s, want %d", strings.Join(args, " "), got, body, code)
	}
	return body
}

// writeTemp writes body to a file called name in a fresh folder.
func writeTemp(t *testing.T, name string, body []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runAt starts a server on data (an existing folder) and returns it; the
// caller closes it (a restart test closes and reopens).
func runAt(t *testing.T, data string, mutate func(*pyindex.Config)) *pyindex.Main {
	t.Helper()
	cfg := pyindex.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.LogLevel, cfg.Mirror.Upstream = "127.0.0.1:0", data, "warn", ""
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := pyindex.NewMain(cfg, &testLogWriter{t: t})
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGenericFilesCurl is issue 19's acceptance test on the filesystem
// backend: uploads of three versions, a retry, a conflict, a bad checksum,
// tokens, Range and HEAD, latest skipping a pre-release, hostile names,
// browsing, delete, a retention dry run and run (API and CLI), the audit
// log, metrics, and a restart.
func TestGenericFilesCurl(t *testing.T) {
	data := t.TempDir()
	m := runAt(t, data, nil)
	closed := false
	t.Cleanup(func() {
		if !closed {
			m.Close()
		}
	})
	addUser(t, m, "ci", "ci-password-1", false)
	addUser(t, m, "eve", "eve-password-1", false)
	addUser(t, m, "root", "root-password-1", true)
	c := newCurl(t, m)
	ci, eve, root := "ci:ci-password-1", "eve:eve-password-1", "root:root-password-1"

	bodies := map[string][]byte{}
	for _, v := range []string{"1.0", "1.1", "2.0rc1"} {
		bodies[v] = []byte(strings.Repeat("myapp "+v+"\n", 1000))
		out := c.want(201, "-u", ci, "-T", writeTemp(t, "myapp.zip", bodies[v]), "/generic/MyApp/v"+v+"/myapp.zip")
		var rep map[string]any
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("upload reply %q: %v", out, err)
		}
		if rep["name"] != "myapp" || rep["version"] != v || rep["filename"] != "myapp.zip" || rep["sha256"] != hexSHA(bodies[v]) ||
			rep["size"] != float64(len(bodies[v])) || rep["url"] != m.URL()+"/generic/myapp/"+v+"/myapp.zip" {
			t.Errorf("upload reply: %s", out)
		}
	}
	t.Run("retry", func(t *testing.T) {
		out := c.want(200, "-u", ci, "-T", writeTemp(t, "myapp.zip", bodies["1.1"]), "/generic/myapp/1.1/myapp.zip")
		if !strings.Contains(out, `"created":false`) {
			t.Errorf("retry: %s", out)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		out := c.want(409, "-u", ci, "-T", writeTemp(t, "myapp.zip", []byte("other")), "/generic/myapp/1.1/myapp.zip")
		if !strings.Contains(out, "never replaced") {
			t.Errorf("conflict: %s", out)
		}
		if got := c.want(200, "/generic/myapp/1.1/myapp.zip"); got != string(bodies["1.1"]) {
			t.Error("the conflict replaced the file")
		}
	})
	t.Run("checksum", func(t *testing.T) {
		dev := []byte("a dev build")
		f := writeTemp(t, "myapp.zip", dev)
		c.want(400, "-u", ci, "-T", f, "-H", "X-Checksum-Sha256: "+hexSHA([]byte("something else")), "/generic/myapp/1.2.dev1/myapp.zip")
		c.want(404, "/generic/myapp/1.2.dev1/myapp.zip")
		// A token, as twine's __token__, with the right checksum.
		_, secret, err := m.Catalog.CreateToken(context.Background(), index.NewToken{User: "ci", Scope: index.ScopeUpload}, "test")
		if err != nil {
			t.Fatal(err)
		}
		c.want(201, "-u", "__token__:"+secret, "-T", f, "-H", "X-Checksum-Sha256: "+hexSHA(dev), "/generic/myapp/1.2.dev1/myapp.zip")
		bodies["1.2.dev1"] = dev
	})
	t.Run("refusals", func(t *testing.T) {
		f := writeTemp(t, "x.zip", []byte("x"))
		c.want(401, "-T", f, "/generic/myapp/3.0/x.zip")
		c.want(401, "-u", "ci:wrong", "-T", f, "/generic/myapp/3.0/x.zip")
		c.want(403, "-u", eve, "-T", f, "/generic/myapp/3.0/x.zip")
		_, readTok, _ := m.Catalog.CreateToken(context.Background(), index.NewToken{User: "ci", Scope: index.ScopeRead}, "test")
		c.want(403, "-u", "__token__:"+readTok, "-T", f, "/generic/myapp/3.0/x.zip")
	})
	t.Run("range and head", func(t *testing.T) {
		if got := c.want(206, "-r", "0-11", "/generic/myapp/1.0/myapp.zip"); got != "myapp 1.0\nmy" {
			t.Errorf("range: %q", got)
		}
		head := c.want(200, "-I", "/generic/myapp/1.0/myapp.zip")
		for _, h := range []string{"Content-Length: " + strconv.Itoa(len(bodies["1.0"])), `Etag: "` + hexSHA(bodies["1.0"]) + `"`,
			"Cache-Control: max-age=365000000, immutable, public", "Accept-Ranges: bytes", "Content-Type: application/zip"} {
			if !strings.Contains(head, h) {
				t.Errorf("HEAD lacks %q:\n%s", h, head)
			}
		}
		c.want(304, "-H", `If-None-Match: "`+hexSHA(bodies["1.0"])+`"`, "/generic/myapp/1.0/myapp.zip")
	})
	t.Run("latest", func(t *testing.T) {
		dir := t.TempDir()
		if code, out := c.do(dir, "-fLO", "/generic/myapp/latest/myapp.zip"); code != 200 {
			t.Fatalf("curl -fLO latest: %d %s", code, out)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "myapp.zip")); !bytes.Equal(got, bodies["1.1"]) {
			t.Errorf("latest is not 1.1 (the pre-release and the dev build are skipped): %.20q", got)
		}
		if got := c.want(200, "-fL", "/generic/myapp/latest/myapp.zip?pre=1"); got != string(bodies["2.0rc1"]) {
			t.Errorf("latest with pre=1: %.20q", got)
		}
		c.want(404, "/generic/myapp/latest/nothing.zip")
	})
	t.Run("hostile names", func(t *testing.T) {
		f := writeTemp(t, "evil", []byte("evil"))
		for _, p := range []string{
			"/generic/myapp/1.0/..", "/generic/myapp/1.0/../../../evil", "/generic/myapp/1.0/%2e%2e%2f%2e%2e%2fevil",
			"/generic/myapp/1.0/a%2Fevil", "/generic/myapp/1.0/a%5Cevil", "/generic/myapp/1.0/evil%00.zip", "/generic/myapp/1.0/.evil",
			"/generic/myapp/1.0/evil%0d%0aSet-Cookie:x", "/generic/myapp/1.0/" + strings.Repeat("e", 256), "/generic/../myapp/1.0/evil",
			"/generic/my%2Fapp/1.0/evil", "/generic/myapp/1.0%2F..%2F/evil", "/generic/-evil-/1.0/evil", "/generic/myapp/latest/evil",
		} {
			code, out := c.do("", "--path-as-is", "-u", ci, "-T", f, p)
			if code != 400 && code != 404 {
				t.Errorf("PUT %s: %d %s", p, code, out)
			}
			if code, _ := c.do("", "--path-as-is", p); code != 404 && code != 400 {
				t.Errorf("GET %s: %d", p, code)
			}
		}
		if err := filepath.WalkDir(filepath.Dir(data), func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), "evil") && !strings.HasPrefix(p, filepath.Dir(f)) {
				t.Errorf("a hostile upload wrote %s", p)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("browse", func(t *testing.T) {
		var detail struct {
			Versions []struct {
				Version string `json:"version"`
				Files   []struct {
					Filename   string `json:"filename"`
					SHA256     string `json:"sha256"`
					UploadedBy string `json:"uploaded_by"`
				} `json:"files"`
			} `json:"versions"`
		}
		if err := json.Unmarshal([]byte(c.want(200, "/api/v1/generic/myapp")), &detail); err != nil {
			t.Fatal(err)
		}
		var vs []string
		for _, v := range detail.Versions {
			vs = append(vs, v.Version)
		}
		if strings.Join(vs, " ") != "2.0rc1 1.2.dev1 1.1 1.0" || detail.Versions[0].Files[0].UploadedBy != "ci" {
			t.Errorf("versions: %+v", detail)
		}
		if out := c.want(200, "/api/v1/generic"); !strings.Contains(out, `"name":"myapp"`) || !strings.Contains(out, `"latest":"1.1"`) {
			t.Errorf("list: %s", out)
		}
	})
	t.Run("owners", func(t *testing.T) {
		f := writeTemp(t, "eve.zip", []byte("eve"))
		c.want(403, "-u", eve, "-T", f, "/generic/myapp/1.0/eve.zip")
		var out bytes.Buffer
		cmd := pyindex.NewRootCmd(strings.NewReader(""), &out, &out, func(string) (string, bool) { return "", false })
		cmd.SetArgs([]string{"generic", "owner", "add", "MyApp", "eve", "--data", data})
		if err := cmd.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "owners of myapp: ci, eve") {
			t.Fatalf("pyindex generic owner add: %v\n%s", err, out.String())
		}
		c.want(201, "-u", eve, "-T", f, "/generic/myapp/1.0/eve.zip")
		c.want(200, "-u", eve, "-X", "DELETE", "/api/v1/generic/myapp/1.0/eve.zip")
		c.want(204, "-u", ci, "-X", "DELETE", "/api/v1/generic/myapp/owners/eve")
	})
	t.Run("delete", func(t *testing.T) {
		c.want(403, "-u", eve, "-X", "DELETE", "/api/v1/generic/myapp/1.0")
		out := c.want(200, "-u", ci, "-X", "DELETE", "/api/v1/generic/myapp/1.0/myapp.zip")
		if !strings.Contains(out, `"freed":`+strconv.Itoa(len(bodies["1.0"]))) {
			t.Errorf("delete: %s", out)
		}
		c.want(404, "/generic/myapp/1.0/myapp.zip")
		c.want(404, "-u", ci, "-X", "DELETE", "/api/v1/generic/myapp/1.0")
	})
	t.Run("retention", func(t *testing.T) {
		c.want(201, "-u", ci, "-T", writeTemp(t, "myapp.zip", []byte("1.3")), "/generic/myapp/1.3/myapp.zip")
		bodies["1.3"] = []byte("1.3")
		dry := c.want(200, "-u", root, "-H", "Content-Type: application/json", "-d", `{"keep":2,"all":true,"dry_run":true}`, "/api/v1/generic/prune")
		// Newest first: 2.0rc1, 1.3 stay; 1.2.dev1 and 1.1 would go.
		if !strings.Contains(dry, `"version":"1.1"`) || !strings.Contains(dry, `"version":"1.2.dev1"`) || strings.Contains(dry, `"version":"1.3"`) ||
			!strings.Contains(dry, `"dry_run":true`) {
			t.Errorf("dry run: %s", dry)
		}
		c.want(200, "/generic/myapp/1.1/myapp.zip")
		c.want(403, "-u", ci, "-H", "Content-Type: application/json", "-d", `{"keep":2}`, "/api/v1/generic/prune")
		// The CLI, while the server runs: dev builds (the default scope)
		// older than a nanosecond, that is 1.2.dev1.
		var out bytes.Buffer
		cmd := pyindex.NewRootCmd(strings.NewReader(""), &out, &out, func(string) (string, bool) { return "", false })
		cmd.SetArgs([]string{"generic", "prune", "--data", data, "--older-than", "1ns", "--name", "myapp"})
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("pyindex generic prune: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "1.2.dev1") || !strings.Contains(out.String(), "deleted 1 versions") {
			t.Errorf("CLI prune:\n%s", out.String())
		}
		c.want(404, "/generic/myapp/1.2.dev1/myapp.zip")
		c.want(200, "-u", root, "-H", "Content-Type: application/json", "-d", `{"keep":2,"all":true}`, "/api/v1/generic/prune")
		c.want(404, "/generic/myapp/1.1/myapp.zip")
		if got := c.want(200, "-fL", "/generic/myapp/latest/myapp.zip"); got != "1.3" {
			t.Errorf("latest after the prune: %q", got)
		}
	})
	t.Run("audit and metrics", func(t *testing.T) {
		up := c.want(200, "-u", root, "/api/v1/audit?action=generic-upload")
		if strings.Count(up, `"action":"generic-upload"`) != 6 || !strings.Contains(up, `"filename":"myapp.zip"`) {
			t.Errorf("uploads in the audit log: %s", up)
		}
		del := c.want(200, "-u", root, "/api/v1/audit?action=generic-delete")
		if strings.Count(del, `"action":"generic-delete"`) != 4 || !strings.Contains(del, `"actor":"ci"`) || !strings.Contains(del, `"detail":"prune: keep"`) {
			t.Errorf("deletes in the audit log: %s", del)
		}
		met := c.want(200, "/metrics")
		for _, want := range []string{`pyindex_generic_upload_files_total{result="stored"} 6`, `pyindex_generic_upload_files_total{result="identical"} 1`,
			`pyindex_generic_deleted_files_total{via="delete"} 2`, `pyindex_generic_deleted_files_total{via="prune"} 1`,
			`pyindex_download_files_total{kind="file",source="generic"}`, `route="/generic/:name/:version/:file"`} {
			if !strings.Contains(met, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("restart", func(t *testing.T) {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		closed = true
		m2 := runAt(t, data, nil)
		defer m2.Close()
		c2 := newCurl(t, m2)
		if got := c2.want(200, "-fL", "/generic/myapp/latest/myapp.zip"); got != "1.3" {
			t.Errorf("latest after a restart: %q", got)
		}
		if got := c2.want(200, "/generic/myapp/2.0rc1/myapp.zip"); got != string(bodies["2.0rc1"]) {
			t.Error("2.0rc1 after a restart differs")
		}
		c2.want(200, "-u", ci, "-T", writeTemp(t, "myapp.zip", bodies["2.0rc1"]), "/generic/myapp/2.0rc1/myapp.zip")
		c2.want(409, "-u", ci, "-T", writeTemp(t, "myapp.zip", []byte("x")), "/generic/myapp/2.0rc1/myapp.zip")
		var out bytes.Buffer
		cmd := pyindex.NewRootCmd(strings.NewReader(""), &out, &out, func(string) (string, bool) { return "", false })
		cmd.SetArgs([]string{"fsck", "--data", data})
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Errorf("fsck after the run: %v\n%s", err, out.String())
		}
	})
}

// heapSampler records the peak of the Go heap's live and unswept objects
// while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := heapObjects(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}

// TestGenericLargeUpload uploads and downloads 300 MiB with curl while
// the Go heap of the process (the server runs in it) is sampled: the body
// is streamed to disk while hashed and sent back from the file, so the
// heap grows by a few buffers, not by the file.
func TestGenericLargeUpload(t *testing.T) {
	const size = 300 << 20
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	c := newCurl(t, m)
	big := filepath.Join(t.TempDir(), "bundle.zip")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{19})
	buf := make([]byte, 1<<20)
	for range size / len(buf) {
		rng.Read(buf)
		f.Write(buf)
		h.Write(buf)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	buf = nil

	const budget = 64 << 20 // a fifth of the file
	runtime.GC()
	base := heapObjects()
	s := startHeapSampler()
	out := c.want(201, "-u", "ci:ci-password-1", "-T", big, "-H", "X-Checksum-Sha256: "+want, "/generic/bundle/1.0/bundle.zip")
	peak := s.Stop()
	t.Logf("upload of %d MiB: heap %d MiB before, peak %d MiB", size>>20, base>>20, peak>>20)
	if peak > base+budget {
		t.Errorf("the heap grew by %d MiB during a %d MiB upload (budget %d MiB)", (peak-base)>>20, size>>20, budget>>20)
	}
	if !strings.Contains(out, fmt.Sprintf(`"size":%d`, size)) || !strings.Contains(out, want) {
		t.Errorf("reply: %s", out)
	}

	dl := filepath.Join(t.TempDir(), "got.zip")
	runtime.GC()
	base = heapObjects()
	s = startHeapSampler()
	c.want(200, "-fL", "-o", dl, "/generic/bundle/latest/bundle.zip")
	peak = s.Stop()
	t.Logf("download: heap %d MiB before, peak %d MiB", base>>20, peak>>20)
	if peak > base+budget {
		t.Errorf("the heap grew by %d MiB during a %d MiB download", (peak-base)>>20, size>>20)
	}
	if got := sha256File(t, dl); got != want {
		t.Errorf("downloaded sha256 %s, want %s", got, want)
	}
}

// TestGenericFilesS3 runs uploads, Range, latest, delete and a prune
// against a server whose blobs live in a real MinIO, streaming downloads
// and redirecting them to presigned URLs.
func TestGenericFilesS3(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)
	for _, presign := range []bool{false, true} {
		t.Run(fmt.Sprintf("presign=%v", presign), func(t *testing.T) {
			m := startServer(t, func(cfg *pyindex.Config) {
				cfg.Storage.Backend = "s3"
				s := &cfg.Storage.S3
				s.Endpoint, s.AccessKey, s.SecretKey = endpoint, ak, sk
				s.Bucket = "generic-" + randHex(t)
				s.Prefix = "pyindex"
				s.CreateBucket = true
				s.PresignDownloads = presign
			})
			addUser(t, m, "ci", "ci-password-1", false)
			addUser(t, m, "root", "root-password-1", true)
			c := newCurl(t, m)
			ci := "ci:ci-password-1"
			for _, v := range []string{"1.0", "1.1", "2.0rc1"} {
				c.want(201, "-u", ci, "-T", writeTemp(t, "app.zip", []byte("app "+v)), "/generic/app/"+v+"/app.zip")
			}
			c.want(200, "-u", ci, "-T", writeTemp(t, "app.zip", []byte("app 1.1")), "/generic/app/1.1/app.zip")
			c.want(409, "-u", ci, "-T", writeTemp(t, "app.zip", []byte("other")), "/generic/app/1.1/app.zip")
			if presign {
				head := c.want(302, "-I", "/generic/app/1.0/app.zip")
				if !strings.Contains(head, "Location: http://"+endpoint+"/") || !strings.Contains(head, "X-Amz-Signature=") {
					t.Errorf("no presigned redirect:\n%s", head)
				}
			}
			if got := c.want(206, "-L", "-r", "4-6", "/generic/app/1.0/app.zip"); got != "1.0" {
				t.Errorf("range: %q", got)
			}
			if got := c.want(200, "-fL", "/generic/app/latest/app.zip"); got != "app 1.1" {
				t.Errorf("latest: %q", got)
			}
			c.want(200, "-u", ci, "-X", "DELETE", "/api/v1/generic/app/1.0")
			c.want(404, "-L", "/generic/app/1.0/app.zip")
			c.want(200, "-u", "root:root-password-1", "-H", "Content-Type: application/json", "-d", `{"keep":1,"all":true}`, "/api/v1/generic/prune")
			if got := c.want(200, "-fL", "/generic/app/2.0rc1/app.zip"); got != "app 2.0rc1" {
				t.Errorf("kept version: %q", got)
			}
			c.want(404, "-L", "/generic/app/1.1/app.zip")
			code, out := c.do("", "-fL", "/generic/app/latest/app.zip")
			if code != 200 || out != "app 2.0rc1" {
				t.Errorf("latest with only a pre-release left: %d %q", code, out)
			}
		})
	}
}

// TestKillDuringGenericUploads kills the server process with SIGKILL while
// curl uploads generic files, restarts it on the same data, and checks that
// each version is either whole (its bytes and hash) or absent, that every
// upload answered 201 is there, and that no temporary file is left.
func TestKillDuringGenericUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped with -short")
	}
	curlBin := need(t, "curl")
	data := t.TempDir()
	var out bytes.Buffer
	cmd := pyindex.NewRootCmd(strings.NewReader("ci-password-1\n"), &out, &out, func(string) (string, bool) { return "", false })
	cmd.SetArgs([]string{"user", "add", "ci", "--password-stdin", "--data", data, "--init"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("user add: %v\n%s", err, out.String())
	}
	proc, url := startProcess(t, data)

	const n = 6
	bodies := make([][]byte, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		size := 1 << 10 // the first ones finish before the kill
		if i >= 2 {
			size = 16 << 20 // at 4 MiB/s: cut by the kill
		}
		bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, size)
		f := writeTemp(t, "bundle.zip", bodies[i])
		wg.Go(func() {
			c := exec.Command(curlBin, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--limit-rate", "4M", "-u", "ci:ci-password-1",
				"-T", f, fmt.Sprintf("%s/generic/bundle/1.%d/bundle.zip", url, i))
			c.Env = cleanEnv()
			b, _ := c.Output()
			codes[i] = string(b)
		})
	}
	time.Sleep(1500 * time.Millisecond)
	proc.Process.Kill()
	proc.Wait()
	wg.Wait()

	_, url = startProcess(t, data)
	c := &curlClient{t: t, bin: curlBin, base: url}
	present := 0
	for i := range n {
		code, body := c.do("", fmt.Sprintf("/generic/bundle/1.%d/bundle.zip", i))
		switch {
		case code == 200 && body == string(bodies[i]):
			present++
		case code == 200:
			t.Errorf("1.%d: %d bytes served, %d uploaded: a half file is visible", i, len(body), len(bodies[i]))
		case code != 404:
			t.Errorf("1.%d: %d", i, code)
		case codes[i] == "201":
			t.Errorf("1.%d was answered 201 and is gone after the restart", i)
		}
	}
	if present < 2 || present == n {
		t.Errorf("%d of %d versions present (codes %v): the kill did not land mid-upload", present, n, codes)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "tmp", "upload-*")); len(left) > 0 {
		t.Errorf("temporary files after the restart: %v", left)
	}
	out.Reset()
	cmd = pyindex.NewRootCmd(strings.NewReader(""), &out, &out, func(string) (string, bool) { return "", false })
	cmd.SetArgs([]string{"fsck", "--data", data, "--verify-hashes"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Errorf("fsck after the crash: %v\n%s", err, out.String())
	}
}
