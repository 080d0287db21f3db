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
		value = trimOWS(value)
		if !fieldValue(value) {
			return false, false
		}
		var dst *string
		switch fieldOf(name) {
		case fieldHost:
			hosts++
			if !hostValue(value) {
				return false, false
			}
			continue
		case fieldAccept:
			dst = &req.Accept
		case fieldAcceptEncoding:
			dst = &req.AcceptEncoding
		case fieldIfNoneMatch:
			dst = &req.IfNoneMatch
		case fieldUserAgent:
			dst = &req.UserAgent
		case fieldRequestID:
			dst = &req.RequestID
		case fieldForwardedFor:
			dst = &req.ForwardedFor
		case fieldAuthorization:
			dst = &req.Authorization
		case fieldConnection:
			switch {
			case strings.EqualFold(value, "close"):
				closeAfter = true
			case strings.EqualFold(value, "keep-alive"):
			default:
				return false, false // upgrade and the like
			}
			continue
		case fieldConditional:
			req.Conditional = true
			continue
		case fieldRefused:
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

// The header fields parseRequest tells apart.
type field int

const (
	fieldOther field = iota
	fieldHost
	fieldAccept
	fieldAcceptEncoding
	fieldIfNoneMatch
	fieldUserAgent
	fieldRequestID
	fieldForwardedFor
	fieldAuthorization
	fieldConnection
	fieldConditional // Range, If-Range, If-Match, If-Modified-Since, If-Unmodified-Since
	fieldRefused     // Proxy-Authorization and the body's and upgrade's fields: net/http's
)

// fieldOf names a header field, case-insensitively. It looks at the
// length first: most fields a client sends are none of these, and are
// told so by one comparison.
func fieldOf(name string) field {
	is := func(s string) bool { return strings.EqualFold(name, s) }
	switch len(name) {
	case 4:
		if is("Host") {
			return fieldHost
		}
	case 5:
		if is("Range") {
			return fieldConditional
		}
	case 6:
		switch {
		case is("Accept"):
			return fieldAccept
		case is("Expect"):
			return fieldRefused
		}
	case 7:
		if is("Upgrade") {
			return fieldRefused
		}
	case 8:
		if is("If-Range") || is("If-Match") {
			return fieldConditional
		}
	case 10:
		switch {
		case is("User-Agent"):
			return fieldUserAgent
		case is("Connection"):
			return fieldConnection
		}
	case 12:
		if is("X-Request-Id") {
			return fieldRequestID
		}
	case 13:
		switch {
		case is("Authorization"):
			return fieldAuthorization
		case is("If-None-Match"):
			return fieldIfNoneMatch
		}
	case 14:
		if is("Content-Length") {
			return fieldRefused
		}
	case 15:
		switch {
		case is("Accept-Encoding"):
			return fieldAcceptEncoding
		case is("X-Forwarded-For"):
			return fieldForwardedFor
		}
	case 17:
		switch {
		case is("If-Modified-Since"):
			return fieldConditional
		case is("Transfer-Encoding"):
			return fieldRefused
		}
	case 19:
		switch {
		case is("If-Unmodified-Since"):
			return fieldConditional
		case is("Proxy-Authorization"):
			return fieldRefused
		}
	}
	return fieldOther
}

// plainPath accepts an origin-form path of unreserved characters and
// slashes: no query, no fragment, no percent-escapes, no dot segments.
func plainPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || strings.Contains(p, "/.") || strings.Contains(p, "//") {
		return false
	}
	return pathChars.all(p)
}

// charSet is a set of bytes: ASCII letters, digits and some others.
type charSet [256]bool

func alnumAnd(extra string) *charSet {
	var t charSet
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, byte(c)) >= 0
	}
	return &t
}

// The bytes a path, a header field name (RFC 9110 tchar) and a Host may
// hold.
var (
	pathChars  = alnumAnd("-._~/")
	tokenChars = alnumAnd("!#$%&'*+-.^_`|~")
	hostChars  = alnumAnd("-.:[]_")
)

// all reports whether every byte of s is in t.
func (t *charSet) all(s string) bool {
	for i := 0; i < len(s); i++ {
		if !t[s[i]] {
			return false
		}
	}
	return true
}

// token reports whether s is a valid header field name.
func token(s string) bool { return s != "" && tokenChars.all(s) }

// trimOWS removes the spaces and tabs around a field value.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
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
	return s != "" && hostChars.all(s)
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
