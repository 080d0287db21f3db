package fastlane

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// FuzzParseRequest checks the lane against net/http: whatever header the
// lane accepts, net/http must read as the same request, with the same
// values for the fields the lane passes on, so that the two paths never
// serve one request two ways.
func FuzzParseRequest(f *testing.F) {
	f.Add(pipRequest)
	f.Add(get("/simple/x/", "ACCEPT:  a/b \r\n", "accept-encoding:gzip\r\n", "User-Agent: pip/26\r\n"))
	f.Add("HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	f.Add("GET / HTTP/1.0\r\n\r\n")
	f.Add(get("/x", "X-Forwarded-For: 10.0.0.1\r\n", "Authorization: Basic eDp5\r\n", "If-None-Match: \"a\"\r\n"))
	f.Add(get("/x", "Range: bytes=0-1\r\n", "X-Request-Id: r1\r\n"))
	f.Add(get("/x", "Transfer-Encoding: chunked\r\n"))
	f.Fuzz(func(t *testing.T, raw string) {
		n := headerEnd([]byte(raw))
		if n <= 0 {
			return
		}
		h := raw[:n]
		var r Request
		closeAfter, ok := parseRequest(h, &r)
		if !ok {
			return
		}
		hr, err := http.ReadRequest(bufio.NewReader(strings.NewReader(h)))
		if err != nil {
			t.Fatalf("the lane accepts %q, net/http does not: %v", h, err)
		}
		get := func(name string) string { return hr.Header.Get(name) }
		for _, c := range []struct{ name, lane, http string }{
			{"method", r.Method, hr.Method}, {"path", r.Path, hr.URL.Path}, {"proto", r.Proto, hr.Proto},
			{"Accept", r.Accept, get("Accept")}, {"Accept-Encoding", r.AcceptEncoding, get("Accept-Encoding")},
			{"If-None-Match", r.IfNoneMatch, get("If-None-Match")}, {"User-Agent", r.UserAgent, get("User-Agent")},
			{"X-Request-Id", r.RequestID, get("X-Request-Id")}, {"X-Forwarded-For", r.ForwardedFor, get("X-Forwarded-For")},
			{"Authorization", r.Authorization, get("Authorization")},
		} {
			if c.lane != c.http {
				t.Errorf("%q: %s is %q in the lane, %q in net/http", h, c.name, c.lane, c.http)
			}
		}
		if hr.URL.RawQuery != "" || hr.ContentLength > 0 || len(hr.TransferEncoding) > 0 {
			t.Errorf("%q: the lane accepts a query or a body", h)
		}
		if closeAfter != hr.Close && r.Proto == "HTTP/1.1" {
			t.Errorf("%q: close after the reply: lane %v, net/http %v", h, closeAfter, hr.Close)
		}
	})
}
