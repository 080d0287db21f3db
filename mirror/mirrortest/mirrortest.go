// Package mirrortest runs a local upstream index for tests: an
// httptest.Server serving the recorded pages of testdata/upstream (as PEP
// 691 JSON, or as a static HTML-only tree) and real distribution files from
// testdata/dists and the machine's ensurepip wheels, counting requests. No
// test ever needs the internet.
package mirrortest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Page is a page served instead of the recorded one.
type Page struct {
	Body        string
	ContentType string
	Serial      string // X-PyPI-Last-Serial; "" none
}

// Upstream is the local upstream. Its settings may change while it runs.
type Upstream struct {
	*httptest.Server
	root string

	mu        sync.Mutex
	counts    map[string]int
	htmlOnly  bool
	status    int           // when not 0, every request gets it
	delay     time.Duration // before answering
	pages     map[string]Page
	files     map[string][]byte // served instead of the real file
	hold      chan struct{}     // when not nil, file bodies wait for it to close
	userAgent string
	auth      string
}

// Root returns the repository root (for testdata).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start runs an upstream until the test ends; htmlOnly serves the static
// HTML tree whatever the client accepts.
func Start(t testing.TB, htmlOnly bool) *Upstream {
	t.Helper()
	u := &Upstream{root: Root(), counts: map[string]int{}, htmlOnly: htmlOnly, pages: map[string]Page{}, files: map[string][]byte{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

// SimpleURL is the upstream's simple-API root.
func (u *Upstream) SimpleURL() string { return u.URL + "/simple/" }

// Count returns how many requests a path received.
func (u *Upstream) Count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[path]
}

// Total returns how many requests the upstream received.
func (u *Upstream) Total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.counts {
		n += c
	}
	return n
}

// SetStatus makes every request answer code (0: back to normal).
func (u *Upstream) SetStatus(code int) { u.mu.Lock(); u.status = code; u.mu.Unlock() }

// SetDelay delays every answer.
func (u *Upstream) SetDelay(d time.Duration) { u.mu.Lock(); u.delay = d; u.mu.Unlock() }

// SetPage serves p for a project instead of the recorded page.
func (u *Upstream) SetPage(project string, p Page) { u.mu.Lock(); u.pages[project] = p; u.mu.Unlock() }

// SetFile serves body for a filename instead of the real file.
// A nil body goes back to the real file.
func (u *Upstream) SetFile(filename string, body []byte) {
	u.mu.Lock()
	if body == nil {
		delete(u.files, filename)
	} else {
		u.files[filename] = body
	}
	u.mu.Unlock()
}

// Hold makes file downloads send their headers and then wait until the
// returned function is called.
func (u *Upstream) Hold() (release func()) {
	ch := make(chan struct{})
	u.mu.Lock()
	u.hold = ch
	u.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// LastRequest returns the User-Agent and Authorization of the last request.
func (u *Upstream) LastRequest() (userAgent, auth string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.userAgent, u.auth
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.counts[r.URL.Path]++
	status, delay, htmlOnly, hold := u.status, u.delay, u.htmlOnly, u.hold
	u.userAgent, u.auth = r.UserAgent(), r.Header.Get("Authorization")
	u.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/simple/"):
		u.servePage(w, r, htmlOnly)
	case strings.HasPrefix(r.URL.Path, "/packages/"):
		u.serveFile(w, r, strings.TrimPrefix(r.URL.Path, "/packages/"), hold)
	default:
		http.NotFound(w, r)
	}
}

var serials = map[string]string{"acme-util": "1001", "acme-core": "1002", "setuptools": "1003"}

func (u *Upstream) servePage(w http.ResponseWriter, r *http.Request, htmlOnly bool) {
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
	if !ok {
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
		return
	}
	u.mu.Lock()
	p, override := u.pages[name]
	u.mu.Unlock()
	if !override {
		p.Serial = serials[name]
		wantJSON := !htmlOnly && strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json")
		path, ctype := filepath.Join(u.root, "testdata", "upstream", "html", name, "index.html"), "text/html"
		if wantJSON {
			path, ctype = filepath.Join(u.root, "testdata", "upstream", "json", name+".json"), "application/vnd.pypi.simple.v1+json"
		}
		b, err := os.ReadFile(path)
		if err != nil || strings.ContainsAny(name, "./\\") {
			http.NotFound(w, r)
			return
		}
		p.Body, p.ContentType = string(b), ctype
	}
	sum := sha256.Sum256([]byte(p.Body))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if p.Serial != "" {
		w.Header().Set("X-PyPI-Last-Serial", p.Serial)
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", p.ContentType)
	io.WriteString(w, p.Body)
}

// FilePath finds a distribution file: testdata/dists, then the ensurepip
// wheels of the machine's Pythons. "" when absent.
func FilePath(name string) string {
	if name == "" || strings.ContainsAny(name, "/\\") {
		return ""
	}
	p := filepath.Join(Root(), "testdata", "dists", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	pats := []string{
		"/usr/share/python-wheels/" + name,
		filepath.Join(home, ".pyenv", "versions", "*", "lib", "python*", "ensurepip", "_bundled", name),
		"/usr/lib/python3*/ensurepip/_bundled/" + name,
	}
	for _, pat := range pats {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

func (u *Upstream) serveFile(w http.ResponseWriter, r *http.Request, name string, hold chan struct{}) {
	base, meta := strings.CutSuffix(name, ".metadata")
	u.mu.Lock()
	body, ok := u.files[base]
	u.mu.Unlock()
	if !ok {
		p := FilePath(base)
		if p == "" {
			http.NotFound(w, r)
			return
		}
		var err error
		if body, err = os.ReadFile(p); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if meta {
		md, err := WheelMetadata(body)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		body = md
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if hold != nil && !meta {
		half := len(body) / 2
		w.Write(body[:half])
		w.(http.Flusher).Flush()
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		w.Write(body[half:])
		return
	}
	w.Write(body)
}

// WheelMetadata returns the METADATA bytes of a wheel.
func WheelMetadata(whl []byte) ([]byte, error) {
	z, err := zip.NewReader(bytes.NewReader(whl), int64(len(whl)))
	if err != nil {
		return nil, err
	}
	for _, f := range z.File {
		if strings.HasSuffix(f.Name, ".dist-info/METADATA") && strings.Count(f.Name, "/") == 1 {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	}
	return nil, os.ErrNotExist
}
