package mirrortest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
)

// Clock is a settable time source.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// JSONAccept is the Accept header of a PEP 691 JSON client.
func JSONAccept() map[string]string {
	return map[string]string{"Accept": "application/vnd.pypi.simple.v1+json"}
}

// QuietLog returns a logger that discards everything.
func QuietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Env is a whole read side with a mirror, on a real catalog file and a
// real fs store, behind a real HTTP server, in front of a local upstream.
type Env struct {
	T      testing.TB
	Up     *Upstream
	Dir    string
	Cat    *index.Catalog
	Store  storage.Store
	Mirror *mirror.Mirror
	Srv    *httptest.Server
	Echo   *echo.Echo // Srv's handler, for benchmarks that skip the network
	Clock  *Clock
	Reg    *prometheus.Registry
	Config mirror.Config
	once   sync.Once
}

// NewEnv starts an Env in front of up (nil: an upstream that refuses
// connections) with its data in dir (empty: a temporary folder), its
// clock at 2024-06-02 12:00 UTC, and the mirror's configuration changed
// by mutate when not nil. The test's end stops it.
func NewEnv(t testing.TB, up *Upstream, dir string, mutate func(*mirror.Config)) *Env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	e := &Env{T: t, Up: up, Dir: dir, Clock: NewClock(time.Date(2024, 6, 2, 12, 0, 0, 0, time.UTC)), Reg: prometheus.NewRegistry()}
	cfg := mirror.DefaultConfig()
	if up != nil {
		cfg.Upstream = up.SimpleURL()
	} else {
		cfg.Upstream = "http://127.0.0.1:1/simple/"
	}
	cfg.Timeout = 2 * time.Second
	cfg.FileTimeout = 10 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	e.Config = cfg
	cat, err := indextest.TryOpenCatalog(t, filepath.Join(dir, "catalog.db")) // SQLite, or PostgreSQL in its run
	if err != nil {
		t.Fatal(err)
	}
	e.Cat = cat
	t.Cleanup(e.Stop)
	store, err := fs.New(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	e.Store = store
	log := QuietLog()
	authSvc, err := auth.New(auth.DefaultConfig(), auth.Deps{Catalog: e.Cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.Mirror, err = mirror.New(cfg, mirror.Deps{Catalog: e.Cat, Store: store, Auth: authSvc, Log: log, Now: e.Clock.Now, Registerer: e.Reg})
	if err != nil {
		t.Fatal(err)
	}
	h, err := simple.New(simple.DefaultConfig(), simple.Deps{Catalog: e.Cat, Store: store, Auth: authSvc, Upstream: e.Mirror, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ec := echo.New()
	ec.HTTPErrorHandler = httpx.ErrorHandler(log)
	ec.Use(authSvc.Middleware())
	g := ec.Group("")
	h.Register(g)
	e.Mirror.Register(g)
	e.Echo = ec
	e.Srv = httptest.NewServer(ec)
	return e
}

// URL returns the server's URL of path.
func (e *Env) URL(path string) string { return e.Srv.URL + path }

// Stop closes the server and then the catalog, once, as a process exiting
// would.
func (e *Env) Stop() {
	e.once.Do(func() {
		if e.Srv != nil {
			e.Srv.Close()
		}
		e.Mirror.Close()
		e.Cat.Close()
	})
}

// Response is what the server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// Do sends a request with the headers hdr to the server.
func (e *Env) Do(method, path string, hdr map[string]string) Response {
	e.T.Helper()
	req, _ := http.NewRequest(method, e.URL(path), nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return Response{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err}
}

// Get sends a GET to the server; a failed request fails the test.
func (e *Env) Get(path string, hdr map[string]string) Response {
	e.T.Helper()
	r := e.Do(http.MethodGet, path, hdr)
	if r.Err != nil {
		e.T.Fatalf("GET %s: %v", path, r.Err)
	}
	return r
}

// JSONPage is a PEP 691 project page as the server renders it.
type JSONPage struct {
	Meta struct {
		LastSerial int64 `json:"_last-serial"`
	} `json:"meta"`
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
	Files    []struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python"`
		Size           int64             `json:"size"`
		UploadTime     *string           `json:"upload-time"`
		Yanked         any               `json:"yanked"`
		CoreMetadata   any               `json:"core-metadata"`
	} `json:"files"`
}

// Page returns the JSON page of a project; anything but a 200 fails the
// test.
func (e *Env) Page(name string) JSONPage {
	e.T.Helper()
	r := e.Get("/simple/"+name+"/", JSONAccept())
	if r.Status != http.StatusOK {
		e.T.Fatalf("GET /simple/%s/: %d %s", name, r.Status, r.Body)
	}
	var p JSONPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.T.Fatalf("page %s: %v\n%s", name, err, r.Body)
	}
	return p
}
