package fastlane

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestHeaderEnd(t *testing.T) {
	for _, tc := range []struct {
		buf  string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET", 27},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", 0},
		{"GET / HTTP/1.1\r", 0},
		{"", 0},
		{"GET / HTTP/1.1\nHost: x\n\n", -1},
		{"GET / HTTP/1.1\r\nHost: x\n", -1},
		{"GET / HTTP/1.1\r\nHost: x\r\n\n", -1},
		{"\n", -1},
	} {
		if got := headerEnd([]byte(tc.buf)); got != tc.want {
			t.Errorf("headerEnd(%q) = %d, want %d", tc.buf, got, tc.want)
		}
	}
}

// TestBareLF: net/http accepts lines ending in a bare LF; the lane hands
// such a request over at once instead of waiting for a CRLF CRLF that
// never comes (which left it unanswered until the header timeout, then
// closed without a reply).
func TestBareLF(t *testing.T) {
	for _, tc := range []struct{ name, raw, served string }{
		{"all LF", "GET /fast/a HTTP/1.1\nHost: x\n\n", "fallback GET /fast/a "},
		{"LF after CRLF lines", "GET /fast/a HTTP/1.1\r\nHost: x\r\nAccept: */*\n\r\n", "fallback GET /fast/a "},
		{"LF empty line", "GET /healthz HTTP/1.1\r\nHost: x\r\n\n", "fallback GET /healthz "},
		{"after a lane reply", get("/fast/1") + "GET /fast/2 HTTP/1.1\nHost: x\n\n", "lane GET /fast/1|fallback GET /fast/2 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A header timeout far beyond the client's deadline: only a
			// request handed over at once gets an answer in time.
			l := startLane(t, func(s *Server) { s.Fallback.ReadHeaderTimeout = time.Minute })
			c := dial(t, l)
			c.nc.SetDeadline(time.Now().Add(5 * time.Second))
			c.send(tc.raw)
			for range strings.Count(tc.served, "|") + 1 {
				if res, body := c.read("GET"); res.StatusCode != 200 {
					t.Fatalf("status %d %q", res.StatusCode, body)
				}
			}
			l.expect(t, tc.served)
		})
	}
}

// TestSlowLargeHeaderOneTimeout: a header larger than the lane's buffer,
// sent slowly, is handed to net/http when the buffer fills; the time it
// took in the lane counts, so the connection is cut about one
// ReadHeaderTimeout after it opened, not the lane's timeout plus a whole
// second one from net/http.
func TestSlowLargeHeaderOneTimeout(t *testing.T) {
	const timeout = time.Second
	l := startLane(t, func(s *Server) { s.Fallback.ReadHeaderTimeout = timeout })
	c := dial(t, l)
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// The lane's 4 KiB fill after about 800ms, then a byte every
		// 20ms, the header never ending.
		c.nc.Write([]byte("GET /fast/a HTTP/1.1\r\nHost: x\r\nX-Big: "))
		for sent := 0; ; sent++ {
			chunk, pause := "b", 20*time.Millisecond
			if sent < 16 {
				chunk, pause = strings.Repeat("b", 256), 50*time.Millisecond
			}
			select {
			case <-stop:
				return
			case <-time.After(pause):
			}
			if _, err := c.nc.Write([]byte(chunk)); err != nil {
				return
			}
		}
	}()
	n, err := io.Copy(io.Discard, c.nc)
	d := time.Since(start)
	if n != 0 {
		t.Errorf("got %d bytes (%v) for a header that never ended", n, err)
	}
	if d >= timeout*3/2 {
		t.Errorf("connection closed after %v, with read_header_timeout %v: the handed-over header got a second timeout", d, timeout)
	}
	if got := l.log0(); len(got) != 0 {
		t.Errorf("served %q", got)
	}
}
