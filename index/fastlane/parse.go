package fastlane

import (
	"math/rand/v2"
	"strings"
)

// parseRequest parses a request header (through its empty line) into req.
// closeAfter is true when the connection ends with this reply: the client
// asked so, or it speaks HTTP/1.0 (the lane does not keep those alive,
// which HTTP allows, and nginx's proxy_pass sends Connection: close with
// them anyway). It returns false for anything the lane leaves to
// net/http: another method or protocol version, a target with a query or
// escapes, a body, credentials, a header it would have to interpret
// differently, or any irregular syntax.
func parseRequest(h string, req *Request) (closeAfter, ok bool) {
	eol := strings.Index(h, "\r\n")
	line, rest := h[:eol], h[eol+2:]
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" && proto != "HTTP/1.0" || !plainPath(target) {
		return false, false
	}
	req.Proto = proto
	closeAfter = proto == "HTTP/1.0"
	switch method {
	case "GET", "HEAD":
	default:
		return false, false
	}
	req.Method, req.Path = method, target
	hosts := 0
	for {
		eol = strings.Index(rest, "\r\n")
		if eol == 0 {
			break // the empty line
		}
		line, rest = rest[:eol], rest[eol+2:]
		name, value, found := strings.Cut(line, ":")
		if !found || !token(name) {
			return false, false
		}
		value = strings.Trim(value, " \t")
		if !fieldValue(value) {
			return false, false
		}
		var dst *string
		switch {
		case strings.EqualFold(name, "Host"):
			hosts++
			if !hostValue(value) {
				return false, false
			}
			continue
		case strings.EqualFold(name, "Accept"):
			dst = &req.Accept
		case strings.EqualFold(name, "Accept-Encoding"):
			dst = &req.AcceptEncoding
		case strings.EqualFold(name, "If-None-Match"):
			dst = &req.IfNoneMatch
		case strings.EqualFold(name, "User-Agent"):
			dst = &req.UserAgent
		case strings.EqualFold(name, "X-Request-Id"):
			dst = &req.RequestID
		case strings.EqualFold(name, "X-Forwarded-For"):
			dst = &req.ForwardedFor
		case strings.EqualFold(name, "Authorization"):
			dst = &req.Authorization
		case strings.EqualFold(name, "Connection"):
			switch {
			case strings.EqualFold(value, "close"):
				closeAfter = true
			case strings.EqualFold(value, "keep-alive"):
			default:
				return false, false // upgrade and the like
			}
			continue
		case strings.EqualFold(name, "Range"), strings.EqualFold(name, "If-Range"), strings.EqualFold(name, "If-Match"),
			strings.EqualFold(name, "If-Modified-Since"), strings.EqualFold(name, "If-Unmodified-Since"):
			req.Conditional = true
			continue
		case strings.EqualFold(name, "Proxy-Authorization"),
			strings.EqualFold(name, "Content-Length"), strings.EqualFold(name, "Transfer-Encoding"),
			strings.EqualFold(name, "Expect"), strings.EqualFold(name, "Upgrade"):
			return false, false
		default:
			continue
		}
		if *dst != "" || value == "" {
			// A repeated field (net/http would read only the first, or
			// join them) or an empty one: leave it to the full path.
			return false, false
		}
		*dst = value
	}
	// HTTP/1.1 requires exactly one Host; HTTP/1.0 at most one.
	return closeAfter, hosts == 1 || hosts == 0 && proto == "HTTP/1.0"
}

// plainPath accepts an origin-form path of unreserved characters and
// slashes: no query, no fragment, no percent-escapes, no dot segments.
func plainPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || strings.Contains(p, "/.") || strings.Contains(p, "//") {
		return false
	}
	return allOf(p, "-._~/")
}

// allOf reports whether every byte of s is an ASCII letter, a digit or one
// of extra.
func allOf(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// token reports whether s is a valid header field name (RFC 9110 tchar).
func token(s string) bool {
	return s != "" && allOf(s, "!#$%&'*+-.^_`|~")
}

// fieldValue rejects control characters (a bare CR or LF included).
func fieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hostValue accepts a non-empty host[:port] of plain characters.
func hostValue(s string) bool {
	return s != "" && allOf(s, "-.:[]_")
}

const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newRequestID returns 32 random alphanumerics, the shape echo's
// RequestID middleware gives the requests net/http serves.
func newRequestID() string {
	var b [32]byte
	for i := 0; i < len(b); {
		r := rand.Uint64()
		for k := 0; k < 10 && i < len(b); k++ {
			b[i] = idChars[r%62]
			r /= 62
			i++
		}
	}
	return string(b[:])
}
