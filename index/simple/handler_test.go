package simple_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/storage/fs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// env is a read side on a real catalog and a real filesystem store.
type env struct {
	t     testing.TB
	cat   *index.Catalog
	store *fs.FS
	e     *echo.Echo
	h     *simple.Handler
}

// fixedClock returns a clock that starts at a fixed instant and advances by
// one second (and a few microseconds) per call, so upload times are
// deterministic and distinct.
func fixedClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	return func() time.Time {
		i := n.Add(1)
		return start.Add(time.Duration(i)*time.Second + time.Duration(i)*time.Microsecond)
	}
}

func newEnv(t testing.TB, cfg simple.Config) *env {
	t.Helper()
	cat := indextest.Catalog(t)
	cat.SetClock(fixedClock())
	return newEnvWith(t, cat, indextest.Store(t), cfg)
}

func newEnvWith(t testing.TB, cat *index.Catalog, store *fs.FS, cfg simple.Config) *env {
	t.Helper()
	if cfg.PageCacheEntries == 0 {
		cfg.PageCacheEntries = 64
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := simple.New(cfg, simple.Deps{Catalog: cat, Store: store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(log)
	h.Register(e.Group(""))
	return &env{t: t, cat: cat, store: store, e: e, h: h}
}

// seedAcme seeds every distribution of testdata/dists.
func (en *env) seedAcme() {
	en.t.Helper()
	for _, n := range []string{
		"acme_util-0.1-py3-none-any.whl", "acme_util-0.1.tar.gz",
		"acme_util-0.2-py3-none-any.whl", "acme_util-0.2.tar.gz",
		"acme_util-1.0rc1-py3-none-any.whl", "acme_util-1.0rc1.tar.gz",
		"acme_core-1.0-py3-none-any.whl", "acme-core-1.0.tar.gz",
		"acme_future-1.0-py3-none-any.whl", "acme-future-1.0.tar.gz",
		"Acme.Legacy-0.3.zip",
	} {
		indextest.SeedDist(en.t, en.cat, en.store, n)
	}
}

func (en *env) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	en.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	return rec
}

func (en *env) get(target string, hdr ...string) *httptest.ResponseRecorder {
	en.t.Helper()
	return en.do(http.MethodGet, target, hdr...)
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, b)
	}
	return m
}

const (
	acceptPip   = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	acceptUV    = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
	acceptDevpi = "application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json, text/html;q=0.01"
	acceptJSON  = "application/vnd.pypi.simple.v1+json"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, accept, format string
		want                 simple.Format
	}{
		{"no accept", "", "", simple.FormatHTML},
		{"pip", acceptPip, "", simple.FormatV1JSON},
		{"uv", acceptUV, "", simple.FormatV1JSON},
		{"devpi", acceptDevpi, "", simple.FormatV1JSON},
		{"proxpi", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1", "", simple.FormatV1JSON},
		{"old pip", "text/html", "", simple.FormatHTML},
		{"v1 html only", "application/vnd.pypi.simple.v1+html", "", simple.FormatV1HTML},
		{"latest json", "application/vnd.pypi.simple.latest+json", "", simple.FormatV1JSON},
		{"latest html", "application/vnd.pypi.simple.latest+html", "", simple.FormatV1HTML},
		{"text/plain", "text/plain", "", simple.FormatHTML},
		{"garbage", "%%%garbage;;;,,", "", simple.FormatHTML},
		{"bad q", "application/vnd.pypi.simple.v1+json;q=abc", "", simple.FormatHTML},
		{"q out of range", "application/vnd.pypi.simple.v1+json;q=2", "", simple.FormatHTML},
		{"q zero", "application/vnd.pypi.simple.v1+json;q=0, text/html;q=0.1", "", simple.FormatHTML},
		{"all zero", "application/vnd.pypi.simple.v1+json;q=0, text/html;q=0, application/vnd.pypi.simple.v1+html;q=0", "", simple.FormatHTML},
		{"tie all three", "text/html, application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json", "", simple.FormatHTML},
		{"tie json v1html", "application/vnd.pypi.simple.v1+json;q=0.5, application/vnd.pypi.simple.v1+html;q=0.5", "", simple.FormatV1HTML},
		{"warehouse test", "text/html;q=0.01, application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json", "", simple.FormatV1JSON},
		{"star", "*/*", "", simple.FormatHTML},
		{"star low, json", "*/*;q=0.1, application/vnd.pypi.simple.v1+json", "", simple.FormatV1JSON},
		{"application star", "application/*", "", simple.FormatV1HTML},
		{"text star", "text/*", "", simple.FormatHTML},
		{"exact overrides wildcard", "*/*;q=0.9, text/html;q=0", "", simple.FormatV1HTML},
		{"case and spaces", "  Application/VND.pypi.simple.V1+JSON ; Q=0.7 , text/html;q=0.5", "", simple.FormatV1JSON},
		{"format json wins", "text/html", "application/vnd.pypi.simple.v1+json", simple.FormatV1JSON},
		{"format html wins", acceptPip, "text/html", simple.FormatHTML},
		{"format v1 html", "", "application/vnd.pypi.simple.v1+html", simple.FormatV1HTML},
		{"format latest json", "", "application/vnd.pypi.simple.latest+json", simple.FormatV1JSON},
		{"format latest html", acceptPip, "application/vnd.pypi.simple.latest+html", simple.FormatV1HTML},
		{"format garbage falls back to accept", acceptPip, "json", simple.FormatV1JSON},
		{"format list ignored", "", "text/html,application/vnd.pypi.simple.v1+json", simple.FormatHTML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second answer is remembered
				if got := simple.Negotiate(tc.accept, tc.format); got != tc.want {
					t.Errorf("Negotiate(%q, %q) = %v, want %v", tc.accept, tc.format, got.ContentType(), tc.want.ContentType())
				}
			}
		})
	}
}

func TestRootPage(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	serial, err := en.cat.Serial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, accept, ctype string
	}{
		{"html", "", "text/html"},
		{"v1 html", "application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"},
		{"json", acceptPip, "application/vnd.pypi.simple.v1+json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := en.get("/simple/", "Accept", tc.accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(h.Get("Vary"), "Accept") {
				t.Errorf("Vary = %q, want Accept in it", h.Get("Vary"))
			}
			if got := h.Get("X-PyPI-Last-Serial"); got != itoa(serial) {
				t.Errorf("X-PyPI-Last-Serial = %q, want %d", got, serial)
			}
			body := rec.Body.String()
			if tc.ctype == simple.ContentTypeV1JSON {
				m := decodeJSON(t, rec.Body.Bytes())
				meta := m["meta"].(map[string]any)
				if meta["api-version"] != "1.4" || meta["_last-serial"] != float64(serial) {
					t.Errorf("meta = %v", meta)
				}
				var names []string
				for _, p := range m["projects"].([]any) {
					names = append(names, p.(map[string]any)["name"].(string))
				}
				if got := strings.Join(names, ","); got != "acme-core,acme-future,Acme.Legacy,acme-util" {
					t.Errorf("projects = %s", got)
				}
				return
			}
			for _, want := range []string{
				`<meta name="pypi:repository-version" content="1.4">`,
				`<a href="/simple/acme-legacy/">Acme.Legacy</a>`,
				`<a href="/simple/acme-util/">acme-util</a>`,
				"<!--SERIAL " + itoa(serial) + "-->",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestProjectPageHTML(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	for _, accept := range []string{"", "text/html", "application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html"} {
		t.Run("accept="+accept, func(t *testing.T) {
			rec := en.get("/simple/acme-future/", "Accept", accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			want := simple.Negotiate(accept, "").ContentType()
			if got := rec.Header().Get("Content-Type"); got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			body := rec.Body.String()
			p, _ := en.cat.Project(context.Background(), "acme-future")
			if got := rec.Header().Get("X-PyPI-Last-Serial"); got != itoa(p.LastSerial) {
				t.Errorf("X-PyPI-Last-Serial = %q, want %d", got, p.LastSerial)
			}
			if !strings.Contains(body, `data-requires-python="&gt;=3.99"`) {
				t.Errorf("requires-python not escaped:\n%s", body)
			}
			if strings.Contains(body, `">=3.99"`) {
				t.Errorf("raw > in attribute:\n%s", body)
			}
			links := regexp.MustCompile(`<a [^>]*>[^<]*</a>`).FindAllString(body, -1)
			if len(links) != 2 {
				t.Fatalf("want 2 links, got %d:\n%s", len(links), body)
			}
			core := regexp.MustCompile(`data-core-metadata="([^"]*)"`)
			dist := regexp.MustCompile(`data-dist-info-metadata="([^"]*)"`)
			for _, l := range links {
				text := regexp.MustCompile(`>([^<]*)</a>`).FindStringSubmatch(l)[1]
				href := regexp.MustCompile(`href="([^"]*)"`).FindStringSubmatch(l)[1]
				if !strings.HasSuffix(strings.Split(href, "#")[0], "/"+text) {
					t.Errorf("anchor text %q is not the last path segment of %q", text, href)
				}
				if !regexp.MustCompile(`#sha256=[0-9a-f]{64}$`).MatchString(href) {
					t.Errorf("href %q lacks the sha256 fragment", href)
				}
				c, d := core.FindStringSubmatch(l), dist.FindStringSubmatch(l)
				if strings.HasSuffix(text, ".whl") {
					if c == nil || d == nil || c[1] != d[1] || !strings.HasPrefix(c[1], "sha256=") {
						t.Errorf("wheel link metadata attributes wrong: %s", l)
					}
				} else if c != nil || d != nil {
					t.Errorf("sdist link advertises metadata: %s", l)
				}
			}
		})
	}
}

func TestProjectPageJSON(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	for _, accept := range []string{acceptPip, acceptUV, acceptDevpi, "application/vnd.pypi.simple.latest+json"} {
		t.Run(accept, func(t *testing.T) {
			rec := en.get("/simple/acme-util/", "Accept", accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != simple.ContentTypeV1JSON {
				t.Errorf("Content-Type = %q", got)
			}
			if !strings.Contains(rec.Header().Get("Vary"), "Accept") {
				t.Errorf("Vary = %q", rec.Header().Get("Vary"))
			}
			if strings.Contains(rec.Body.String(), `"dist-info-metadata"`) {
				t.Errorf("JSON carries dist-info-metadata (breaks pip 22.3-23.1)")
			}
			m := decodeJSON(t, rec.Body.Bytes())
			p, _ := en.cat.Project(context.Background(), "acme-util")
			meta := m["meta"].(map[string]any)
			if meta["api-version"] != "1.4" || meta["_last-serial"] != float64(p.LastSerial) {
				t.Errorf("meta = %v, want 1.4 and serial %d", meta, p.LastSerial)
			}
			if rec.Header().Get("X-PyPI-Last-Serial") != itoa(p.LastSerial) {
				t.Errorf("X-PyPI-Last-Serial = %q", rec.Header().Get("X-PyPI-Last-Serial"))
			}
			if m["name"] != "acme-util" {
				t.Errorf("name = %v", m["name"])
			}
			if got, _ := json.Marshal(m["versions"]); string(got) != `["0.1","0.2","1.0rc1"]` {
				t.Errorf("versions = %s", got)
			}
			files := m["files"].([]any)
			if len(files) != 6 {
				t.Fatalf("want 6 files, got %d", len(files))
			}
			uploadTime := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
			for _, fa := range files {
				f := fa.(map[string]any)
				fn := f["filename"].(string)
				data := indextest.Dist(t, fn)
				if f["size"] != float64(len(data)) {
					t.Errorf("%s: size = %v, want %d", fn, f["size"], len(data))
				}
				if h := f["hashes"].(map[string]any); h["sha256"] != indextest.Sum(data).SHA256 {
					t.Errorf("%s: hashes = %v", fn, h)
				}
				if s, _ := f["upload-time"].(string); !uploadTime.MatchString(s) {
					t.Errorf("%s: upload-time = %v", fn, f["upload-time"])
				}
				if f["yanked"] != false {
					t.Errorf("%s: yanked = %v", fn, f["yanked"])
				}
				if strings.Contains(f["url"].(string), "#") {
					t.Errorf("%s: url has a fragment", fn)
				}
				cm := f["core-metadata"]
				if strings.HasSuffix(fn, ".whl") {
					sum := sha256.Sum256(indextest.CoreMetadata(t, fn, data))
					if mm, ok := cm.(map[string]any); !ok || mm["sha256"] != hex.EncodeToString(sum[:]) {
						t.Errorf("%s: core-metadata = %v", fn, cm)
					}
				} else if cm != false {
					t.Errorf("%s: core-metadata = %v, want false", fn, cm)
				}
			}
		})
	}
}

// TestGolden pins one HTML and one JSON project page byte for byte. Run
// with -update to rewrite them.
func TestGolden(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	tests := []struct{ name, accept, file string }{
		{"html", "text/html", "acme-util.html"},
		{"json", acceptJSON, "acme-util.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := en.get("/simple/acme-util/", "Accept", tc.accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			got := rec.Body.Bytes()
			if tc.name == "json" {
				var b bytes.Buffer
				if err := json.Indent(&b, got, "", "  "); err != nil {
					t.Fatal(err)
				}
				got = append(b.Bytes(), '\n')
			}
			path := filepath.Join("testdata", "golden", tc.file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("page differs from %s (run go test -update and review the diff):\n%s", path, got)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	tests := []struct{ name, target, want string }{
		{"root no slash", "/simple", "/simple/"},
		{"root no slash query", "/simple?format=text/html", "/simple/?format=text/html"},
		{"project no slash", "/simple/acme-util", "/simple/acme-util/"},
		{"non-normalized", "/simple/Acme_Util/", "/simple/acme-util/"},
		{"non-normalized no slash", "/simple/Acme.Legacy", "/simple/acme-legacy/"},
		{"dots and runs", "/simple/acme__.-util/", "/simple/acme-util/"},
		{"query kept", "/simple/ACME-util/?format=application/vnd.pypi.simple.v1%2Bjson", "/simple/acme-util/?format=application/vnd.pypi.simple.v1%2Bjson"},
		{"query kept no slash", "/simple/ACME_util?a=1&b=2", "/simple/acme-util/?a=1&b=2"},
		{"json api", "/pypi/Acme_Util/json", "/pypi/acme-util/json"},
		{"json api version", "/pypi/Acme_Util/0.2/json", "/pypi/acme-util/0.2/json"},
		{"redirect with a bare ?", "/simple/Acme_Util/?", "/simple/acme-util/?"},
		// pip --index-url http://HOST/ (no /simple/) asks for /NAME/.
		{"index url without /simple/", "/acme-util/", "/simple/acme-util/"},
		{"index url without /simple/, not normalized", "/Acme_Util/", "/simple/acme-util/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := en.get(tc.target)
			if rec.Code != http.StatusMovedPermanently {
				t.Fatalf("GET %s: status %d, want 301", tc.target, rec.Code)
			}
			loc := rec.Header().Get("Location")
			if loc != tc.want {
				t.Errorf("Location = %q, want %q", loc, tc.want)
			}
			// One hop: the target is served directly.
			if rec2 := en.get(loc); rec2.Code != http.StatusOK {
				t.Errorf("GET %s (after redirect): status %d, want 200", loc, rec2.Code)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	for _, target := range []string{
		"/simple/nope/", "/simple/-bad-", "/simple/-bad-/", "/simple/bad%20name/", "/simple/a%2Fb/",
		"/simple/%00/", "/pypi/nope/json", "/pypi/acme-util/9.9/json", "/pypi/-bad-/json",
		"/files/" + strings.Repeat("0", 64) + "/acme_util-0.1.tar.gz", "/files/xyz/nope.whl",
	} {
		t.Run(target, func(t *testing.T) {
			rec := en.get(target)
			if rec.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", rec.Code, rec.Body)
			}
			ct := rec.Header().Get("Content-Type")
			if strings.HasPrefix(target, "/pypi/") {
				if !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				if m := decodeJSON(t, rec.Body.Bytes()); m["message"] != "Not Found" {
					t.Errorf("body = %s", rec.Body)
				}
			} else if !strings.HasPrefix(ct, "text/plain") || !strings.HasPrefix(rec.Body.String(), "404 Not Found") {
				t.Errorf("Content-Type %q body %q", ct, rec.Body)
			}
		})
	}
}

func TestConditionalAndEncoding(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	for _, accept := range []string{"text/html", acceptJSON} {
		t.Run(accept, func(t *testing.T) {
			plain := en.get("/simple/acme-util/", "Accept", accept)
			etag := plain.Header().Get("ETag")
			if etag == "" || plain.Header().Get("Content-Encoding") != "" {
				t.Fatalf("ETag %q, Content-Encoding %q", etag, plain.Header().Get("Content-Encoding"))
			}
			if got := plain.Header().Get("Content-Length"); got != itoa(int64(plain.Body.Len())) {
				t.Errorf("Content-Length = %q, body %d", got, plain.Body.Len())
			}
			rec := en.get("/simple/acme-util/", "Accept", accept, "If-None-Match", etag)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("If-None-Match: status %d, body %d bytes; want 304, empty", rec.Code, rec.Body.Len())
			}
			rec = en.get("/simple/acme-util/", "Accept", accept, "If-None-Match", `"other", `+etag)
			if rec.Code != http.StatusNotModified {
				t.Errorf("If-None-Match list: status %d", rec.Code)
			}
			rec = en.get("/simple/acme-util/", "Accept", accept, "If-None-Match", `"other"`)
			if rec.Code != http.StatusOK {
				t.Errorf("stale If-None-Match: status %d", rec.Code)
			}

			gz := en.get("/simple/acme-util/", "Accept", accept, "Accept-Encoding", "gzip, deflate")
			if gz.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("gzip not used: headers %v", gz.Header())
			}
			if gz.Header().Get("ETag") == etag {
				t.Errorf("gzip and identity share ETag %s", etag)
			}
			if !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary = %q", gz.Header().Get("Vary"))
			}
			zr, err := gzip.NewReader(gz.Body)
			if err != nil {
				t.Fatal(err)
			}
			unz, _ := io.ReadAll(zr)
			if !bytes.Equal(unz, plain.Body.Bytes()) {
				t.Errorf("gzip body differs from identity body")
			}
			for _, ae := range []string{"gzip;q=0", "identity", "br", "gzip;q=0, *", "*;q=0", "*, gzip;q=0"} {
				rec := en.get("/simple/acme-util/", "Accept", accept, "Accept-Encoding", ae)
				if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), plain.Body.Bytes()) {
					t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, rec.Header().Get("Content-Encoding"))
				}
			}
			head := en.do(http.MethodHead, "/simple/acme-util/", "Accept", accept)
			if head.Code != http.StatusOK || head.Body.Len() != 0 {
				t.Errorf("HEAD: status %d, %d body bytes", head.Code, head.Body.Len())
			}
			if head.Header().Get("Content-Type") != plain.Header().Get("Content-Type") ||
				head.Header().Get("Content-Length") != plain.Header().Get("Content-Length") ||
				head.Header().Get("ETag") != etag {
				t.Errorf("HEAD headers %v differ from GET %v", head.Header(), plain.Header())
			}
		})
	}
	t.Run("root head", func(t *testing.T) {
		if rec := en.do(http.MethodHead, "/simple/"); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("HEAD /simple/: %d, %d bytes", rec.Code, rec.Body.Len())
		}
	})
}

func TestSimpleMethodNotAllowed(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	for _, target := range []string{"/simple/", "/simple/acme-util/"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			t.Run(m+" "+target, func(t *testing.T) {
				rec := en.do(m, target)
				if rec.Code != http.StatusMethodNotAllowed {
					t.Fatalf("status %d, want 405", rec.Code)
				}
				if !strings.HasPrefix(rec.Body.String(), "405 ") || strings.Count(strings.TrimSpace(rec.Body.String()), "\n") != 0 {
					t.Errorf("body %q", rec.Body)
				}
			})
		}
	}
}

// TestPageCacheInvalidation checks that cached pages change as soon as a
// file is added, through this catalog or through a second one opened on the
// same file (another process, such as the CLI).
func TestPageCacheInvalidation(t *testing.T) {
	for _, second := range []bool{false, true} {
		name := "same catalog"
		if second {
			name = "second catalog"
		}
		t.Run(name, func(t *testing.T) {
			en := newEnv(t, simple.Config{})
			indextest.SeedDist(t, en.cat, en.store, "acme_util-0.1-py3-none-any.whl")
			writer := en.cat
			if second {
				writer = indextest.OpenCatalog(t, en.cat.Path())
			}
			pages := map[string]string{}
			for _, target := range []string{"/simple/", "/simple/acme-util/"} {
				for _, accept := range []string{"text/html", acceptJSON} {
					rec := en.get(target, "Accept", accept)
					pages[target+accept] = rec.Body.String()
					// A second GET is served from the cache.
					if again := en.get(target, "Accept", accept); again.Body.String() != rec.Body.String() {
						t.Fatalf("cached page differs")
					}
				}
			}
			indextest.SeedDist(t, writer, en.store, "acme_util-0.2-py3-none-any.whl")
			indextest.SeedDist(t, writer, en.store, "acme_core-1.0-py3-none-any.whl")
			for _, target := range []string{"/simple/", "/simple/acme-util/"} {
				for _, accept := range []string{"text/html", acceptJSON} {
					var rec *httptest.ResponseRecorder
					indextest.Within(func() bool { // the second catalog's change may take a moment on PostgreSQL
						rec = en.get(target, "Accept", accept)
						return rec.Body.String() != pages[target+accept]
					})
					if rec.Body.String() == pages[target+accept] {
						t.Errorf("%s (%s) still shows the old page", target, accept)
					}
					want := "acme_util-0.2-py3-none-any.whl"
					if target == "/simple/" {
						want = "acme-core"
					}
					if !strings.Contains(rec.Body.String(), want) {
						t.Errorf("%s (%s) lacks %s:\n%s", target, accept, want, rec.Body)
					}
				}
			}
		})
	}
}

func TestFiles(t *testing.T) {
	en := newEnv(t, simple.Config{})
	en.seedAcme()
	const wheel = "acme_util-0.2-py3-none-any.whl"
	data := indextest.Dist(t, wheel)
	sum := indextest.Sum(data).SHA256
	url := "/files/" + sum + "/" + wheel

	t.Run("linked from the page", func(t *testing.T) {
		if body := en.get("/simple/acme-util/").Body.String(); !strings.Contains(body, `href="`+url+`#sha256=`+sum+`"`) {
			t.Errorf("page does not link %s:\n%s", url, body)
		}
	})
	t.Run("get", func(t *testing.T) {
		rec := en.get(url, "Accept-Encoding", "gzip")
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), data) {
			t.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
		}
		h := rec.Header()
		for k, want := range map[string]string{
			"Content-Length":   itoa(int64(len(data))),
			"ETag":             `"` + sum + `"`,
			"Cache-Control":    "max-age=365000000, immutable, public",
			"Content-Encoding": "",
			"Accept-Ranges":    "bytes",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("head", func(t *testing.T) {
		rec := en.do(http.MethodHead, url, "Accept-Encoding", "identity")
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != itoa(int64(len(data))) {
			t.Errorf("HEAD: status %d, body %d, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
		}
	})
	t.Run("range", func(t *testing.T) {
		rec := en.get(url, "Range", "bytes=10-29")
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[10:30]) {
			t.Fatalf("status %d, body %q", rec.Code, rec.Body)
		}
		if got, want := rec.Header().Get("Content-Range"), "bytes 10-29/"+itoa(int64(len(data))); got != want {
			t.Errorf("Content-Range = %q, want %q", got, want)
		}
		rec = en.get(url, "Range", "bytes=-22")
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[len(data)-22:]) {
			t.Errorf("suffix range: status %d", rec.Code)
		}
	})
	t.Run("if-none-match", func(t *testing.T) {
		if rec := en.get(url, "If-None-Match", `"`+sum+`"`); rec.Code != http.StatusNotModified {
			t.Errorf("status %d, want 304", rec.Code)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		rec := en.get(url + ".metadata")
		want := indextest.CoreMetadata(t, wheel, data)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Fatalf("status %d, body %q", rec.Code, rec.Body)
		}
		ms := sha256.Sum256(rec.Body.Bytes())
		page := decodeJSON(t, en.get("/simple/acme-util/", "Accept", acceptJSON).Body.Bytes())
		found := false
		for _, fa := range page["files"].([]any) {
			f := fa.(map[string]any)
			if f["filename"] == wheel {
				found = true
				if cm := f["core-metadata"].(map[string]any); cm["sha256"] != hex.EncodeToString(ms[:]) {
					t.Errorf("advertised %v, served sha256 %x", cm, ms)
				}
			}
		}
		if !found {
			t.Errorf("%s not on the page", wheel)
		}
		if rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("metadata has Content-Encoding")
		}
		if rec := en.do(http.MethodHead, url+".metadata"); rec.Code != http.StatusOK || rec.Header().Get("Content-Length") != itoa(int64(len(want))) {
			t.Errorf("HEAD metadata: %d, Content-Length %q", rec.Code, rec.Header().Get("Content-Length"))
		}
	})
	sdist := indextest.Dist(t, "acme_util-0.2.tar.gz")
	sdistSum := indextest.Sum(sdist).SHA256
	for _, target := range []string{
		"/files/" + strings.Repeat("a", 64) + "/" + wheel,                       // wrong sha
		"/files/" + sdistSum + "/" + wheel,                                      // another file's sha
		"/files/" + sum + "/" + wheel + "x",                                     // unknown name
		"/files/" + sdistSum + "/acme_util-0.2.tar.gz.metadata",                 // sdists have none
		"/files/" + strings.ToUpper(sum) + "/" + wheel,                          // digest case
		"/files/" + sum + "/..%2F..%2F" + wheel,                                 // traversal
		"/files/" + sum + "/" + strings.TrimSuffix(wheel, ".whl") + ".metadata", // not a file
	} {
		t.Run("404 "+target, func(t *testing.T) {
			if rec := en.get(target); rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", rec.Code)
			}
		})
	}
}

// TestLocalVersionFilename checks that a '+' (local version) is
// percent-encoded in links and that both the encoded and the literal form
// are served.
func TestLocalVersionFilename(t *testing.T) {
	en := newEnv(t, simple.Config{})
	fn, data := indextest.Wheel(t, "acme_util", "1.0+g123", "")
	indextest.Seed(t, en.cat, en.store, fn, data)
	sum := indextest.Sum(data).SHA256
	encoded := "/files/" + sum + "/acme_util-1.0%2Bg123-py3-none-any.whl"
	for _, accept := range []string{"text/html", acceptJSON} {
		body := en.get("/simple/acme-util/", "Accept", accept).Body.String()
		if !strings.Contains(body, encoded) {
			t.Errorf("%s page does not link %s:\n%s", accept, encoded, body)
		}
	}
	t.Run("json api redirect", func(t *testing.T) {
		rec := en.get("/pypi/Acme_Util/1.0%2Bg123/json")
		if rec.Code != http.StatusMovedPermanently {
			t.Fatalf("status %d", rec.Code)
		}
		loc := rec.Header().Get("Location")
		if loc != "/pypi/acme-util/1.0+g123/json" && loc != "/pypi/acme-util/1.0%2Bg123/json" {
			t.Errorf("Location = %q", loc)
		}
		if rec := en.get(loc); rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d", loc, rec.Code)
		}
	})
	for _, target := range []string{encoded, "/files/" + sum + "/" + fn, encoded + ".metadata", "/pypi/acme-util/1.0%2Bg123/json", "/pypi/acme-util/1.0+g123/json"} {
		t.Run(target, func(t *testing.T) {
			rec := en.get(target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if strings.HasPrefix(target, "/files/") && !strings.HasSuffix(target, ".metadata") && !bytes.Equal(rec.Body.Bytes(), data) {
				t.Errorf("wrong body")
			}
		})
	}
}

// TestFileCacheInvalidation checks that remembered file rows never outlive
// a change: a file deleted by another catalog on the same database (the
// CLI) is gone at the next request, and a file uploaded there is served at
// once, even after its name was asked for and not found.
func TestFileCacheInvalidation(t *testing.T) {
	en := newEnv(t, simple.Config{})
	const wheel = "acme_util-0.1-py3-none-any.whl"
	f := indextest.SeedDist(t, en.cat, en.store, wheel)
	url := "/files/" + f.SHA256 + "/" + wheel
	for range 2 {
		if rec := en.get(url); rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", url, rec.Code)
		}
	}
	cli := indextest.OpenCatalog(t, en.cat.Path())
	if _, err := cli.DeleteFileRows(context.Background(), "acme-util", "0.1", wheel, index.Actor{Name: "cli"}); err != nil {
		t.Fatal(err)
	}
	if !indextest.Within(func() bool { return en.get(url).Code == http.StatusNotFound }) {
		t.Errorf("after the delete: GET %s = %d, want 404", url, en.get(url).Code)
	}
	const next = "acme_util-0.2-py3-none-any.whl"
	data := indextest.Dist(t, next)
	nextURL := "/files/" + indextest.Sum(data).SHA256 + "/" + next
	if rec := en.get(nextURL); rec.Code != http.StatusNotFound {
		t.Fatalf("before the upload: GET %s = %d, want 404", nextURL, rec.Code)
	}
	indextest.Seed(t, cli, en.store, next, data)
	if !indextest.Within(func() bool { return en.get(nextURL).Code == http.StatusOK }) {
		t.Errorf("after the upload by another catalog: GET %s = %d", nextURL, en.get(nextURL).Code)
	}
	if rec := en.get(nextURL); !bytes.Equal(rec.Body.Bytes(), data) {
		t.Errorf("after the upload by another catalog: GET %s: wrong body", nextURL)
	}
}
