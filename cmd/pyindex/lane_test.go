package main_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// laneExchange is one request of TestFastLaneMatchesNetHTTP and what came
// back, without the headers that differ per request.
type laneExchange struct {
	request string
	status  int
	header  http.Header
	body    string
}

func (x laneExchange) String() string {
	var keys []string
	for k := range x.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %d\n", x.request, x.status)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %s\n", k, strings.Join(x.header[k], ", "))
	}
	fmt.Fprintf(&b, "  body %d bytes, %.40q", len(x.body), x.body)
	return b.String()
}

// TestFastLaneMatchesNetHTTP serves the same data with the fast lane off
// and on and asks both the same page requests, each twice (a miss, then a
// hit from the page cache), for hosted and mirrored projects, and the same
// file requests (plain, ranges, revalidations): status, headers and bodies
// must agree, apart from Date and X-Request-Id.
func TestFastLaneMatchesNetHTTP(t *testing.T) {
	data := t.TempDir()
	up := mirrortest.Start(t, false)
	ids := map[string]string{}
	hostedFile := "/files/" + loadDist(t, "acme_util-0.1-py3-none-any.whl", "", "").sha256() + "/acme_util-0.1-py3-none-any.whl"
	mirrorFile := "/mirror/files/acme-core/acme_core-1.0-py3-none-any.whl"
	run := func(fast bool) []laneExchange {
		m, stop := runOn(t, data, fast, func(cfg *pyindex.Config) {
			cfg.Mirror.Upstream = up.SimpleURL()
			cfg.Mirror.TTL = time.Hour
			// The hosted acme-util shadows the upstream's: ci may create it.
			cfg.Mirror.InternalNames = []string{"acme-util"}
		})
		defer stop()
		if !fast {
			addUser(t, m, "ci", "secret-pass", false)
			for _, f := range [][2]string{{"acme_util-0.1-py3-none-any.whl", "0.1"}, {"acme_util-0.1.tar.gz", "0.1"}, {"acme_util-0.2-py3-none-any.whl", "0.2"}} {
				postUpload(t, m, "ci", "secret-pass", loadDist(t, f[0], "acme-util", f[1]))
			}
			// Cache the mirrored project first: the fetch changes the
			// serial the root page shows.
			if code, _ := get(t, m.URL()+"/simple/acme-core/", "", ""); code != http.StatusOK {
				t.Fatalf("mirrored page: %d", code)
			}
			for _, u := range []string{mirrorFile, mirrorFile + ".metadata"} {
				if code, _ := get(t, m.URL()+u, "", ""); code != http.StatusOK {
					t.Fatalf("mirrored %s: %d", u, code)
				}
			}
		}
		// One connection per path: a request the lane hands over (the
		// query) moves its connection to net/http for good.
		newClient := func() *http.Client {
			c := &http.Client{
				Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			t.Cleanup(c.CloseIdleConnections)
			return c
		}
		var client *http.Client
		var out []laneExchange
		for _, path := range []string{"/simple/", "/simple/acme-util/", "/simple/Acme_Util/", "/simple/nothing-here/", "/simple/acme-core/", "/simple/Acme.Core/", "/simple/acme-util", "/simple/acme-util/?format=application/vnd.pypi.simple.v1+json"} {
			client = newClient()
			for _, accept := range []string{"", "application/vnd.pypi.simple.v1+json", "text/html", "application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.1", "image/png"} {
				for _, enc := range []string{"", "gzip", "br;q=1, gzip;q=0"} {
					for _, method := range []string{"GET", "HEAD", "GET"} {
						out = append(out, exchange(t, client, m.URL(), method, path, accept, enc, ""))
					}
					// A revalidation with the ETag just served.
					if x := out[len(out)-1]; x.header.Get("Etag") != "" {
						out = append(out, exchange(t, client, m.URL(), "GET", path, accept, enc, "W/"+x.header.Get("Etag")))
						out = append(out, exchange(t, client, m.URL(), "GET", path, accept, enc, `"nope", `+x.header.Get("Etag")))
						out = append(out, exchange(t, client, m.URL(), "GET", path, accept, enc, `"nope"`))
					}
				}
			}
		}
		// Files: plain GETs come from the lane, ranges and revalidations
		// from net/http; the answers must not differ.
		for _, path := range []string{hostedFile, mirrorFile, "/mirror/files/Acme_Core/acme_core-1.0-py3-none-any.whl",
			hostedFile + ".metadata", mirrorFile + ".metadata", "/files/0000/acme_util-0.1-py3-none-any.whl", mirrorFile + "x",
			"/files/" + strings.Repeat("0", 64) + "/acme_util-0.1.tar.gz.metadata"} {
			client = newClient()
			for _, h := range [][2]string{{}, {"Range", "bytes=0-9"}, {"If-None-Match", ""}, {"If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"}, {}} {
				for _, method := range []string{"GET", "HEAD"} {
					hdr := map[string]string{h[0]: h[1]}
					if h[0] == "If-None-Match" {
						hdr[h[0]] = out[len(out)-1].header.Get("Etag")
					}
					out = append(out, exchangeHeaders(t, client, m.URL(), method, path, hdr))
				}
			}
		}
		// The lane's replies carry a request ID and show in the metrics
		// under the route template, as echo's do; warm hosted and
		// mirrored pages both come from the lane.
		laneReplies := func() string {
			_, metrics := get(t, m.URL()+"/metrics", "", "")
			for _, want := range []string{`pyindex_http_requests_total{code="200",method="GET",route="/simple/:project/"}`,
				`pyindex_download_files_total{kind="dist",source="hosted"}`, `pyindex_download_files_total{kind="dist",source="mirror"}`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("fast=%v: no %s in /metrics", fast, want)
				}
			}
			n := regexp.MustCompile(`(?m)^pyindex_http_fast_lane_replies_total (\d+)$`).FindStringSubmatch(metrics)
			if n == nil {
				t.Fatalf("fast=%v: no fast lane counter", fast)
			}
			return n[1]
		}
		client = newClient()
		downloads := func() string {
			_, metrics := get(t, m.URL()+"/metrics", "", "")
			n := regexp.MustCompile(`(?m)^pyindex_download_bytes_total\{kind="dist",source="hosted"\} (\d+)$`).FindStringSubmatch(metrics)
			if n == nil {
				t.Fatalf("fast=%v: no hosted download bytes", fast)
			}
			return n[1]
		}
		hostedBytes := downloads()
		for _, path := range []string{"/simple/acme-util/", "/simple/acme-core/", "/simple/", hostedFile, mirrorFile, hostedFile + ".metadata", mirrorFile + ".metadata"} {
			before := laneReplies()
			resp, err := client.Get(m.URL() + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			ids[fmt.Sprint(fast)] = resp.Header.Get("X-Request-Id")
			// The lane counts a reply just after sending it: wait a little.
			after := laneReplies()
			for deadline := time.Now().Add(5 * time.Second); fast && after == before && time.Now().Before(deadline); after = laneReplies() {
				time.Sleep(5 * time.Millisecond)
			}
			if (after != before) != fast {
				t.Errorf("fast=%v: %s: lane replies %s -> %s", fast, path, before, after)
			}
		}
		if now := downloads(); now == hostedBytes {
			t.Errorf("fast=%v: hosted download bytes stayed at %s after a download", fast, now)
		}
		return out
	}
	slow, fast := run(false), run(true)
	if len(slow) != len(fast) {
		t.Fatalf("%d exchanges without the lane, %d with", len(slow), len(fast))
	}
	for i := range slow {
		if a, b := slow[i].String(), fast[i].String(); a != b {
			t.Errorf("without the lane:\n%s\nwith it:\n%s", a, b)
		}
	}
	for k, id := range ids {
		if len(id) != 32 {
			t.Errorf("fast=%s: X-Request-Id %q", k, id)
		}
	}
}

// runOn runs a server on the data folder data, with the fast lane on or
// off; stop closes it. The tests that compare the two run one after the
// other on the same data, so that pages and ETags are the same.
func runOn(t *testing.T, data string, fast bool, mutate func(*pyindex.Config)) (m *pyindex.Main, stop func()) {
	t.Helper()
	cfg := pyindex.DefaultConfig()
	cfg.Listen, cfg.Data, cfg.LogLevel = "127.0.0.1:0", data, "warn"
	cfg.Mirror.Upstream = ""
	cfg.Server.FastLane = fast
	mutate(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m = pyindex.NewMain(cfg, &testLogWriter{t: t})
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
}

// laneReplies returns pyindex_http_fast_lane_replies_total from m's
// /metrics.
func laneReplies(t testing.TB, m *pyindex.Main) int {
	t.Helper()
	_, metrics := get(t, m.URL()+"/metrics", "", "")
	n := regexp.MustCompile(`(?m)^pyindex_http_fast_lane_replies_total (\d+)$`).FindStringSubmatch(metrics)
	if n == nil {
		t.Fatal("no fast lane counter in /metrics")
	}
	v, _ := strconv.Atoi(n[1])
	return v
}

func exchange(t *testing.T, client *http.Client, base, method, path, accept, enc, inm string) laneExchange {
	t.Helper()
	x := exchangeHeaders(t, client, base, method, path, map[string]string{"Accept": accept, "Accept-Encoding": enc, "If-None-Match": inm})
	x.request = fmt.Sprintf("%s %s accept=%q enc=%q inm=%q", method, path, accept, enc, inm)
	return x
}

// exchangeHeaders makes one request with the headers of hdr that are not
// empty.
func exchangeHeaders(t *testing.T, client *http.Client, base, method, path string, hdr map[string]string) laneExchange {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	for k, v := range hdr {
		if k != "" && v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Date") == "" || len(resp.Header.Get("X-Request-Id")) != 32 {
		t.Errorf("%s %s: Date %q, X-Request-Id %q", method, path, resp.Header.Get("Date"), resp.Header.Get("X-Request-Id"))
	}
	if resp.ContentLength >= 0 && method == "GET" && int64(len(body)) != resp.ContentLength {
		t.Errorf("%s %s: %d bytes, Content-Length %d", method, path, len(body), resp.ContentLength)
	}
	resp.Header.Del("Date")
	resp.Header.Del("X-Request-Id")
	return laneExchange{request: fmt.Sprintf("%s %s %q", method, path, hdr),
		status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// TestFastLaneAuthMatchesNetHTTP is TestFastLaneMatchesNetHTTP for
// requests with credentials (a password, tokens with and without a project
// restriction, wrong ones, until the failed-login limit blocks), with
// anonymous reads on and off: the lane answers the reads the credential
// allows and leaves every refusal to echo, so the answers must not differ.
func TestFastLaneAuthMatchesNetHTTP(t *testing.T) {
	for _, anonymous := range []bool{false, true} {
		t.Run(fmt.Sprintf("anonymous_read=%v", anonymous), func(t *testing.T) {
			data := t.TempDir()
			util := loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1")
			core := loadDist(t, "acme_core-1.0-py3-none-any.whl", "acme-core", "1.0")
			paths := []string{"/simple/", "/simple/acme-util/", "/simple/acme-core/",
				"/files/" + util.sha256() + "/" + util.filename, "/files/" + util.sha256() + "/" + util.filename + ".metadata",
				"/files/" + core.sha256() + "/" + core.filename}
			basic := func(user, pass string) string {
				return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
			}
			creds := map[string]string{"none": ""}
			run := func(fast bool) ([]laneExchange, int) {
				m, stop := runOn(t, data, fast, func(cfg *pyindex.Config) { cfg.Auth.AnonymousRead = anonymous })
				defer stop()
				if !fast {
					addUser(t, m, "ci", "secret-pass", false)
					postUpload(t, m, "ci", "secret-pass", util)
					postUpload(t, m, "ci", "secret-pass", core)
					creds["password"] = basic("ci", "secret-pass")
					creds["read-token"] = "Bearer " + createToken(t, m, "ci", "--scope", "read")
					creds["util-only-token"] = basic("__token__", createToken(t, m, "ci", "--scope", "read", "--project", "acme-util"))
					// Last: these count towards the failed-login limit.
					creds["wrong-password"] = basic("ci", "not-the-password")
					creds["unknown-user"] = basic("nobody", "whatever-pass")
					creds["malformed"] = "Basic !!!"
				}
				before := laneReplies(t, m)
				var out []laneExchange
				for _, who := range []string{"none", "password", "read-token", "util-only-token", "wrong-password", "unknown-user", "malformed"} {
					client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
					for _, path := range paths {
						for _, method := range []string{"GET", "GET", "HEAD"} {
							x := exchangeHeaders(t, client, m.URL(), method, path, map[string]string{"Authorization": creds[who]})
							x.request = who + " " + x.request
							x.header.Del("Retry-After") // seconds left: timing
							out = append(out, x)
						}
					}
					client.CloseIdleConnections()
				}
				time.Sleep(50 * time.Millisecond) // the lane counts just after replying
				return out, laneReplies(t, m) - before
			}
			slow, _ := run(false)
			// In private mode a token without a project restriction lists
			// every project (it once listed none), one limited to
			// acme-util only that.
			for _, x := range slow {
				if anonymous {
					break
				}
				want := map[string]string{"read-token GET /simple/": "acme-core acme-util", "util-only-token GET /simple/": "acme-util"}
				for prefix, names := range want {
					if !strings.HasPrefix(x.request, prefix+" ") || x.status != http.StatusOK {
						continue
					}
					for _, name := range []string{"acme-core", "acme-util"} {
						if strings.Contains(x.body, ">"+name+"<") != strings.Contains(names, name) {
							t.Errorf("%s: listing %q, want %s", x.request, x.body, names)
						}
					}
				}
			}
			// A private index's replies are not for shared caches: public
			// would let a proxy store a reply to a request with
			// credentials and hand it to anyone.
			for _, x := range slow {
				if cc := x.header.Get("Cache-Control"); !anonymous && x.status == http.StatusOK && strings.Contains(cc, "public") {
					t.Errorf("%s: Cache-Control %q on a private index", x.request, cc)
				}
			}
			fast, n := run(true)
			if len(slow) != len(fast) {
				t.Fatalf("%d exchanges without the lane, %d with", len(slow), len(fast))
			}
			for i := range slow {
				if a, b := slow[i].String(), fast[i].String(); a != b {
					t.Errorf("without the lane:\n%s\nwith it:\n%s", a, b)
				}
			}
			if n == 0 {
				t.Error("the lane answered none of the requests with credentials")
			}
		})
	}
}
