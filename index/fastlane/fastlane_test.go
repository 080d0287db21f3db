package fastlane

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lane is a Server under test: Lookup answers /fast/*, InProcess takes
// /inproc/*, and the fallback echoes what it got.
type lane struct {
	*Server
	addr string
	done chan error

	mu     sync.Mutex
	served []string // "lane GET /fast/a", "fallback POST /x body" ...
}

func (l *lane) log(s string) {
	l.mu.Lock()
	l.served = append(l.served, s)
	l.mu.Unlock()
}

func (l *lane) log0() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.served...)
}

// expect waits for the served log to read want ("|"-separated): Done runs
// after the reply is written, so the client may see it first.
func (l *lane) expect(t *testing.T, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got = strings.Join(l.log0(), "|"); got == want {
			return
		}
	}
	t.Errorf("served %q, want %q", got, want)
}

func startLane(t *testing.T, tune func(*Server)) *lane {
	t.Helper()
	l := &lane{done: make(chan error, 1)}
	dir := t.TempDir()
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		l.log("fallback " + r.Method + " /file")
		http.ServeFile(w, r, filepath.Join(dir, "big.bin"))
	})
	mux.HandleFunc("/inproc/", func(w http.ResponseWriter, r *http.Request) {
		l.log("inproc " + r.Method + " " + r.URL.Path)
		w.Header().Set("X-Seen-Accept", r.Header.Get("Accept"))
		if r.URL.Path == "/inproc/redirect" {
			w.Header().Set("Location", "/fast/a")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		io.WriteString(w, "<p>rendered "+r.URL.Path+"</p>")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.log("fallback " + r.Method + " " + r.URL.RequestURI() + " " + string(body))
		w.Header().Set("X-Proto", r.Proto)
		io.WriteString(w, "fallback:"+string(body))
	})
	l.Server = &Server{
		Fallback: &http.Server{Handler: mux, ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second, MaxHeaderBytes: 16 << 10},
		Lookup: func(req *Request, rep *Reply) bool {
			if req.Path == "/fast/panic" {
				panic("lookup bug")
			}
			if req.Path == "/fastfile" || req.Path == "/fastfile/short" {
				f, err := os.Open(filepath.Join(dir, "big.bin"))
				if err != nil {
					return false
				}
				rep.Status, rep.File, rep.FileSize = http.StatusOK, f, int64(len(big))
				if req.Path == "/fastfile/short" {
					rep.FileSize++ // a length the file does not have
				}
				rep.Add("Content-Length", strconv.FormatInt(rep.FileSize, 10))
				l.log("file " + req.Path)
				return true
			}
			if !strings.HasPrefix(req.Path, "/fast/") {
				return false
			}
			rep.Status, rep.Route = http.StatusOK, "/fast/:x"
			if req.IfNoneMatch == `"v1"` {
				rep.Status = http.StatusNotModified
			}
			rep.Add("Etag", `"v1"`)
			rep.Add("Content-Type", "text/plain")
			body := "fast " + req.Path + " accept=" + req.Accept
			if req.Path == "/fast/big" {
				body = strings.Repeat("x", 100<<10)
			}
			if rep.Status == http.StatusOK {
				rep.Add("Content-Length", strconv.Itoa(len(body)))
			}
			rep.Body = []byte(body)
			return true
		},
		Done: func(req *Request, rep *Reply, n int64) {
			l.log("lane " + req.Method + " " + req.Path)
		},
		InProcess: func(path string) bool { return strings.HasPrefix(path, "/inproc/") },
	}
	if tune != nil {
		tune(l.Server)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	go func() { l.done <- l.Serve(ln) }()
	t.Cleanup(func() {
		l.Close()
		<-l.done
	})
	return l
}

// client is one raw connection.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, l *lane) *client {
	t.Helper()
	nc, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read(method string) (*http.Response, string) {
	c.t.Helper()
	res, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(body)
}

func get(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n" + strings.Join(extra, "") + "\r\n"
}

func TestFastReplies(t *testing.T) {
	l := startLane(t, nil)
	c := dial(t, l)
	c.send(get("/fast/a", "Accept: text/html\r\n", "X-Request-Id: abc\r\n"))
	res, body := c.read("GET")
	if res.StatusCode != 200 || body != "fast /fast/a accept=text/html" {
		t.Fatalf("got %d %q", res.StatusCode, body)
	}
	if res.Header.Get("X-Request-Id") != "abc" || res.Header.Get("Date") == "" || res.Header.Get("Etag") != `"v1"` {
		t.Errorf("headers %v", res.Header)
	}
	// The same connection: HEAD, a 304, a big body, and a generated ID.
	c.send("HEAD /fast/b HTTP/1.1\r\nhost: x\r\n\r\n")
	res, body = c.read("HEAD")
	if res.StatusCode != 200 || body != "" || res.ContentLength != int64(len("fast /fast/b accept=")) {
		t.Errorf("HEAD: %d %q length %d", res.StatusCode, body, res.ContentLength)
	}
	if id := res.Header.Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("generated request ID %q", id)
	}
	c.send(get("/fast/c", "If-None-Match: \"v1\"\r\n"))
	res, body = c.read("GET")
	if res.StatusCode != 304 || body != "" {
		t.Errorf("304: %d %q", res.StatusCode, body)
	}
	c.send(get("/fast/big"))
	res, body = c.read("GET")
	if res.StatusCode != 200 || len(body) != 100<<10 {
		t.Errorf("big: %d, %d bytes", res.StatusCode, len(body))
	}
	l.expect(t, "lane GET /fast/a|lane HEAD /fast/b|lane GET /fast/c|lane GET /fast/big")
}

func TestPipelinedThenHandOff(t *testing.T) {
	l := startLane(t, nil)
	c := dial(t, l)
	// Two fast requests, a POST and a GET in one write: the lane answers
	// the first two, net/http gets the POST with its body intact and keeps
	// the connection (the last GET included).
	c.send(get("/fast/1") + get("/fast/2") +
		"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get("/fast/3"))
	for _, want := range []string{"fast /fast/1 accept=", "fast /fast/2 accept=", "fallback:hello", "fallback:"} {
		if _, body := c.read("GET"); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
	want := "lane GET /fast/1|lane GET /fast/2|fallback POST /upload hello|fallback GET /fast/3 "
	l.expect(t, want)
}

func TestHandedOff(t *testing.T) {
	for _, tc := range []struct{ name, req, status string }{
		{"query", get("/fast/a?format=json"), "200"},
		{"escape", get("/fast/%61"), "200"},
		{"proxy credentials", get("/fast/a", "Proxy-Authorization: Basic eDp5\r\n"), "200"},
		{"chunked body", "GET /fast/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "200"},
		{"no host", "GET /fast/a HTTP/1.1\r\n\r\n", "400"},
		{"two hosts", "GET /fast/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"space before colon", "GET /fast/a HTTP/1.1\r\nHost : a\r\n\r\n", "400"},
		{"folded header", "GET /fast/a HTTP/1.1\r\nHost: a\r\nAccept: x\r\n y\r\n\r\n", ""},
		{"garbage", "NOT HTTP AT ALL\r\n\r\n", "400"},
		{"huge header", get("/fast/a", "X-Big: "+strings.Repeat("b", 8000)+"\r\n"), "200"},
		{"too big for net/http", get("/fast/a", "X-Big: "+strings.Repeat("b", 40000)+"\r\n"), "431"},
		{"upgrade", get("/fast/a", "Connection: Upgrade\r\n", "Upgrade: websocket\r\n"), "200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLane(t, nil)
			c := dial(t, l)
			c.send(tc.req)
			res, body := c.read("GET")
			if got := res.Status[:3]; tc.status != "" && got != tc.status {
				t.Fatalf("status %s (%q), want %s", res.Status, body, tc.status)
			}
			for _, s := range l.log0() {
				if strings.HasPrefix(s, "lane ") {
					t.Errorf("the lane answered %q", s)
				}
			}
		})
	}
}

func TestInProcess(t *testing.T) {
	l := startLane(t, nil)
	c := dial(t, l)
	c.send(get("/inproc/page", "Accept: text/html\r\n") + get("/inproc/redirect") + get("/fast/after"))
	res, body := c.read("GET")
	if res.StatusCode != 200 || body != "<p>rendered /inproc/page</p>" || res.Header.Get("X-Seen-Accept") != "text/html" {
		t.Fatalf("in-process: %d %q %v", res.StatusCode, body, res.Header)
	}
	if res.ContentLength != int64(len(body)) || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || res.Header.Get("Date") == "" {
		t.Errorf("in-process headers %v", res.Header)
	}
	res, body = c.read("GET")
	if res.StatusCode != 301 || res.Header.Get("Location") != "/fast/a" || body != "" || res.Header.Get("Content-Length") != "0" {
		t.Errorf("redirect: %d %q %v", res.StatusCode, body, res.Header)
	}
	// The connection stayed in the lane.
	if _, body = c.read("GET"); body != "fast /fast/after accept=" {
		t.Errorf("after in-process: %q", body)
	}
	want := "inproc GET /inproc/page|inproc GET /inproc/redirect|lane GET /fast/after"
	l.expect(t, want)
	// HEAD: no body, and no invented length.
	c.send("HEAD /inproc/x HTTP/1.1\r\nHost: x\r\n\r\n")
	if res, body = c.read("HEAD"); res.StatusCode != 200 || body != "" {
		t.Errorf("HEAD in-process: %d %q", res.StatusCode, body)
	}
}

func TestHTTP10(t *testing.T) {
	l := startLane(t, nil)
	for _, req := range []string{"GET /fast/a HTTP/1.0\r\n\r\n", "GET /fast/a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", "GET /inproc/a HTTP/1.0\r\n\r\n"} {
		c := dial(t, l)
		c.send(req)
		res, body := c.read("GET")
		if res.Proto != "HTTP/1.0" || res.StatusCode != 200 || body == "" || res.Header.Get("Connection") != "" {
			t.Errorf("%q: %s %d %q %v", req, res.Proto, res.StatusCode, body, res.Header)
		}
		if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("%q: connection still open (%d, %v)", req, n, err)
		}
	}
	want := "lane GET /fast/a|lane GET /fast/a|inproc GET /inproc/a"
	l.expect(t, want)
}

func TestPanicEndsTheConnectionOnly(t *testing.T) {
	var logged strings.Builder
	var mu sync.Mutex
	l := startLane(t, func(s *Server) {
		s.Fallback.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logged.Write(p)
		}), "", 0)
	})
	c := dial(t, l)
	c.send(get("/fast/panic"))
	if _, err := http.ReadResponse(c.br, nil); err == nil {
		t.Error("a response after a panic")
	}
	c = dial(t, l)
	c.send(get("/fast/a"))
	if _, body := c.read("GET"); body != "fast /fast/a accept=" {
		t.Errorf("after a panic: %q", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "lookup bug") {
		t.Errorf("panic not logged: %q", logged.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestConnectionClose(t *testing.T) {
	l := startLane(t, nil)
	c := dial(t, l)
	c.send(get("/fast/a", "Connection: close\r\n"))
	res, _ := c.read("GET")
	if !res.Close {
		t.Errorf("no Connection: close in %v", res.Header)
	}
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("connection still open after Connection: close (%d, %v)", n, err)
	}
}

func TestDownloadAfterHandOff(t *testing.T) {
	l := startLane(t, nil)
	c := dial(t, l)
	c.send(get("/fast/a") + get("/file") + get("/file", "Range: bytes=16-31\r\n"))
	c.read("GET")
	res, body := c.read("GET")
	if res.StatusCode != 200 || len(body) != 1<<20 || body[:16] != "0123456789abcdef" {
		t.Fatalf("file: %d, %d bytes", res.StatusCode, len(body))
	}
	if res, body = c.read("GET"); res.StatusCode != 206 || body != "0123456789abcdef" {
		t.Errorf("range: %d %q", res.StatusCode, body)
	}
}

func TestFileReplies(t *testing.T) {
	l := startLane(t, nil)
	c := dial(t, l)
	c.send(get("/fastfile") + "HEAD /fastfile HTTP/1.1\r\nHost: x\r\n\r\n" + get("/fast/after"))
	res, body := c.read("GET")
	if res.StatusCode != 200 || len(body) != 1<<20 || body[:16] != "0123456789abcdef" {
		t.Fatalf("file: %d, %d bytes", res.StatusCode, len(body))
	}
	if res, body = c.read("HEAD"); res.StatusCode != 200 || body != "" || res.ContentLength != 1<<20 {
		t.Errorf("HEAD file: %d %q %d", res.StatusCode, body, res.ContentLength)
	}
	if _, body = c.read("GET"); body != "fast /fast/after accept=" {
		t.Errorf("after the file: %q", body)
	}
	// A file shorter than the length sent ends the connection, so the
	// client cannot take the short body for the whole.
	c = dial(t, l)
	c.send(get("/fastfile/short"))
	if res, err := http.ReadResponse(c.br, nil); err != nil {
		t.Fatal(err)
	} else if _, err := io.ReadAll(res.Body); err == nil {
		t.Error("a short file read as complete")
	}
}

func TestShutdown(t *testing.T) {
	l := startLane(t, nil)
	idle := dial(t, l)
	idle.send(get("/fast/a"))
	idle.read("GET")
	handed := dial(t, l)
	handed.send(get("/other"))
	handed.read("GET")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-l.done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	l.done <- nil // for the cleanup
	for _, c := range []*client{idle, handed} {
		if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("connection still open after Shutdown (%d, %v)", n, err)
		}
	}
	if _, err := net.Dial("tcp", l.addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestIdleTimeout(t *testing.T) {
	l := startLane(t, func(s *Server) { s.Fallback.IdleTimeout = 100 * time.Millisecond })
	c := dial(t, l)
	c.send(get("/fast/a"))
	c.read("GET")
	start := time.Now()
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v", d)
	}
}

func TestSlowHeaderIsDropped(t *testing.T) {
	l := startLane(t, func(s *Server) { s.Fallback.ReadHeaderTimeout = time.Second })
	c := dial(t, l)
	c.send("GET /fast/a HTTP/1.1\r\nHost: x\r\n") // and never the end
	start := time.Now()
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read %d, %v", n, err)
	}
	// Closed after one ReadHeaderTimeout, not handed to net/http for a
	// second one.
	if d := time.Since(start); d > 1800*time.Millisecond {
		t.Errorf("closed after %v", d)
	}
	if got := l.log0(); len(got) != 0 {
		t.Errorf("served %q", got)
	}
}

// The header deadline is left alone when a request's header arrives
// whole, so a keep-alive connection whose next header comes slowly must
// still be cut one ReadHeaderTimeout after its first byte, not after the
// (longer) idle timeout.
func TestSlowHeaderAfterKeepAlive(t *testing.T) {
	l := startLane(t, func(s *Server) {
		s.Fallback.ReadHeaderTimeout = 500 * time.Millisecond
		s.Fallback.IdleTimeout = time.Minute
	})
	c := dial(t, l)
	for range 3 {
		c.send(get("/fast/a"))
		c.read("GET")
	}
	c.send("GET /fast/a HTTP/1.1\r\n") // and never the rest
	start := time.Now()
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v, want about the 500ms header timeout", d)
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		ok, close bool
		check     func(Request) bool
	}{
		{raw: get("/simple/x/", "ACCEPT:  a/b \r\n", "accept-encoding:gzip\r\n", "User-Agent: pip/26\r\n"), ok: true,
			check: func(r Request) bool {
				return r.Method == "GET" && r.Path == "/simple/x/" && r.Accept == "a/b" && r.AcceptEncoding == "gzip" && r.UserAgent == "pip/26"
			}},
		{raw: "HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", ok: true, close: true},
		{raw: "GET / HTTP/1.0\r\n\r\n", ok: true, close: true, check: func(r Request) bool { return r.Proto == "HTTP/1.0" }},
		{raw: "GET / HTTP/1.1\r\n\r\n"},
		{raw: "GET / HTTP/2.0\r\nHost: h\r\n\r\n"},
		{raw: get("/x", "Connection: keep-alive\r\n"), ok: true},
		{raw: get("/x", "X-Forwarded-For: 10.0.0.1\r\n"), ok: true, check: func(r Request) bool { return r.ForwardedFor == "10.0.0.1" }},
		{raw: get("/x", "authorization: Basic eDp5\r\n"), ok: true, check: func(r Request) bool { return r.Authorization == "Basic eDp5" }},
		{raw: get("/x", "Authorization: Basic eDp5\r\n", "Authorization: Basic eDp6\r\n")},
		{raw: get("/x", "Accept: a\r\n", "Accept: b\r\n")},
		{raw: get("/x", "Accept:\r\n")},
		{raw: get("/x", "Content-Length: 0\r\n")},
		{raw: get("/x", "Expect: 100-continue\r\n")},
		{raw: get("/x", "Connection: upgrade\r\n")},
		{raw: get("/x", "Accept: a\x00b\r\n")},
		{raw: get("/a/../b")},
		{raw: get("//evil")},
		{raw: get("*")},
		{raw: get("http://host/x")},
		{raw: "POST /x HTTP/1.1\r\nHost: h\r\n\r\n"},
		{raw: "GET /x HTTP/1.1 \r\nHost: h\r\n\r\n"},
		{raw: "GET  /x HTTP/1.1\r\nHost: h\r\n\r\n"},
		{raw: "GET /x HTTP/1.1\r\nHost: h h\r\n\r\n"},
	} {
		var r Request
		closeAfter, ok := parseRequest(tc.raw, &r)
		if ok != tc.ok || closeAfter != tc.close || ok && tc.check != nil && !tc.check(r) {
			t.Errorf("%q: ok %v close %v %+v", tc.raw, ok, closeAfter, r)
		}
	}
}
