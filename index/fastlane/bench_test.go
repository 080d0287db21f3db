package fastlane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

var pipRequest = "GET /simple/acme-core/ HTTP/1.1\r\nHost: pypi.example.com\r\nUser-Agent: pip/26.0 {\"python\":\"3.13\"}\r\n" +
	"Accept-Encoding: gzip, deflate\r\nAccept: application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01\r\n" +
	"Connection: keep-alive\r\nCache-Control: max-age=0\r\n\r\n"

func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var r Request
		if _, ok := parseRequest(pipRequest, &r); !ok {
			b.Fatal("refused")
		}
	}
}

// BenchmarkLanePage is a keep-alive client asking for a 1.7 KiB page in
// memory over loopback: the lane's whole cost per request, syscalls
// included.
func BenchmarkLanePage(b *testing.B) {
	body := make([]byte, 1710)
	s := &Server{
		Fallback: &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 10 * time.Second},
		Lookup: func(req *Request, rep *Reply) bool {
			rep.Status, rep.Route, rep.Body = http.StatusOK, "/simple/:project/", body
			rep.Add("Content-Type", "application/vnd.pypi.simple.v1+json")
			rep.Add("Content-Length", strconv.Itoa(len(body)))
			return true
		},
		Done: func(*Request, *Reply, int64) {},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	defer func() { s.Close(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := io.WriteString(c, pipRequest); err != nil {
			b.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
