package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestBackupRestore backs up a running server to a folder and to a tar
// file, restores each into a fresh data folder, and serves the same files
// from it.
func TestBackupRestore(t *testing.T) {
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	dists := []testDist{
		loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1"),
		loadDist(t, "acme_util-0.1.tar.gz", "acme-util", "0.1"),
		loadDist(t, "acme_core-1.0-py3-none-any.whl", "acme-core", "1.0"),
	}
	for _, d := range dists {
		postUpload(t, m, "ci", "ci-password-1", d)
	}

	backups := t.TempDir()
	folder := filepath.Join(backups, "folder")
	tarFile := filepath.Join(backups, "backup.tar")
	for _, out := range []string{folder, tarFile} {
		got, err := runCLI(t, nil, "", "backup", out, "--data", m.Config.Data)
		if err != nil {
			t.Fatalf("backup %s: %v\n%s", out, err, got)
		}
		// 3 files, and the two wheels' PEP 658 metadata.
		if !strings.Contains(got, "3 files") || !strings.Contains(got, "5 blobs") {
			t.Errorf("backup %s said %q", out, got)
		}
		if out == folder && !strings.Contains(got, "hard-linked") {
			t.Errorf("a backup on the same filesystem should hard-link: %q", got)
		}
	}
	if out, err := runCLI(t, nil, "", "backup", tarFile, "--data", m.Config.Data); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing tar: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "", "backup", folder, "--data", m.Config.Data); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("backup into a non-empty folder: %v\n%s", err, out)
	}
	var man struct {
		Serial int64
		Blobs  int
	}
	b, err := os.ReadFile(filepath.Join(folder, "pyindex-backup.json"))
	if err != nil || json.Unmarshal(b, &man) != nil || man.Blobs != 5 || man.Serial == 0 {
		t.Errorf("manifest: %s (%v)", b, err)
	}
	// A later upload is not in the backups.
	later := loadDist(t, "acme_util-0.2-py3-none-any.whl", "acme-util", "0.2")
	postUpload(t, m, "ci", "ci-password-1", later)

	for _, in := range []string{folder, tarFile} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			out, err := runCLI(t, nil, "", "restore", in, "--data", data)
			if err != nil {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			if !strings.Contains(out, "3 files") || !strings.Contains(out, "5 blobs") {
				t.Errorf("restore said %q", out)
			}
			if out, err := runCLI(t, nil, "", "restore", in, "--data", data); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("restore into a non-empty folder: %v\n%s", err, out)
			}
			if out, err := runCLI(t, nil, "", "restore", in, "--data", data, "--force"); err != nil {
				t.Errorf("restore --force: %v\n%s", err, out)
			}

			r := startServer(t, func(c *pyindex.Config) { c.Data = data })
			// Restoring under a running server would split the catalog
			// (the server keeps the old one open): refused, nothing changed.
			if out, err := runCLI(t, nil, "", "restore", in, "--data", data, "--force"); err == nil || !strings.Contains(err.Error(), "a pyindex server is running on") {
				t.Errorf("restore --force under a running server: %v\n%s", err, out)
			}
			for _, d := range dists {
				code, body := get(t, r.URL()+"/files/"+d.sha256()+"/"+d.filename, "", "")
				if code != 200 || body != string(d.data) {
					t.Errorf("%s after restore: %d, %d bytes (want %d)", d.filename, code, len(body), len(d.data))
				}
			}
			if code, _ := get(t, r.URL()+"/files/"+later.sha256()+"/"+later.filename, "", ""); code != http.StatusNotFound {
				t.Errorf("a file uploaded after the backup is served after restore: %d", code)
			}
			// The restored users still upload.
			postUpload(t, r, "ci", "ci-password-1", later)
		})
	}

	if out, err := runCLI(t, nil, "", "restore", t.TempDir(), "--data", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "not a pyindex backup") {
		t.Errorf("restore of an empty folder: %v\n%s", err, out)
	}
	// A truncated tar file is refused.
	whole, err := os.ReadFile(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.tar")
	writeFile(t, cut, string(whole[:len(whole)*2/3]))
	if out, err := runCLI(t, nil, "", "restore", cut, "--data", filepath.Join(t.TempDir(), "z")); err == nil {
		t.Errorf("restore of a truncated tar succeeded:\n%s", out)
	}
	// A backup that did not finish has no manifest (it is written last).
	if err := os.Remove(filepath.Join(folder, "pyindex-backup.json")); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, nil, "", "restore", folder, "--data", filepath.Join(t.TempDir(), "y")); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("restore of a backup without its manifest: %v\n%s", err, out)
	}
}

// TestServeRefusesNewerCatalog: a downgrade gives a clear message.
func TestServeRefusesNewerCatalog(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "catalog.db")
	cat, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	indextest.MarkNewerSchema(t, path, "9999_from_the_future.sql")

	out, err := runCLI(t, nil, "", "serve", "--data", data, "--listen", "127.0.0.1:0", "--upstream", "")
	if err == nil {
		t.Fatalf("serve started on a catalog from a newer pyindex:\n%s", out)
	}
	for _, want := range []string{"refusing to start", "newer pyindex", "Downgrades are not supported", "9999_from_the_future.sql", "restore a backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLogFormat: --log-format beats PYINDEX_LOG_FORMAT, which beats
// the configuration file; the default is text.
func TestServeLogFormat(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "pyindex.toml")
	writeFile(t, conf, "log_format = \"json\"\n")
	for _, tc := range []struct {
		name string
		flag string
		env  map[string]string
		want string // "json", "text", or an error
	}{
		{"default", "", nil, "text"},
		{"flag", "json", nil, "json"},
		{"env", "", map[string]string{"PYINDEX_LOG_FORMAT": "json"}, "json"},
		{"flag beats env", "text", map[string]string{"PYINDEX_LOG_FORMAT": "json"}, "text"},
		{"config", "", map[string]string{"PYINDEX_CONFIG": conf}, "json"},
		{"env beats config", "", map[string]string{"PYINDEX_CONFIG": conf, "PYINDEX_LOG_FORMAT": "text"}, "text"},
		{"bad", "xml", nil, `log_format: "xml" is not text or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--upstream", ""}
			if tc.flag != "" {
				args = append(args, "--log-format", tc.flag)
			}
			var stdout, stderr syncBuffer
			cmd := pyindex.NewRootCmd(strings.NewReader(""), &stdout, &stderr, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			cmd.SetArgs(args)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- cmd.ExecuteContext(ctx) }()
			deadline := time.After(10 * time.Second)
			for !strings.Contains(stderr.String(), "pyindex serving") {
				select {
				case err := <-done:
					if tc.want == "json" || tc.want == "text" {
						t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
					}
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("serve --log-format %s: %v, want an error with %q", tc.flag, err, tc.want)
					}
					return
				case <-deadline:
					t.Fatalf("serve did not start:\n%s", stderr.String())
				case <-time.After(10 * time.Millisecond):
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			isJSON := json.Valid([]byte(first))
			if isJSON != (tc.want == "json") || (!isJSON && !strings.Contains(first, "level=")) {
				t.Errorf("want %s logs, got %q", tc.want, first)
			}
		})
	}
}

// TestGracefulShutdown closes the server in the middle of a slow upload:
// the upload completes with 200 and the file is there after a restart on
// the same data folder, while new connections are refused at once.
func TestGracefulShutdown(t *testing.T) {
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	d := loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1")
	ct, body := uploadForm(t, d)

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/legacy/", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth("ci", "ci-password-1")
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{code: resp.StatusCode, body: string(b)}
	}()

	half := len(body) / 2
	if _, err := pw.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server is reading the body
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-closed:
		t.Fatalf("Close returned during an upload: %v", err)
	default:
	}
	// Shutting down: new connections are refused.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	if resp, err := fresh.Get(m.URL() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a new connection was served during shutdown: %d", resp.StatusCode)
	}
	// The rest of the body, slowly.
	for rest := body[half:]; len(rest) > 0; {
		n := min(len(rest), 512)
		if _, err := pw.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
		time.Sleep(20 * time.Millisecond)
	}
	pw.Close()

	r := <-res
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("upload during shutdown: %d %q %v", r.code, r.body, r.err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}

	again := startServer(t, func(c *pyindex.Config) { c.Data = m.Config.Data })
	if code, page := get(t, again.URL()+"/simple/acme-util/", "", ""); code != 200 || !strings.Contains(page, d.filename) {
		t.Errorf("after restart the project page is %d:\n%s", code, page)
	}
	if code, b := get(t, again.URL()+"/files/"+d.sha256()+"/"+d.filename, "", ""); code != 200 || b != string(d.data) {
		t.Errorf("after restart the file is %d, %d bytes", code, len(b))
	}
}
