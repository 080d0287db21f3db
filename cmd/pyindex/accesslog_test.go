package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// accessLine is one access line's fields.
type accessLine struct {
	t                            time.Time
	method, path                 string
	status                       int
	size                         int64
	d                            time.Duration
	remote, requestID, userAgent string
}

// slogLine is what slog's handler (json or text, as newLogger builds it)
// writes for l.
func slogLine(t testing.TB, asJSON bool, l accessLine) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewTextHandler(&buf, opts)
	if asJSON {
		h = slog.NewJSONHandler(&buf, opts)
	}
	r := accessRecord(l.t, l.method, l.path, l.status, l.size, l.d, l.remote, l.requestID, l.userAgent)
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkAccessLine fails unless appendAccessLine writes slog's bytes for l,
// in both formats.
func checkAccessLine(t testing.TB, l accessLine) {
	t.Helper()
	for _, asJSON := range []bool{false, true} {
		want := slogLine(t, asJSON, l)
		got := appendAccessLine([]byte("prefix"), asJSON, l.t, l.method, l.path, l.status, l.size, l.d,
			l.remote, l.requestID, l.userAgent)
		if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("json=%v %+v:\n got %q\nwant %q", asJSON, l, got[len("prefix"):], want)
		}
	}
}

// TestAccessLine compares the access line formatted by appendAccessLine
// with the one slog's text and JSON handlers write, byte for byte, over
// strings that need quoting or escaping, times in several zones and
// durations on both sides of each formatting rule.
func TestAccessLine(t *testing.T) {
	strs := []string{
		"", "GET", "/simple/", "/simple/some-project/", "a b", `say "hi"`, "k=v", "=", `\`, `a\b`,
		"tab\there", "nl\nhere", "cr\rhere", "\x00\x01\x1f", "\x7f", "del\x7fx", "<script>alert(1)</script>",
		"a&b", "caf\u00e9", "日本語", "emoji \U0001F600", "\U0001F600", "\u2028", "x\u2029y", "\u00a0", "\u200b",
		"\ufeff", "\ufffd", "bad \xff utf8", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "#", "%20", "'", "`",
		"pip/24.0 {\"ci\":null,\"cpu\":\"x86_64\"}", "Mozilla/5.0 (X11; Linux x86_64)", "::1", "[::1]:80",
		"192.0.2.1", "01HZY8XK3J", strings.Repeat("long/", 2000), strings.Repeat("\xff", 100),
		strings.Repeat("é\"", 300), "a \x7f", "\a\b\f\v \x1b[0m", "\x00é", "a\"b é", "x y\xff", "\\ \\",
		"pip/24.0 \u00a0 \U0010ffff \U000e0001",
	}
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 5*3600+30*60),
		time.FixedZone("X", -(9*3600 + 59*60 + 59)), time.FixedZone("Y", 14*3600)}
	times := []time.Time{time.Now(), time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 1000000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999999, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0), {}}
	durations := []time.Duration{0, 1, 999, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
		time.Millisecond, 1234567 * time.Nanosecond, 100 * time.Millisecond, time.Second, time.Minute,
		999999999 * time.Microsecond, 1000 * time.Second, 1000*time.Second + time.Microsecond,
		123456789012 * time.Microsecond, 7 * 24 * time.Hour, time.Duration(1<<53) * time.Microsecond,
		time.Duration(1<<63 - 1), -1, -time.Microsecond, -1500 * time.Millisecond, time.Duration(-1 << 63),
		time.Since(time.Time{})}
	statuses := []int{0, 200, 304, 404, 500, -1, 1 << 40}
	sizes := []int64{0, 1, -1, 123456789, 1<<63 - 1, -1 << 63}

	n := 0
	for i, s := range strs {
		// Every string in every string field, with the other fields varied.
		for f := range 5 {
			l := accessLine{method: "GET", path: "/simple/", remote: "127.0.0.1", requestID: "rid", userAgent: "pip/24"}
			switch f {
			case 0:
				l.method = s
			case 1:
				l.path = s
			case 2:
				l.remote = s
			case 3:
				l.requestID = s
			case 4:
				l.userAgent = s
			}
			tm := times[(i+f)%len(times)]
			if !tm.IsZero() {
				tm = tm.In(zones[(i*5+f)%len(zones)])
			}
			l.t, l.d = tm, durations[(i*5+f)%len(durations)]
			l.status, l.size = statuses[(i+f)%len(statuses)], sizes[(i*3+f)%len(sizes)]
			checkAccessLine(t, l)
			n++
		}
	}
	for _, tm := range times {
		for _, z := range zones {
			for _, d := range durations {
				checkAccessLine(t, accessLine{t: tm.In(z), method: "HEAD", path: "/", status: 200, size: 1, d: d,
					remote: "r", requestID: "", userAgent: "ua"})
				n++
			}
		}
	}
	// Every microsecond count up to 20 ms, and around the 1000 s switch.
	for us := range int64(20000) {
		checkAccessLine(t, accessLine{t: times[1], d: time.Duration(us) * time.Microsecond})
	}
	for us := int64(1e9 - 2000); us < 1e9+2000; us++ {
		checkAccessLine(t, accessLine{t: times[1], d: time.Duration(us) * time.Microsecond})
	}
	t.Logf("%d lines, and 24000 durations", n)
}

// FuzzAccessLine compares appendAccessLine with slog's handlers on fuzzed
// fields.
func FuzzAccessLine(f *testing.F) {
	f.Add("GET", "/simple/", "127.0.0.1", "rid", "pip/24.0", 200, int64(1234), int64(1500), int64(1767225600123456789))
	f.Add("", "a b=\"c\"", "\xff", "\u2028", "<script>&", -1, int64(-1), int64(-1), int64(0))
	f.Add("\x7f", "\t\n\r\x00", "日本", "\U0001F600", "\ufffd\xed\xa0\x80", 1<<31, int64(1<<62), int64(1<<62), int64(-1<<62))
	f.Fuzz(func(t *testing.T, method, path, remote, requestID, userAgent string, status int, size, d, unixNano int64) {
		zone := time.FixedZone("", int(unixNano%(18*3600)))
		checkAccessLine(t, accessLine{t: time.Unix(0, unixNano).In(zone), method: method, path: path, status: status,
			size: size, d: time.Duration(d), remote: remote, requestID: requestID, userAgent: userAgent})
	})
}

// TestAccessLogLevel checks newLogger's access log end to end: at info it
// writes slog's line for the request, at warn (as the tests' servers run)
// nothing, in both formats.
func TestAccessLogLevel(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		for _, level := range []string{"debug", "info", "warn", "error"} {
			t.Run(format+"/"+level, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.LogFormat, cfg.LogLevel = format, level
				var buf bytes.Buffer
				log, rl := newLogger(cfg, &buf)
				if rl.w == nil || rl.h != log.Handler() {
					t.Fatalf("newLogger's access log does not format lines itself")
				}
				start := time.Now().Add(-1500 * time.Microsecond)
				rl.log(context.Background(), "GET", "/simple/a b/", 200, 42, start, "::1", "rid", "pip \"x\"")
				got := buf.String()
				if level == "warn" || level == "error" {
					if got != "" {
						t.Fatalf("access line at log_level %s: %q", level, got)
					}
					return
				}
				checkLoggedLine(t, got, format == "json")
			})
		}
	}
}

// checkLoggedLine checks that line is the access line slog would write
// for the request logged in TestAccessLogLevel and
// TestAccessLogFallback, for the time and duration the line itself holds.
func checkLoggedLine(t *testing.T, line string, asJSON bool) {
	t.Helper()
	var tm time.Time
	var d time.Duration
	var err error
	if asJSON {
		var v struct {
			Time time.Time
			MS   float64 `json:"duration_ms"`
		}
		err = json.Unmarshal([]byte(line), &v)
		tm, d = v.Time, time.Duration(math.Round(v.MS*1000))*time.Microsecond
	} else {
		f := strings.Fields(line)
		if len(f) > 0 {
			tm, err = time.Parse(time.RFC3339, strings.TrimPrefix(f[0], "time="))
		}
		for _, kv := range f {
			if v, ok := strings.CutPrefix(kv, "duration_ms="); ok {
				var ms time.Duration
				ms, err = time.ParseDuration(v + "ms")
				d = ms.Round(time.Microsecond)
			}
		}
	}
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if d < 1500*time.Microsecond || time.Since(tm) > time.Minute {
		t.Fatalf("%q: time %v, duration %v", line, tm, d)
	}
	want := slogLine(t, asJSON, accessLine{t: tm, method: "GET", path: "/simple/a b/", status: 200, size: 42, d: d,
		remote: "::1", requestID: "rid", userAgent: "pip \"x\""})
	if line != string(want) {
		t.Fatalf("access line\n got %q\nwant %q", line, want)
	}
}

// TestAccessLogFallback checks that a logger other than newLogger's (a
// test's) gets the access lines through its own handler.
func TestAccessLogFallback(t *testing.T) {
	m := NewMain(DefaultConfig(), io.Discard)
	if rl := m.requestLog(); rl.w == nil {
		t.Fatal("NewMain's logger: access log through slog")
	}
	var buf bytes.Buffer
	m.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	rl := m.requestLog()
	if rl.w != nil {
		t.Fatal("replaced logger: access log formats lines itself")
	}
	rl.log(context.Background(), "GET", "/simple/a b/", 200, 42, time.Now().Add(-1500*time.Microsecond),
		"::1", "rid", "pip \"x\"")
	checkLoggedLine(t, buf.String(), true)

	buf.Reset()
	m.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m.requestLog().log(context.Background(), "GET", "/", 200, 0, time.Now(), "", "", "")
	if buf.Len() != 0 {
		t.Fatalf("access line at warn: %q", buf.String())
	}
}

// BenchmarkAccessLine measures one access line through slog's handler and
// through requestLog's own formatting, both writing to io.Discard.
func BenchmarkAccessLine(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		cfg := DefaultConfig()
		cfg.LogFormat = format
		_, fast := newLogger(cfg, io.Discard)
		viaSlog := requestLog{h: fast.h}
		start := time.Now()
		for _, c := range []struct {
			name string
			rl   requestLog
		}{{"slog", viaSlog}, {"fast", fast}} {
			b.Run(format+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.rl.log(context.Background(), "GET", "/simple/requests/", 200, 48213, start,
						"192.0.2.17", "oMVgQkXlwVbCNbeYKUWyWdvuBfHsRpXQ",
						"pip/24.0 {\"ci\":null,\"cpu\":\"x86_64\",\"implementation\":{\"name\":\"CPython\"}}")
				}
			})
		}
	}
}
