package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// requestLog writes the access line, one per request, for echo's requests
// and the fast lane's alike (Main.requestLog gives the one to use).
//
// When w is set, the line is formatted here into a pooled buffer and
// written with one Write: the bytes are exactly those the slog handler h
// would have written for the record (appendAccessLine, checked against
// slog by TestAccessLine and FuzzAccessLine). Through slog the line cost
// 9-11% of all CPU of a server answering ~80k cached pages/s (appendAttr,
// needsQuoting, Value.Kind, float formatting); BenchmarkAccessLine
// measures both. When w is nil (the logger is not one newLogger made: a
// test may set another), the record goes to h.
type requestLog struct {
	h     slog.Handler // the logger's handler: the format, and the fallback
	w     io.Writer    // h's writer, safe for concurrent use; nil: write through h
	json  bool         // h is a JSONHandler, else a TextHandler
	level slog.Level   // h's minimum level
}

// log writes the access line of a request that started at start and ends
// now. A failed write is dropped, as Logger drops it.
func (l requestLog) log(ctx context.Context, method, path string, status int, size int64, start time.Time, remote, requestID, userAgent string) {
	if l.w == nil {
		logRecord(l.h, ctx, method, path, status, size, start, remote, requestID, userAgent)
		return
	}
	if slog.LevelInfo < l.level {
		return
	}
	now := time.Now()
	bp := lineBufs.Get().(*[]byte)
	b := appendAccessLine((*bp)[:0], l.json, now, method, path, status, size, now.Sub(start),
		remote, requestID, userAgent)
	_, _ = l.w.Write(b)
	if cap(b) <= maxPooledLine { // a huge user agent's buffer is not kept
		*bp = b
		lineBufs.Put(bp)
	}
}

// logRecord writes the access line through h. It builds the record itself:
// Logger.LogAttrs would also walk the stack for the caller's program
// counter, which no handler here prints, and that walk was a visible share
// of a cached page's cost.
func logRecord(h slog.Handler, ctx context.Context, method, path string, status int, size int64, start time.Time, remote, requestID, userAgent string) {
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	now := time.Now()
	_ = h.Handle(ctx, accessRecord(now, method, path, status, size, now.Sub(start), remote, requestID, userAgent))
}

// accessRecord is the slog record of an access line.
func accessRecord(t time.Time, method, path string, status int, size int64, d time.Duration, remote, requestID, userAgent string) slog.Record {
	r := slog.NewRecord(t, slog.LevelInfo, "request", 0)
	r.AddAttrs(
		slog.String("method", method), slog.String("path", path),
		slog.Int("status", status), slog.Int64("bytes", size),
		slog.Float64("duration_ms", durationMS(d)),
		slog.String("remote", remote),
		slog.String("request_id", requestID),
		slog.String("user_agent", userAgent))
	return r
}

// durationMS is d in milliseconds, to the microsecond.
func durationMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// lowerHex is the digits of the escapes in strconv's quoting and JSON's.
const lowerHex = "0123456789abcdef"

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledLine = 16 << 10

// syncWriter serializes writes to a writer that may not allow concurrent
// ones: the slog handler locks its own mutex around a write, which the
// access lines written beside it do not take.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// appendAccessLine appends to b the line slog's TextHandler (or, if json,
// JSONHandler) without options other than Level writes for
// accessRecord(t, ...): the same keys in the same order, the same
// quoting and escaping, the same time and number formats. It follows
// log/slog's handler.go, text_handler.go and json_handler.go (Go 1.26);
// TestAccessLine and FuzzAccessLine compare it with the handlers
// themselves, so a change in slog's output fails them.
func appendAccessLine(b []byte, json bool, t time.Time, method, path string, status int, size int64, d time.Duration, remote, requestID, userAgent string) []byte {
	if json {
		b = append(b, '{')
		if !t.IsZero() { // as slog, a zero time is left out
			b = append(b, `"time":`...)
			b = appendJSONTime(b, t)
			b = append(b, ',')
		}
		b = append(b, `"level":"INFO","msg":"request","method":`...)
		b = appendJSONString(b, method)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, size, 10)
		b = append(b, `,"duration_ms":`...)
		b = appendMS(b, d, true)
		b = append(b, `,"remote":`...)
		b = appendJSONString(b, remote)
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, requestID)
		b = append(b, `,"user_agent":`...)
		b = appendJSONString(b, userAgent)
		return append(b, "}\n"...)
	}
	if !t.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, t)
		b = append(b, ' ')
	}
	b = append(b, "level=INFO msg=request method="...)
	b = appendTextString(b, method)
	b = append(b, " path="...)
	b = appendTextString(b, path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, " duration_ms="...)
	b = appendMS(b, d, false)
	b = append(b, " remote="...)
	b = appendTextString(b, remote)
	b = append(b, " request_id="...)
	b = appendTextString(b, requestID)
	b = append(b, " user_agent="...)
	b = appendTextString(b, userAgent)
	return append(b, '\n')
}

// appendMS appends durationMS(d) as slog formats a float64: the text
// handler with strconv's 'g' and shortest precision, the JSON handler as
// encoding/json does (floatEncoder: 'f', or 'e' outside [1e-6, 1e21)).
//
// Below 1000 s, both are the microseconds divided by 1000 in decimal with
// trailing zeros dropped: float64(us) is exact and the division rounds
// correctly, so the shortest decimal that reads back as the quotient is
// the quotient itself (any other one with at most 3 decimals is 0.001
// away, far more than half an ulp). Only then is 'g' not in exponent form,
// so other durations go through strconv.
func appendMS(b []byte, d time.Duration, json bool) []byte {
	us := d.Microseconds()
	if us >= 0 && us < 1e9 {
		b = strconv.AppendInt(b, us/1000, 10)
		if frac := us % 1000; frac != 0 {
			digits := [4]byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
			n := 4
			for digits[n-1] == '0' {
				n--
			}
			b = append(b, digits[:n]...)
		}
		return b
	}
	f := float64(us) / 1000
	if !json {
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	// encoding/json's floatEncoder for 64 bits (no NaN or Inf comes from
	// an integer).
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 becomes e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendRFC3339Millis is slog's: RFC 3339 with exactly three decimals.
// RFC3339Nano is formatted (it is the fast one) on the time truncated to
// the millisecond plus 1/10 ms, so that it has four decimals, and the
// fourth is dropped.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

// appendJSONTime is slog's: time.Time.MarshalJSON without the allocation,
// and an error string before a year RFC 3339 cannot hold.
func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y >= 10000 {
		b = append(b, `"!ERROR:time.Time year outside of range [0,9999]"`...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendTextString is the text handler's value: s as it is, or
// strconv.Quote'd if it is empty or has a space, '=', '"', an ASCII
// control character (not DEL), invalid UTF-8, or a Unicode space or
// non-printing character.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return appendQuote(b, s)
	}
	return append(b, s...)
}

// appendQuote is strconv.AppendQuote(b, s), without its rune by rune
// work when s is ASCII (pip's user agent, quoted for its spaces and
// JSON, took 2/3 of a text line's time): a quote or backslash gets a
// backslash, \a \b \f \n \r \t \v their escapes, other control characters
// and DEL \xXX in lower case hex, the rest stays. Other strings go to
// strconv.
func appendQuote(b []byte, s string) []byte {
	n := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c < 0x7f && c != '"' && c != '\\' {
			continue
		}
		if c >= utf8.RuneSelf {
			return strconv.AppendQuote(b[:n], s)
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\v':
			b = append(b, `\v`...)
		default:
			b = append(b, '\\', 'x', lowerHex[c>>4], lowerHex[c&0xF])
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// textNeedsQuoting is slog's needsQuoting.
func textNeedsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < ' ' || c == ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendJSONString is the JSON handler's string: quoted, with '"', '\\'
// and ASCII control characters escaped (\n, \r, \t or \u00XX), each byte
// of invalid UTF-8 as \ufffd, and U+2028 and U+2029 escaped. HTML's <, >
// and & are not escaped (slog's encoder has SetEscapeHTML(false)), nor is
// DEL.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
