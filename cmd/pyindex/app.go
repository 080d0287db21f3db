package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/generic"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/fastlane"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/index/webhook"
	"github.com/pyindex/pyindex/mirror"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
	"github.com/pyindex/pyindex/storage/s3"
	"github.com/pyindex/pyindex/upload"
	"github.com/pyindex/pyindex/web"
)

// Main is the server program: it builds every component from the
// configuration and serves until Close. Tests run it in-process.
type Main struct {
	Config Config
	Log    *slog.Logger

	Catalog *index.Catalog
	Store   storage.Store
	Auth    *auth.Service

	// WrapStore, when set before Run, wraps the blob store (tests inject
	// failures with it).
	WrapStore func(storage.Store) storage.Store
	Echo      *echo.Echo

	// Registry holds this server's Prometheus metrics, served on /metrics.
	// It is per Main (not the global default registry) so that tests can
	// run several servers in one process. Components register their own
	// collectors on it: pass m.Registry to storage.WithMetrics, the mirror
	// and the retention runner. NewMain creates it; Run creates one if nil.
	Registry *prometheus.Registry

	server *http.Server
	lane   *fastlane.Server // in front of server when [server] fast_lane is on
	ln     net.Listener
	done   chan error

	logOut    *batchWriter          // nil when logging straight to the writer given to NewMain
	reqLog    requestLog            // the access log of the logger NewMain made (requestLog)
	retention *admin.Retention      // scheduled pruning; Close stops it
	syncs     *mirrorsync.Scheduler // scheduled mirror syncs ([[mirror.sync]]); Close stops them
	webhooks  *webhook.Dispatcher   // [[webhooks]] deliveries; Close stops them
	mirror    *mirror.Mirror        // nil without a mirror; Close closes it
	unlock    func()                // releases the data folder's lock; nil before Run
}

// NewMain returns a Main for cfg (already validated), logging to w. When w
// is a file (the server's stderr), lines are written in batches from a
// goroutine (batchWriter) and Close writes the last ones.
func NewMain(cfg Config, w io.Writer) *Main {
	m := &Main{Config: cfg, Registry: prometheus.NewRegistry()}
	if f, ok := w.(*os.File); ok {
		m.logOut = newBatchWriter(f)
		w = m.logOut
	}
	m.Log, m.reqLog = newLogger(cfg, w)
	return m
}

// newLogger returns the logger of cfg's log_format and log_level writing
// to w, and the access log that writes the same lines to w without going
// through slog (requestLog).
func newLogger(cfg Config, w io.Writer) (*slog.Logger, requestLog) {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	if _, ok := w.(*batchWriter); !ok {
		// The handler locks around its writes, the access log does not.
		w = &syncWriter{w: w}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), requestLog{h: h, w: w, json: cfg.LogFormat == "json", level: lvl}
}

// requestLog is the access log of m.Log: the one newLogger made with it,
// unless m.Log has been replaced since (then its handler writes the lines).
func (m *Main) requestLog() requestLog {
	h := m.Log.Handler()
	if m.reqLog.h == h { // a pointer (or nil), so the comparison cannot panic
		return m.reqLog
	}
	return requestLog{h: h}
}

// catalogPath and the other paths below are the fixed layout of the data
// folder.
func catalogPath(cfg Config) string { return filepath.Join(cfg.Data, "catalog.db") }
func tempPath(cfg Config) string    { return filepath.Join(cfg.Data, "tmp") }
func filesPath(cfg Config) string {
	if cfg.Storage.Path != "" {
		return cfg.Storage.Path
	}
	return filepath.Join(cfg.Data, "files")
}

// openCatalog opens the catalog of cfg (used by the server and the CLI).
// Unless cfg.mayCreate, a data folder without a catalog is an error rather
// than a new empty catalog: a command run in the wrong folder must not
// change a catalog no server reads.
func openCatalog(ctx context.Context, cfg Config) (*index.Catalog, error) {
	if cfg.Catalog.URL != "" {
		return index.OpenPostgres(ctx, cfg.Catalog)
	}
	path := catalogPath(cfg)
	if !cfg.mayCreate {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no catalog at %s: run the command on the data folder the server uses "+
				"(--data, PYINDEX_DATA or data in the config), or pass --init to create an empty catalog there", absPath(path))
		}
	}
	return index.Open(ctx, path)
}

// absPath is path made absolute, for messages that name a file.
func absPath(path string) string {
	if index.IsPostgresURL(path) { // a PostgreSQL catalog's Path
		return path
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// openData opens the catalog and the blob store of cfg, for CLI commands
// that need both. The caller closes the catalog.
func openData(ctx context.Context, cfg Config) (*index.Catalog, storage.Store, error) {
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	cat, err := openCatalog(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cat, store, nil
}

// openStore opens the configured blob store, undecorated (Run adds
// metrics). For s3 it checks the bucket at once (creating it when
// create_bucket is set), so an unreachable endpoint, rejected credentials
// or a missing bucket fail the start with a clear error.
func openStore(ctx context.Context, cfg Config) (storage.Store, error) {
	switch cfg.Storage.Backend {
	case "fs":
		return fs.New(filesPath(cfg))
	case "s3":
		st, err := s3.New(ctx, cfg.Storage.S3)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown storage backend %q", cfg.Storage.Backend)
}

// Run binds the listener, builds the server from the configuration (build)
// and starts serving it in the background (serve). It returns once the
// listener is bound, so Addr is valid afterwards. The listener comes
// first: on an address that is taken nothing is created or opened (no
// data folder, no catalog), and the error names the address.
func (m *Main) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return listenError(m.Config.Listen, err)
	}
	parts, err := m.build(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	m.ln = ln
	return m.serve(parts)
}

// listenError explains a failure to listen on addr.
func listenError(addr string, err error) error {
	hint := "choose another address with --listen, PYINDEX_LISTEN or listen in the config"
	if errors.Is(err, syscall.EADDRINUSE) {
		hint = "another program (another pyindex?) is listening there: stop it, or " + hint
	}
	return fmt.Errorf("cannot listen on %s: %w; %s (nothing was created or opened)", addr, err, hint)
}

// parts are the components build makes and serve starts.
type parts struct {
	auth      *auth.Service
	read      *simple.Handler
	mirror    *mirror.Mirror // nil without [mirror] upstream
	generic   *generic.Service
	metrics   *serverMetrics
	retention *admin.Retention
	syncs     *mirrorsync.Scheduler // nil without a mirror
	webhooks  *webhook.Dispatcher
}

// open opens the catalog and the store (with metrics, and WrapStore) and
// removes what a crash left in the data folder.
func (m *Main) open(ctx context.Context) error {
	cfg := m.Config
	cfg.mayCreate = true // the server creates the catalog of a new data folder
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	// A shared lock while serving: restore, which replaces the catalog,
	// refuses to run under a server that has it open.
	unlock, err := lockData(cfg.Data, false)
	if err != nil {
		return err
	}
	m.unlock = unlock
	cat, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	m.Catalog = cat
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	store = storage.WithMetrics(store, cfg.Storage.Backend, m.Registry)
	if m.WrapStore != nil {
		store = m.WrapStore(store)
	}
	m.Store = store
	// Temporary files left by a crash are never visible; remove them.
	if n, err := upload.CleanTemp(tempPath(cfg), 0); err != nil {
		m.Log.Warn("cleaning temporary uploads", "err", err)
	} else if n > 0 {
		m.Log.Info("removed temporary uploads left by an earlier run", "count", n)
	}
	if fsStore, ok := storage.As[interface {
		CleanTemp(time.Duration) (int, error)
	}](store); ok {
		if n, err := fsStore.CleanTemp(0); err == nil && n > 0 {
			m.Log.Info("removed partial blobs left by an earlier run", "count", n)
		}
	}
	return nil
}

// build opens the data and makes every component, the echo router with
// its middleware and routes, and the http.Server; nothing listens or runs
// yet.
func (m *Main) build(ctx context.Context) (*parts, error) {
	cfg := m.Config
	if m.Registry == nil {
		m.Registry = prometheus.NewRegistry()
	}
	if err := m.open(ctx); err != nil {
		return nil, err
	}
	cat, store := m.Catalog, m.Store
	p := &parts{}
	var err error
	if p.auth, err = auth.New(cfg.Auth, auth.Deps{Catalog: cat, Log: m.Log}); err != nil {
		return nil, err
	}
	m.Auth = p.auth
	// The mirror serves the projects not hosted here (hosted names win):
	// the read side falls back to it.
	var upstream simple.Upstream
	if cfg.Mirror.Enabled() {
		p.mirror, err = mirror.New(cfg.Mirror.Config, mirror.Deps{Catalog: cat, Store: store, Auth: p.auth, Log: m.Log,
			Registerer: m.Registry, BaseURL: cfg.Index.BaseURL})
		if err != nil {
			return nil, err
		}
		// Pages of another upstream than the cached ones' never mix in.
		if note, err := p.mirror.CheckUpstream(ctx, "serve"); err != nil {
			return nil, err
		} else if note != "" {
			m.Log.Warn(note)
		}
		upstream = p.mirror
		p.syncs, err = mirrorsync.New(mirrorsync.Config{Jobs: cfg.Mirror.Sync},
			mirrorsync.Deps{Mirror: p.mirror, Catalog: cat, Store: store, Log: m.Log, Registerer: m.Registry})
		if err != nil {
			return nil, err
		}
	}
	if p.read, err = simple.New(cfg.Index, simple.Deps{Catalog: cat, Store: store, Auth: p.auth, Upstream: upstream, Log: m.Log}); err != nil {
		return nil, err
	}
	p.metrics = newServerMetrics(m.Registry, cat, m.Log)
	var claims upload.Claims // a new project named like an upstream one needs an admin
	if p.mirror != nil {
		claims = p.mirror
	}
	writeSide, err := upload.New(cfg.Upload, upload.Deps{Catalog: cat, Store: store, TempDir: tempPath(cfg),
		Auth: p.auth, Log: m.Log, OnUpload: p.metrics.upload, Claims: claims})
	if err != nil {
		return nil, err
	}
	if p.generic, err = generic.New(generic.Deps{Catalog: cat, Store: store, Upload: writeSide, Auth: p.auth, Log: m.Log,
		BaseURL: cfg.Index.BaseURL, Registerer: m.Registry}); err != nil {
		return nil, err
	}
	adminDeps := admin.Deps{Catalog: cat, Store: store, Auth: p.auth, Log: m.Log, Registerer: m.Registry}
	devVersions, err := admin.NewDevVersionsHandler(adminDeps)
	if err != nil {
		return nil, err
	}
	adminAPI, err := admin.NewAPI(adminDeps)
	if err != nil {
		return nil, err
	}
	genericAPI, err := admin.NewGenericAPI(adminDeps)
	if err != nil {
		return nil, err
	}
	if p.retention, err = admin.NewRetention(cfg.Retention, adminDeps); err != nil {
		return nil, err
	}
	if p.webhooks, err = webhook.New(webhook.Config{Hooks: cfg.Webhooks}, webhook.Deps{Catalog: cat, Auth: p.auth, Log: m.Log,
		Registerer: m.Registry, BaseURL: cfg.Index.BaseURL, UserAgent: "pyindex-webhook/" + Version()}); err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(m.Log)
	e.IPExtractor = echo.ExtractIPDirect()
	if cfg.Server.TrustProxyHeaders {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	// Middleware order, outermost first:
	//  1. (Pre) stripFragment: drop a literal "#..." some clients put in the
	//     request path, before routing sees it.
	//  2. Recover: a panic becomes a logged 500, never a dropped connection.
	//  3. RequestID: every request gets X-Request-ID (kept when sent).
	//  4. accessLog: one line per request, after the handler ran, with the
	//     final status and the request ID.
	//  5. metrics: counts and times the request by route template (echo's
	//     c.Path(), never the raw path), and counts file downloads.
	//  6. guard (httpx.Guard): refuses cross-origin state changes (403)
	//     and an /api/ body not declared as JSON (415), before any
	//     credential is checked.
	//  7. auth: resolves credentials when a request has any (429 for an
	//     address over the failed-login limit); handlers then decide with
	//     auth.Service's Read and Require.
	// Each component then registers its own routes on the root group. The
	// fast lane (serve) answers the read side's routes in front of all of
	// this, with the same lookups, access line and metrics.
	e.Pre(stripFragment)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		m.Log.Error("panic", "err", err, "path", c.Request().URL.Path, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.RequestID())
	e.Use(accessLog(m.requestLog()))
	e.Use(p.metrics.middleware)
	e.Use(httpx.Guard(cfg.Index.BaseURL))
	e.Use(p.auth.Middleware())
	root := e.Group("")
	p.read.Register(root)
	writeSide.Register(root)
	devVersions.Register(root)
	adminAPI.Register(root)   // /api/v1 admin API
	p.webhooks.Register(root) // /api/v1/webhooks
	p.generic.Register(root)  // /generic/ files
	genericAPI.Register(root) // /api/v1/generic
	if p.mirror != nil {
		p.mirror.Register(root)
	}
	if cfg.Web.Enabled { // the browser interface: /projects/, /project/..., /login, /manage/...
		adminSvc, err := admin.New(adminDeps)
		if err != nil {
			return nil, err
		}
		ui, err := web.New(cfg.Web, web.Deps{Catalog: cat, Auth: p.auth, Admin: adminSvc, Links: p.read, Log: m.Log,
			BaseURL: cfg.Index.BaseURL, TrustProxyHeaders: cfg.Server.TrustProxyHeaders})
		if err != nil {
			return nil, err
		}
		ui.Register(root)
	}
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	m.registerOps(e) // /readyz, /metrics, the home page, /api/v1/version
	m.Echo = e
	m.server = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// serve starts the serve loop on Run's listener (the fast lane in
// front of net/http when [server] fast_lane is on), scheduled retention and
// the scheduled mirror syncs.
func (m *Main) serve(p *parts) error {
	cfg := m.Config
	ln := m.ln // bound by Run before anything else
	// Webhooks follow the audit log from here on (nothing without [[webhooks]]).
	if err := p.webhooks.Start(context.Background(), listenURL(ln)); err != nil {
		return err
	}
	m.webhooks = p.webhooks
	m.done = make(chan error, 1)
	if cfg.Server.FastLane {
		routes := append(p.read.Routes(), p.generic.Routes()...)
		if p.mirror != nil {
			routes = append(routes, p.mirror.Routes()...)
		}
		m.lane = m.newLane(routes, p.auth, p.metrics)
		go func() { m.done <- m.lane.Serve(ln) }()
	} else {
		go func() { m.done <- m.server.Serve(fastlane.WriteIdleListener(ln, cfg.Server.WriteIdleTimeout)) }()
	}
	m.retention, m.mirror = p.retention, p.mirror
	m.retention.Start() // does nothing unless [retention] enabled = true
	if p.syncs != nil {
		m.syncs = p.syncs
		m.syncs.Start(context.Background()) // one goroutine per [[mirror.sync]] entry; Close stops them
	}
	m.Log.Info("pyindex serving", "addr", ln.Addr().String(), "data", cfg.Data, "version", Version())
	if p.mirror != nil {
		m.Log.Info("projects not hosted here are mirrored from the upstream (--upstream \"\" or mirror.upstream = \"\" turns this off)",
			"upstream", cfg.Mirror.RedactedUpstream(), "offline", cfg.Mirror.Offline)
	}
	return nil
}

// listenURL is the server's URL from its listener, for links in webhook
// payloads when index.base_url is not set: a wildcard address (0.0.0.0,
// [::]) becomes the machine's host name.
func listenURL(ln net.Listener) string {
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil {
			host = name
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Addr returns the address the server listens on.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// URL returns the server's base URL.
func (m *Main) URL() string { return "http://" + m.Addr() }

// Done returns a channel that receives the serve loop's error when it stops.
func (m *Main) Done() <-chan error { return m.done }

// Close stops accepting connections, lets requests in flight finish within
// the shutdown timeout, and closes the catalog.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.Server.ShutdownTimeout)
		shutdown, closeNow := m.server.Shutdown, m.server.Close
		if m.lane != nil {
			shutdown, closeNow = m.lane.Shutdown, m.lane.Close
		}
		if err := shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
			closeNow()
		}
		cancel()
	}
	if m.retention != nil {
		m.retention.Stop()
	}
	m.syncs.Stop() // nil-safe; a sync in progress stops, what it fetched stays
	if m.webhooks != nil {
		m.webhooks.Stop() // attempts in flight are tried again at the next start
	}
	if m.mirror != nil {
		m.mirror.Close() // upstream fetches in flight end before the catalog closes
	}
	if m.Catalog != nil {
		errs = append(errs, m.Catalog.Close())
	}
	if m.unlock != nil {
		m.unlock()
	}
	if m.logOut != nil {
		m.logOut.Close() // later lines (a caller's last words) go straight out
	}
	return errors.Join(errs...)
}

// stripFragment removes a literal fragment from the request path: an old uv
// bug sent "#sha256=..." to the server, and PyPI strips it too.
func stripFragment(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if i := strings.IndexByte(u.Path, '#'); i >= 0 {
			u.Path = u.Path[:i]
			if j := strings.IndexByte(u.RawPath, '#'); j >= 0 {
				u.RawPath = u.RawPath[:j]
			} else if j := strings.Index(u.RawPath, "%23"); j >= 0 {
				u.RawPath = u.RawPath[:j]
			}
		}
		return next(c)
	}
}

// accessLog logs one line per request (requestLog).
func accessLog(rl requestLog) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			rl.log(req.Context(), req.Method, req.URL.Path, res.Status, res.Size, start,
				c.RealIP(), res.Header().Get(echo.HeaderXRequestID), req.UserAgent())
			return nil
		}
	}
}

// errDataInUse is lockData's answer when another process holds the data
// folder's lock in a way that excludes the one asked for.
var errDataInUse = errors.New("data folder in use")
