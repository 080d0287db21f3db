package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// testDist is a distribution from testdata/dists with its form fields.
type testDist struct {
	filename, name, version, filetype string
	data                              []byte
}

func (d testDist) sha256() string {
	s := sha256.Sum256(d.data)
	return hex.EncodeToString(s[:])
}

func loadDist(t testing.TB, filename, name, version string) testDist {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dists", filename))
	if err != nil {
		t.Fatal(err)
	}
	ft := "sdist"
	if strings.HasSuffix(filename, ".whl") {
		ft = "bdist_wheel"
	}
	return testDist{filename, name, version, ft, b}
}

// uploadForm returns the multipart body twine would send for d.
func uploadForm(t testing.TB, d testDist) (contentType string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"name", d.name},
		{"version", d.version}, {"filetype", d.filetype}, {"sha256_digest", d.sha256()}} {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := w.CreateFormFile("content", d.filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(d.data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// postUpload uploads d as user and checks the answer is 200.
func postUpload(t testing.TB, m *pyindex.Main, user, password string, d testDist) {
	t.Helper()
	ct, body := uploadForm(t, d)
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/legacy/", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload %s: %d %s", d.filename, resp.StatusCode, msg)
	}
}

// get fetches url (with basic auth when user is set) and returns the
// status and body.
func get(t testing.TB, url, user, password string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape parses /metrics.
type scrape struct {
	text     string
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t testing.TB, m *pyindex.Main) scrape {
	t.Helper()
	code, body := get(t, m.URL()+"/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return scrape{body, fams}
}

// value returns the value of the series name{labels} (counter, gauge, or a
// histogram's sample count), and whether it exists.
func (s scrape) value(name string, labels map[string]string) (float64, bool) {
	f := s.families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, lp := range m.Label {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	whl := loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1")
	sdist := loadDist(t, "acme_util-0.1.tar.gz", "acme-util", "0.1")

	before := scrapeMetrics(t, m)
	if v, ok := before.value("pyindex_catalog_files", map[string]string{"source": "hosted"}); !ok || v != 0 {
		t.Errorf("catalog files before any upload = %v, %v; want 0", v, ok)
	}

	postUpload(t, m, "ci", "ci-password-1", whl)
	postUpload(t, m, "ci", "ci-password-1", sdist)
	postUpload(t, m, "ci", "ci-password-1", whl) // a retry: identical
	if code, _ := get(t, m.URL()+"/simple/acme-util/", "", ""); code != 200 {
		t.Fatalf("project page: %d", code)
	}
	get(t, m.URL()+"/simple/Acme_Util/", "", "") // a redirect (followed), same route template
	get(t, m.URL()+"/simple/no-such-project/", "", "")
	fileURL := m.URL() + "/files/" + whl.sha256() + "/" + whl.filename
	if code, body := get(t, fileURL, "", ""); code != 200 || body != string(whl.data) {
		t.Fatalf("download: %d, %d bytes", code, len(body))
	}
	if code, _ := get(t, fileURL+".metadata", "", ""); code != 200 {
		t.Fatalf("metadata download: %d", code)
	}
	get(t, m.URL()+"/files/"+whl.sha256()+"/nope-1.0.tar.gz", "", "") // 404: not a download
	get(t, m.URL()+"/no/such/route-xyzzy", "", "")                    // no route at all

	s := scrapeMetrics(t, m)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pyindex_upload_files_total", map[string]string{"result": "stored"}, 2},
		{"pyindex_upload_files_total", map[string]string{"result": "identical"}, 1},
		{"pyindex_upload_bytes_total", nil, float64(len(whl.data) + len(sdist.data))},
		{"pyindex_download_files_total", map[string]string{"source": "hosted", "kind": "dist"}, 1},
		{"pyindex_download_bytes_total", map[string]string{"source": "hosted", "kind": "dist"}, float64(len(whl.data))},
		{"pyindex_download_files_total", map[string]string{"source": "hosted", "kind": "metadata"}, 1},
		{"pyindex_http_requests_total", map[string]string{"route": "/legacy/", "method": "POST", "code": "200"}, 3},
		{"pyindex_http_requests_total", map[string]string{"route": "/simple/:project/", "method": "GET", "code": "200"}, 2},
		{"pyindex_http_requests_total", map[string]string{"route": "/simple/:project/", "method": "GET", "code": "301"}, 1},
		{"pyindex_http_requests_total", map[string]string{"route": "/simple/:project/", "method": "GET", "code": "404"}, 1},
		{"pyindex_http_requests_total", map[string]string{"route": "/files/:sha256/:filename", "method": "GET", "code": "404"}, 1},
		{"pyindex_http_request_duration_seconds", map[string]string{"route": "/files/:sha256/:filename"}, 3},
		{"pyindex_catalog_projects", map[string]string{"source": "hosted"}, 1},
		{"pyindex_catalog_files", map[string]string{"source": "hosted"}, 2},
		{"pyindex_catalog_bytes", map[string]string{"source": "hosted"}, float64(len(whl.data) + len(sdist.data))},
		{"pyindex_catalog_up", nil, 1},
		{"pyindex_build_info", map[string]string{"version": pyindex.Version()}, 1},
	}
	for _, c := range checks {
		got, ok := s.value(c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "pyindex_http_requests_in_flight"} {
		if s.families[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	// Bounded labels: no project or file name anywhere in the exposition.
	for _, leak := range []string{"acme", "Acme", whl.sha256(), "no-such-project", "xyzzy"} {
		if strings.Contains(s.text, leak) {
			t.Errorf("/metrics mentions %q", leak)
		}
	}
}

func TestMetricsNeedAdmin(t *testing.T) {
	m := startServer(t, func(c *pyindex.Config) { c.Auth.MetricsAnonymous = false })
	addUser(t, m, "ci", "ci-password-1", false)
	addUser(t, m, "root", "root-password-1", true)
	for _, tc := range []struct {
		name, user, pw string
		want           int
	}{
		{"anonymous", "", "", http.StatusUnauthorized},
		{"user", "ci", "ci-password-1", http.StatusForbidden},
		{"admin", "root", "root-password-1", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := get(t, m.URL()+"/metrics", tc.user, tc.pw); code != tc.want {
				t.Errorf("/metrics = %d, want %d: %.200s", code, tc.want, body)
			}
		})
	}
}

func TestVersionEndpoint(t *testing.T) {
	m := startServer(t, nil)
	code, body := get(t, m.URL()+"/api/v1/version", "", "")
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
		t.Fatalf("/api/v1/version: %d %s %v", code, body, err)
	}
	out, err := runCLI(t, nil, "", "version")
	if err != nil {
		t.Fatal(err)
	}
	if v.Version == "" || v.Version != strings.TrimSpace(out) {
		t.Errorf("/api/v1/version says %q, pyindex version %q", v.Version, out)
	}
}

func TestHomePage(t *testing.T) {
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	postUpload(t, m, "ci", "ci-password-1", loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1"))

	resp, err := http.Get(m.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/ = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	base := m.URL()
	host := strings.Split(m.Addr(), ":")[0]
	for _, want := range []string{
		"pip install --index-url " + base + "/simple/ --trusted-host " + host + " PACKAGE", // pip
		"index-url = " + base + "/simple/\ntrusted-host = " + host,                         // pip.conf
		"repository = " + base + "/legacy/",                                                // .pypirc
		"twine upload --repository-url " + base + "/legacy/",                               // twine
		"uv pip install --index-url " + base + "/simple/",                                  // uv
		`url = "` + base + `/simple/"`,                                                     // uv and pdm
		"poetry source add --priority=primary pyindex " + base + "/simple/",                // poetry
		"pdm config repository.pyindex.url " + base + "/legacy/",                           // pdm
		`<b id="projects">1</b>`, `<b id="files">1</b>`,
		"acme_util-0.1-py3-none-any.whl",
		`<span id="version">` + pyindex.Version() + "</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("home page lacks %q", want)
		}
	}

	// index.base_url wins over the request's host; https needs no
	// trusted-host.
	m2 := startServer(t, func(c *pyindex.Config) { c.Index.BaseURL = "https://pypi.example.com/py/" })
	_, page = get(t, m2.URL()+"/", "", "")
	if !strings.Contains(page, "pip install --index-url https://pypi.example.com/py/simple/ PACKAGE") || strings.Contains(page, "trusted-host") {
		t.Errorf("with base_url the home page shows:\n%s", page)
	}

	// Private mode: the snippets, but not what the index holds.
	m3 := startServer(t, func(c *pyindex.Config) { c.Auth.AnonymousRead = false })
	addUser(t, m3, "ci", "ci-password-1", false)
	postUpload(t, m3, "ci", "ci-password-1", loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1"))
	resp, err = http.Get(m3.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if page := string(b); resp.StatusCode != 200 || strings.Contains(page, "acme") || !strings.Contains(page, m3.URL()+"/simple/") {
		t.Errorf("private home page for anonymous: %d\n%s", resp.StatusCode, page)
	}
	if h := resp.Header.Get("WWW-Authenticate"); h != "" {
		t.Errorf("the home page challenges anonymous visitors: %q", h)
	}
	if _, page := get(t, m3.URL()+"/", "ci", "ci-password-1"); !strings.Contains(page, "acme_util-0.1-py3-none-any.whl") {
		t.Errorf("private home page for a reader lacks the newest upload")
	}
}

func TestReadiness(t *testing.T) {
	m := startServer(t, nil)
	if code, body := get(t, m.URL()+"/readyz", "", ""); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	if code, _ := get(t, m.URL()+"/healthz", "", ""); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}

	// The files folder replaced by a file (a lost mount): not ready.
	files := filepath.Join(m.Config.Data, "files")
	if err := os.Rename(files, files+".away"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, files, "not a folder")
	if code, body := get(t, m.URL()+"/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "storage") {
		t.Errorf("/readyz with a broken store = %d %s", code, body)
	}
	os.Remove(files)
	if err := os.Rename(files+".away", files); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, m.URL()+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz after the store came back = %d %s", code, body)
	}

	// The catalog unreachable: not ready; /healthz still answers.
	m.Catalog.Close()
	if code, body := get(t, m.URL()+"/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "catalog") {
		t.Errorf("/readyz with a closed catalog = %d %s", code, body)
	}
	if code, _ := get(t, m.URL()+"/healthz", "", ""); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	// /metrics still answers, with the catalog marked down.
	if v, ok := scrapeMetrics(t, m).value("pyindex_catalog_up", nil); !ok || v != 0 {
		t.Errorf("pyindex_catalog_up = %v, %v; want 0", v, ok)
	}
}

// TestMetricsMirror: mirror page and file fetches move the mirror's cache
// series and count as downloads from the mirror.
func TestMetricsMirror(t *testing.T) {
	up := mirrortest.Start(t, false)
	m := startServer(t, func(c *pyindex.Config) {
		c.Mirror.Upstream = up.SimpleURL()
		c.Mirror.Timeout = 5 * time.Second
	})
	code, page := get(t, m.URL()+"/simple/acme-core/", "", "")
	if code != 200 {
		t.Fatalf("mirrored page: %d %s", code, page)
	}
	href := regexp.MustCompile(`href="([^"#]*acme_core-1\.0-py3-none-any\.whl)`).FindStringSubmatch(page)
	if href == nil {
		t.Fatalf("no wheel link on the mirrored page:\n%s", page)
	}
	fileURL := href[1]
	if strings.HasPrefix(fileURL, "/") {
		fileURL = m.URL() + fileURL
	}
	for range 2 { // a miss (fetched from the upstream), then a hit
		if code, body := get(t, fileURL, "", ""); code != 200 || len(body) == 0 {
			t.Fatalf("mirrored file %s: %d", fileURL, code)
		}
	}
	s := scrapeMetrics(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pyindex_download_files_total", map[string]string{"source": "mirror", "kind": "dist"}, 2},
		{"pyindex_mirror_cache_lookups_total", map[string]string{"kind": "file", "result": "miss"}, 1},
		{"pyindex_mirror_cache_lookups_total", map[string]string{"kind": "file", "result": "hit"}, 1},
		{"pyindex_http_requests_total", map[string]string{"route": "/mirror/files/:project/:filename", "method": "GET", "code": "200"}, 2},
		{"pyindex_catalog_projects", map[string]string{"source": "mirror"}, 1},
		{"pyindex_catalog_files", map[string]string{"source": "mirror"}, 1},
	} {
		if got, ok := s.value(c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if v, ok := s.value("pyindex_mirror_upstream_request_duration_seconds", nil); !ok || v == 0 {
		t.Errorf("no upstream request timed")
	}
	if strings.Contains(s.text, "acme") {
		t.Errorf("/metrics mentions a project name")
	}
}

// TestMetricsCountPanics: a handler that panics is counted as a 500 (and
// still answered by the Recover middleware).
func TestMetricsCountPanics(t *testing.T) {
	m := startServer(t, nil)
	m.Echo.GET("/test-panic/:x", func(echo.Context) error { panic("boom") })
	rec := httptest.NewRecorder()
	m.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/test-panic/1", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("panic answered %d", rec.Code)
	}
	s := scrapeMetrics(t, m)
	if v, _ := s.value("pyindex_http_requests_total", map[string]string{"route": "/test-panic/:x", "code": "500"}); v != 1 {
		t.Errorf("panics counted: %v, want 1", v)
	}
	if v, _ := s.value("pyindex_http_requests_in_flight", nil); v != 1 { // the scrape itself
		t.Errorf("in flight during a scrape = %v, want 1", v)
	}
}

// TestWrongURLHints: the URLs people type by mistake say what they are
// for, or lead to the right place.
func TestWrongURLHints(t *testing.T) {
	m := startServer(t, nil)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/legacy/", http.StatusMethodNotAllowed, "this is the upload URL"},
		{"/legacy", http.StatusMethodNotAllowed, "this is the upload URL"},
		{"/healthz", http.StatusOK, "ok"},
		// pip --index-url http://HOST/ follows the redirect to /simple/NAME/.
		{"/no-such-project/", http.StatusNotFound, "Not Found"},
	} {
		code, body := get(t, m.URL()+tc.path, "", "")
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %q, want %d with %q", tc.path, code, body, tc.code, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, m.URL()+"/Acme_Core/", nil)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/simple/acme-core/" {
		t.Errorf("GET /Acme_Core/: %d to %q, want 301 to /simple/acme-core/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
