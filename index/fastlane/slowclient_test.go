package fastlane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

const hugeSize = 30 << 20

// writeIdleLane is a lane with WriteIdleTimeout idle serving a 30 MiB file
// four ways: /huge/lane from the lane (sendfile), /huge/mem from the lane
// (an in-memory body, writev), /huge/net from net/http after a hand-off
// (http.ServeFile). done receives the bytes each reply wrote, once it has
// ended.
func writeIdleLane(t *testing.T, idle time.Duration) (*lane, string, chan int64) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.bin")
	if err := os.WriteFile(path, make([]byte, hugeSize), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, hugeSize)
	done := make(chan int64, 4)
	l := startLane(t, func(s *Server) {
		s.WriteIdleTimeout = idle
		lookup, fallback := s.Lookup, s.Fallback.Handler
		s.Lookup = func(req *Request, rep *Reply) bool {
			switch req.Path {
			case "/huge/lane":
				f, err := os.Open(path)
				if err != nil {
					return false
				}
				rep.Status, rep.File, rep.FileSize = http.StatusOK, f, hugeSize
			case "/huge/mem":
				rep.Status, rep.Body = http.StatusOK, mem
			default:
				return lookup(req, rep)
			}
			rep.Add("Content-Length", strconv.Itoa(hugeSize))
			return true
		}
		s.Done = func(req *Request, rep *Reply, n int64) {
			if strings.HasPrefix(req.Path, "/huge/") {
				done <- n
			}
		}
		s.Fallback.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/huge/net" {
				fallback.ServeHTTP(w, r)
				return
			}
			cw := &countingWriter{ResponseWriter: w}
			http.ServeFile(cw, r, path)
			done <- cw.n
		})
	})
	return l, path, done
}

// countingWriter counts the body bytes a handler wrote, by Write or by
// ReadFrom (http.ServeFile's sendfile path).
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
	w.n += n
	return n, err
}

// plainServer is net/http alone on WriteIdleListener, serving the file at
// path on /huge/plain.
func plainServer(t *testing.T, path string, idle time.Duration, done chan int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		http.ServeFile(cw, r, path)
		done <- cw.n
	})}
	go srv.Serve(WriteIdleListener(ln, idle))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestStalledReaderIsCut: a client that asks for a 30 MiB file and then
// reads nothing is cut once it has accepted nothing for the write idle
// timeout, on every transport, which releases the connection and the
// file; without the deadline the reply would wait for it for ever.
func TestStalledReaderIsCut(t *testing.T) {
	const idle = 300 * time.Millisecond
	l, path, done := writeIdleLane(t, idle)
	plain := plainServer(t, path, idle, done)
	for _, tc := range []struct{ name, addr, path string }{
		{"lane sendfile", l.addr, "/huge/lane"},
		{"lane writev", l.addr, "/huge/mem"},
		{"net/http after hand-off", l.addr, "/huge/net"},
		{"net/http alone", plain, "/huge/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := io.WriteString(nc, get(tc.path)); err != nil {
				t.Fatal(err)
			}
			// Never read: the reply fills the socket buffers and stalls.
			var wrote int64
			select {
			case wrote = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("the reply to a client that reads nothing is still being written after 20s (write idle timeout %v)", idle)
			}
			if wrote >= hugeSize {
				t.Fatalf("the reply wrote all %d bytes to a client that read none", wrote)
			}
			// What the client can still read ends short.
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, res.Body)
			if err == nil || n >= hugeSize {
				t.Errorf("the client read %d bytes and %v after the cut", n, err)
			}
		})
	}
}

// TestSlowReaderIsNotCut: a client that reads slowly but steadily takes
// far longer than the write idle timeout in all, and gets the whole file.
func TestSlowReaderIsNotCut(t *testing.T) {
	const idle = 500 * time.Millisecond
	l, path, done := writeIdleLane(t, idle)
	plain := plainServer(t, path, idle, done)
	for _, tc := range []struct{ name, addr, path string }{
		{"lane sendfile", l.addr, "/huge/lane"},
		{"lane writev", l.addr, "/huge/mem"},
		{"net/http after hand-off", l.addr, "/huge/net"},
		{"net/http alone", plain, "/huge/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := io.WriteString(nc, get(tc.path)); err != nil {
				t.Fatal(err)
			}
			nc.SetReadDeadline(time.Now().Add(60 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var n int64
			for {
				m, err := io.CopyN(io.Discard, res.Body, 1<<20)
				n += m
				if err != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n != hugeSize {
				t.Fatalf("a slow reader got %d of %d bytes in %v", n, hugeSize, time.Since(start))
			}
			if wrote := <-done; wrote != hugeSize {
				t.Errorf("the server wrote %d bytes", wrote)
			}
			if d := time.Since(start); d < idle {
				t.Logf("the transfer took only %v, less than the idle timeout: the test proves little here", d)
			}
		})
	}
}
