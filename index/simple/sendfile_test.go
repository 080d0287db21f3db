package simple_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

// TestDownloadThroughServer serves a file through a real net/http server
// (where the body goes out with sendfile) and checks the bytes, a range,
// and the status and size echo's Response reports to the access log and
// metrics.
func TestDownloadThroughServer(t *testing.T) {
	en := newEnv(t, simple.Config{})
	fn, data := indextest.Wheel(t, "acme_util", "1.0", "Summary: "+string(bytes.Repeat([]byte("x"), 200000))+"\n")
	f := indextest.Seed(t, en.cat, en.store, fn, data)
	type seen struct {
		status int
		size   int64
	}
	ch := make(chan seen, 2)
	en.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			ch <- seen{c.Response().Status, c.Response().Size}
			return err
		}
	})
	srv := httptest.NewServer(en.e)
	defer srv.Close()
	url := srv.URL + "/files/" + f.SHA256 + "/" + fn

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET: %d, %d bytes (want %d)", resp.StatusCode, len(body), len(data))
	}
	if s := <-ch; s.status != http.StatusOK || s.size != int64(len(data)) {
		t.Errorf("echo saw status %d, size %d; want 200, %d", s.status, s.size, len(data))
	}

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Range", "bytes=10-19")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[10:20]) {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}
	if s := <-ch; s.status != http.StatusPartialContent || s.size != 10 {
		t.Errorf("range: echo saw status %d, size %d", s.status, s.size)
	}
}
