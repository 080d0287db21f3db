package upload_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/upload"
)

// TestDribblingUploadIsCut: a client that sends an upload a byte at a
// time, each well inside body_timeout, held an upload slot for as long as
// it liked (with max_concurrent = 1, every real upload got 503). Under
// upload.min_rate it gets a 408 that says why, nothing is stored, and the
// slot is free again for the next upload.
func TestDribblingUploadIsCut(t *testing.T) {
	cfg := upload.DefaultConfig()
	cfg.MaxConcurrent = 1
	cfg.MinRate, cfg.RateWindow = 10<<10, time.Second
	en := newEnv(t, cfg)
	srv := httptest.NewServer(en.e)
	defer srv.Close()
	before := en.state()

	ct, body := multipartBody(t, distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1").parts())
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "POST /legacy/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		base64.StdEncoding.EncodeToString([]byte(user+":"+password)), ct, len(body))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// A byte every 20ms: 50 bytes a second, far inside body_timeout.
		for i := 0; i < len(body); i++ {
			if _, err := nc.Write(body[i : i+1]); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// While it dribbles, it holds the one slot.
	time.Sleep(200 * time.Millisecond)
	if rec := en.upload(distForm(t, "acme_util-0.2-py3-none-any.whl", "acme-util", "0.2")); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("an upload beside the dribbling one: %d %s, want 503 (the slot taken)", rec.Code, rec.Body)
	}

	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("no answer to a dribbling upload: %v", err)
	}
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(msg), "too slow") || strings.Count(string(msg), "\n") != 1 {
		t.Errorf("dribbling upload: %d %q, want 408 with a one-line message that it is too slow", res.StatusCode, msg)
	}
	en.unchanged(before)

	// The slot is free: a real upload now succeeds.
	if rec := en.upload(distForm(t, "acme_util-0.2-py3-none-any.whl", "acme-util", "0.2")); rec.Code != http.StatusOK {
		t.Errorf("an upload after the dribbling one was cut: %d %s", rec.Code, rec.Body)
	}
}

func TestRateConfig(t *testing.T) {
	cfg := upload.DefaultConfig()
	if cfg.MinRate <= 0 || cfg.RateWindow <= 0 || cfg.RateWindow >= cfg.BodyTimeout {
		t.Errorf("defaults: min_rate %v, rate_window %v, body_timeout %v", cfg.MinRate, cfg.RateWindow, cfg.BodyTimeout)
	}
	// A 1 GiB wheel at the minimum rate would take days: any real link
	// passes.
	if days := float64(cfg.MaxFileSize) / float64(cfg.MinRate) / 86400; days < 1 {
		t.Errorf("a max_file_size upload at min_rate takes %.1f days", days)
	}
	cfg.MinRate, cfg.RateWindow = 1024, 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "upload.rate_window") {
		t.Errorf("min_rate without rate_window: %v", err)
	}
	cfg.MinRate, cfg.RateWindow = -1, time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "upload.min_rate") {
		t.Errorf("negative min_rate: %v", err)
	}
	cfg.MinRate, cfg.RateWindow = 0, 0
	if err := cfg.Validate(); err != nil {
		t.Errorf("min_rate 0 (no minimum): %v", err)
	}
}
