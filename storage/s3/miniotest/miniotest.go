// Package miniotest runs a real MinIO server for tests of the S3 backend.
//
// The server binary is found, in order, through the PYINDEX_TEST_MINIO
// environment variable, "minio" on PATH, and $GOBIN or $(go env GOPATH)/bin.
// .ci/install-minio.sh builds it. When it is missing the test is skipped,
// except with CI=true, where a missing server is a failure: a silent skip in
// CI proves nothing.
//
// Alternatively PYINDEX_TEST_S3_ENDPOINT (with PYINDEX_TEST_S3_ACCESS_KEY and
// PYINDEX_TEST_S3_SECRET_KEY) points the tests at an S3 server that is
// already running; no binary is started then.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by Start.
const (
	EnvBinary    = "PYINDEX_TEST_MINIO"
	EnvEndpoint  = "PYINDEX_TEST_S3_ENDPOINT"
	EnvAccessKey = "PYINDEX_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "PYINDEX_TEST_S3_SECRET_KEY"
)

const (
	startAttempts = 5
	readyTimeout  = 60 * time.Second
	stopTimeout   = 10 * time.Second
)

// Start starts a MinIO server on 127.0.0.1 with a fresh data directory under
// t.TempDir() and returns its endpoint ("127.0.0.1:port", no scheme) and root
// credentials. The server is stopped by t.Cleanup. If EnvEndpoint is set,
// Start returns that endpoint and the credentials from the environment
// instead. Start skips the test when no server binary is found, or fails it
// when CI=true.
func Start(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return ep, os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	}
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("miniotest: %v (CI=true: run .ci/install-minio.sh)", err)
		}
		t.Skipf("miniotest: %v; run .ci/install-minio.sh or set %s", err, EnvBinary)
	}

	accessKey = "pyindex-" + randomHex(4)
	secretKey = randomHex(16)
	dataDir := t.TempDir()
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("miniotest: pick a port: %v", err)
		}
		endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		srv, err := start(bin, endpoint, dataDir, accessKey, secretKey)
		if err == nil {
			t.Cleanup(func() {
				if err := srv.stop(); err != nil {
					t.Logf("miniotest: stop server: %v\n%s", err, srv.output())
				}
			})
			return endpoint, accessKey, secretKey
		}
		// Most likely the port was taken between picking and binding (on
		// 127.0.0.1 or [::1], which MinIO binds too): try another one.
		lastErr = err
	}
	t.Fatalf("miniotest: start %s failed %d times; last: %v", bin, startAttempts, lastErr)
	return "", "", ""
}

// Binary returns the path of the MinIO server binary, or an error saying
// where it looked.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s is not an executable file", EnvBinary, p)
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	dirs := goBinDirs()
	for _, dir := range dirs {
		if p := filepath.Join(dir, exe("minio")); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no minio server binary: %s unset, none on PATH or in %s", EnvBinary, strings.Join(dirs, ", "))
}

// goBinDirs lists where "go install" puts binaries: $GOBIN, else the bin
// directory of the first GOPATH entry. The environment (via go/build) is
// tried first; "go env" also sees settings made with "go env -w".
func goBinDirs() []string {
	var dirs []string
	add := func(gobin, gopath string) {
		if gobin != "" {
			dirs = append(dirs, gobin)
		}
		if list := filepath.SplitList(gopath); len(list) > 0 && list[0] != "" {
			dirs = append(dirs, filepath.Join(list[0], "bin"))
		}
	}
	add(os.Getenv("GOBIN"), build.Default.GOPATH)
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 2 {
			add(strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1]))
		}
	}
	return dirs
}

type server struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
	out  *syncBuffer
}

func start(bin, endpoint, dataDir, accessKey, secretKey string) (*server, error) {
	cmd := exec.Command(bin, "server", "--quiet", "--address", endpoint, dataDir)
	cmd.Env = append(withoutMinioEnv(os.Environ()),
		"MINIO_ROOT_USER="+accessKey,
		"MINIO_ROOT_PASSWORD="+secretKey,
		"MINIO_BROWSER=off", // no console listener on a second port
		"MINIO_UPDATE=off",
	)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &server{cmd: cmd, done: make(chan struct{}), out: out}
	go func() {
		srv.err = cmd.Wait()
		close(srv.done)
	}()
	if err := srv.waitReady("http://" + endpoint); err != nil {
		srv.stop()
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	return srv, nil
}

// waitReady polls until the server answers /minio/health/live (the process
// serves HTTP) and then /minio/health/cluster: live says 200 even before the
// object layer, bucket metadata and IAM are initialized, when S3 requests
// still fail with "Server not initialized yet".
func (s *server) waitReady(base string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for _, path := range []string{"/minio/health/live", "/minio/health/cluster"} {
		for !ok(client, base+path) {
			select {
			case <-s.done:
				return fmt.Errorf("server exited before it was ready: %v", s.err)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("server not ready after %v (waiting for %s)", readyTimeout, path)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func ok(client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop asks the server to shut down and kills it if it does not exit in
// time. Only the process Start created is signalled.
func (s *server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		s.cmd.Process.Kill() // e.g. Windows, where Interrupt is not supported
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("server did not exit on interrupt; killed")
	}
}

func (s *server) output() string { return s.out.String() }

// freePort asks the kernel for a free port. MinIO rejects port 0, so the
// port is released again before the server binds it; Start retries if
// someone else takes it in between.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func withoutMinioEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MINIO_") {
			out = append(out, kv)
		}
	}
	return out
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && (fi.Mode()&0o111 != 0 || filepath.Ext(p) == ".exe")
}

func exe(name string) string {
	if filepath.Separator == '\\' {
		return name + ".exe"
	}
	return name
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects the server's output; the process writes to it from
// exec's copying goroutines while tests may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
