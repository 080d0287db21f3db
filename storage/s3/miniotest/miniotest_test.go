package miniotest

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestStart(t *testing.T) {
	endpoint, ak, sk := Start(t)
	if ak == "" || sk == "" || !strings.HasPrefix(endpoint, "127.0.0.1:") && os.Getenv(EnvEndpoint) == "" {
		t.Fatalf("Start = %q, %q, %q", endpoint, ak, sk)
	}
	resp, err := http.Get("http://" + endpoint + "/minio/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health: %s", resp.Status)
	}
}

// Two servers at once get different ports.
func TestStartTwice(t *testing.T) {
	if os.Getenv(EnvEndpoint) != "" {
		t.Skip("external endpoint configured")
	}
	a, _, _ := Start(t)
	b, _, _ := Start(t)
	if a == b {
		t.Errorf("both servers on %s", a)
	}
}

// recorder is a testing.TB whose Skipf and Fatalf end the goroutine like
// the real ones, but only record the outcome.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	skipped bool
	failed  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	runtime.Goexit()
}

func run(tb testing.TB) *recorder {
	r := &recorder{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r)
	}()
	<-done
	return r
}

func TestMissingBinary(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "no-minio"))

	t.Setenv("CI", "")
	if r := run(t); !r.skipped || r.failed {
		t.Errorf("without CI: skipped %v, failed %v; want a skip", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	if r := run(t); !r.failed || r.skipped {
		t.Errorf("with CI=true: skipped %v, failed %v; want a failure", r.skipped, r.failed)
	}
}
