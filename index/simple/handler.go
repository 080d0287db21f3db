// Package simple is the read side: the simple repository API pages
// (PEP 503 HTML, PEP 691 JSON), hosted files and their PEP 658 metadata,
// and the PyPI JSON API, over the catalog and the blob store.
//
// Every rule of a read (which page, which headers, who may read) is
// decided once, by lookups that take an httpx.Request and fill in an
// httpx.Reply: echo serves them through httpx.Handler, and the fast lane
// (wired in cmd/pyindex) asks the same lookups with InMemory set.
package simple

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/cache"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
)

// Config configures the read side.
type Config struct {
	// BaseURL is the externally visible URL of the server (for example
	// "https://pypi.example.com/" or "https://example.com/pypi/"). File links
	// are built from its path; empty means links are absolute paths from
	// "/".
	BaseURL string `toml:"base_url"`
	// SimpleMaxAge is the Cache-Control max-age of simple pages and the
	// JSON API. Keep it short: pip 26.2+ and uv honour it, so a long one
	// hides fresh uploads. Pages always carry an ETag for cheap
	// revalidation.
	SimpleMaxAge time.Duration `toml:"simple_max_age"`
	// PageCacheEntries bounds the rendered-page cache.
	PageCacheEntries int `toml:"page_cache_entries"`
}

// DefaultConfig returns the read side's defaults.
func DefaultConfig() Config {
	return Config{SimpleMaxAge: 0, PageCacheEntries: 4096}
}

// Validate reports every key of c that is out of range.
func (c Config) Validate() error {
	var errs []error
	if c.BaseURL != "" {
		if _, err := basePath(c.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("index.base_url: %q must be an absolute http(s) URL", c.BaseURL))
		}
	}
	if c.SimpleMaxAge < 0 {
		errs = append(errs, errors.New("index.simple_max_age: must not be negative"))
	}
	if c.PageCacheEntries < 1 {
		errs = append(errs, errors.New("index.page_cache_entries: must be at least 1"))
	}
	return errors.Join(errs...)
}

// basePath returns the path of an absolute http(s) base URL, without its
// trailing slash.
func basePath(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", index.Errorf(index.ErrInvalid, "base_url %q must be an absolute http(s) URL", baseURL)
	}
	return strings.TrimSuffix(u.Path, "/"), nil
}

// Deps are what the read side reads from.
type Deps struct {
	Catalog *index.Catalog
	Store   storage.Store
	// Auth decides who may read; nil allows every read (tests).
	Auth *auth.Service
	// Upstream serves the projects not hosted here (the mirror); nil for
	// none.
	Upstream Upstream
	Log      *slog.Logger // nil: slog.Default()
}

// Handler serves the read side: /simple/, /files/ and /pypi/.
type Handler struct {
	cacheControl []string                       // the Cache-Control value of pages
	files        *cache.Map[fileKey, fileEntry] // rows of downloaded files (filecache.go)
	cat          *index.Catalog
	store        storage.Store
	cfg          Config
	log          *slog.Logger
	cache        *cache.Map[pageKey, *page] // rendered pages
	prefix       string                     // path of BaseURL without the trailing slash
	upstream     Upstream
	auth         *auth.Service
	renders      renderGroup
	known        lastKnown // served while the catalog is unavailable (fallback.go)
}

// New returns the read side over deps.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Catalog == nil || deps.Store == nil {
		return nil, errors.New("simple.New: nil catalog or store")
	}
	if cfg.PageCacheEntries == 0 {
		cfg.PageCacheEntries = DefaultConfig().PageCacheEntries
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{cat: deps.Catalog, store: deps.Store, cfg: cfg, log: log, cache: cache.New[pageKey, *page](cfg.PageCacheEntries), files: cache.New[fileKey, fileEntry](fileCacheMax),
		auth: deps.Auth, upstream: deps.Upstream, known: newLastKnown(cfg.PageCacheEntries),
		cacheControl: []string{fmt.Sprintf("max-age=%d, public", int(cfg.SimpleMaxAge.Seconds()))}}
	if cfg.BaseURL != "" {
		h.prefix, _ = basePath(cfg.BaseURL)
	}
	return h, nil
}

// Route templates of the read side, named once: echo registers them, the
// metrics label requests with them and the fast lane matches them.
const (
	RouteRoot    = "/simple/"
	RouteProject = "/simple/:project/"
	RouteFile    = "/files/:sha256/:filename"
)

// Routes returns the read side's routes that both transports serve.
func (h *Handler) Routes() []httpx.Route {
	return []httpx.Route{
		{Path: RouteRoot, Lookup: h.root},
		{Path: RouteProject, Lookup: h.project},
		{Path: RouteFile, Lookup: h.file},
	}
}

// result is the auth result of an echo request (anonymous without Auth).
func (h *Handler) result(c echo.Context) auth.Result {
	if h.auth == nil {
		return auth.Result{Principal: index.Anonymous}
	}
	return h.auth.FromContext(c)
}

// Register adds the read side's routes to g (the server root).
func (h *Handler) Register(g *echo.Group) {
	get := []string{http.MethodGet, http.MethodHead}
	g.Match(get, strings.TrimSuffix(RouteRoot, "/"), redirectSlash)
	for _, r := range h.Routes() {
		g.Match(get, r.Path, httpx.Handler(r, h.result))
	}
	g.Match(get, strings.TrimSuffix(RouteProject, "/"), h.redirectProject)
	// pip --index-url http://HOST/ (without /simple/) asks for /NAME/:
	// send it to the simple page.
	g.Match(get, "/:project/", h.redirectProject)
	g.Match(get, "/pypi/:project/json", h.projectJSON)
	g.Match(get, "/pypi/:project/json/", h.projectJSON)
	g.Match(get, "/pypi/:project/:version/json", h.releaseJSON)
	g.Match(get, "/pypi/:project/:version/json/", h.releaseJSON)
	notAllowed := func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		g.Add(m, RouteRoot, notAllowed)
		g.Add(m, RouteProject, notAllowed)
	}
}

// redirectSlash answers a simple URL without its trailing slash with a 301
// to the slash form, keeping the query.
func redirectSlash(c echo.Context) error {
	u := *c.Request().URL
	u.Path += "/"
	if u.RawPath != "" {
		u.RawPath += "/"
	}
	return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
}

// redirectProject answers /simple/NAME (no slash) with one 301 straight to
// the normalized, slash-terminated URL.
func (h *Handler) redirectProject(c echo.Context) error {
	raw := httpx.Param(c, "project")
	if !pep503.Valid(raw) {
		return index.ErrNotFound
	}
	u := *c.Request().URL
	u.Path, u.RawPath = h.prefix+"/simple/"+pep503.Normalize(raw)+"/", ""
	return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
}

// FileURL returns the link path of a hosted file.
func (h *Handler) FileURL(sha256, filename string) string {
	return h.prefix + "/files/" + sha256 + "/" + httpx.EscapeFilename(filename)
}

// declined is err, or httpx.ErrNotInMemory for an InMemory request: the
// lane leaves every refusal, redirect and failure to echo.
func declined(req *httpx.Request, err error) error {
	if req.InMemory {
		return httpx.ErrNotInMemory
	}
	return err
}

// root answers /simple/.
func (h *Handler) root(ctx context.Context, req *httpx.Request, _ []string, rep *httpx.Reply) error {
	if err := h.auth.Read(req.Auth, ""); err != nil {
		return declined(req, err)
	}
	f := Negotiate(req.Accept, req.Format)
	// A token limited to some projects sees only those: such listings are
	// rendered per request instead of cached.
	only := h.auth.OwnListing(req.Auth)
	serial, err := h.cat.Serial(ctx)
	if err != nil {
		if last, ok := h.known.page(err, "", f.JSON()); ok && only == nil {
			h.pageReply(req, f, last.p, last.serial, rep)
			return nil
		}
		return declined(req, err)
	}
	key := pageKey{serial: serial, json: f.JSON(), source: 'h'}
	var p *page
	if only == nil {
		p, _ = h.cache.Get(key)
	}
	if p == nil {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		render := func(ctx context.Context) (*page, int64, error) {
			// Mirrored projects are listed too (marked), the cached ones:
			// an air-gapped instance lists what it can install.
			names, s, err := h.cat.IndexNames(ctx, h.upstream != nil)
			if err != nil {
				return nil, 0, err
			}
			entries := make([]RootEntry, 0, len(names))
			for _, n := range names {
				if only == nil || slices.Contains(only, n.Name) {
					entries = append(entries, RootEntry{Name: n.Name, Display: n.DisplayName, LastSerial: n.LastSerial, Mirrored: n.Mirrored})
				}
			}
			if f.JSON() {
				return newPage(renderRootJSON(entries, s)), s, nil
			}
			return newPage(renderRootHTML(h.prefix, entries, s)), s, nil
		}
		if only == nil {
			p, serial, err = h.renderShared(ctx, key, render)
		} else {
			p, serial, err = render(ctx)
		}
		if last, ok := h.known.page(err, "", f.JSON()); ok && only == nil {
			p, serial, err = last.p, last.serial, nil
		}
		if err != nil {
			return err
		}
	}
	h.pageReply(req, f, p, serial, rep)
	return nil
}

// project answers /simple/NAME/: a hosted project, and only it (a hosted
// name is never merged with the upstream unless opted in), else the
// upstream's page.
func (h *Handler) project(ctx context.Context, req *httpx.Request, params []string, rep *httpx.Reply) error {
	raw := params[0]
	if !pep503.Valid(raw) {
		return declined(req, index.ErrNotFound)
	}
	name := pep503.Normalize(raw)
	if name != raw {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		u := url.URL{Path: h.prefix + "/simple/" + name + "/", RawQuery: req.Query, ForceQuery: req.ForceQuery}
		rep.Status = http.StatusMovedPermanently
		rep.Add("Location", []string{u.RequestURI()})
		return nil
	}
	if err := h.auth.Read(req.Auth, name); err != nil {
		return declined(req, err)
	}
	f := Negotiate(req.Accept, req.Format)
	serial, err := h.cat.ProjectSerial(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		if h.upstream == nil {
			return declined(req, index.ErrNotFound)
		}
		return h.upstreamProject(ctx, req, f, name, rep)
	}
	if err != nil {
		return h.unavailableProject(req, f, name, err, rep)
	}
	if h.upstream != nil && h.upstream.Merge(name) {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		return h.mergedProject(ctx, req, f, name, rep)
	}
	key := pageKey{name: name, serial: serial, json: f.JSON(), source: 'h'}
	p, _ := h.cache.Get(key)
	if p == nil {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		p, serial, err = h.renderShared(ctx, key, func(ctx context.Context) (*page, int64, error) {
			pg, err := h.HostedPage(ctx, name)
			if err != nil {
				return nil, 0, err
			}
			return renderPage(pg, f), pg.Serial, nil
		})
		if last, ok := h.known.page(err, name, f.JSON()); ok {
			p, serial, err = last.p, last.serial, nil
		}
		if err != nil {
			return err
		}
	}
	h.pageReply(req, f, p, serial, rep)
	return nil
}

// unavailableProject answers a project page whose serial lookup failed
// with err: while the catalog is unavailable, with the newest rendering of
// the hosted page this replica has, else the mirror's page when it holds
// one in memory (fallback.go); otherwise with err.
func (h *Handler) unavailableProject(req *httpx.Request, f Format, name string, err error, rep *httpx.Reply) error {
	if last, ok := h.known.page(err, name, f.JSON()); ok {
		h.pageReply(req, f, last.p, last.serial, rep)
		return nil
	}
	if up, ok := h.upstream.(WarmUpstream); ok && errors.Is(err, index.ErrUnavailable) {
		if pg, ok := up.WarmPage(name); ok {
			h.pageReply(req, f, h.upstreamRendering(pg, f, name), pg.Serial, rep)
			return nil
		}
	}
	return declined(req, err)
}

// upstreamProject serves a project only the upstream has; an InMemory
// request only when the mirror holds the page warm (WarmUpstream).
func (h *Handler) upstreamProject(ctx context.Context, req *httpx.Request, f Format, name string, rep *httpx.Reply) error {
	var pg *index.Page
	if req.InMemory {
		up, ok := h.upstream.(WarmUpstream)
		if !ok {
			return httpx.ErrNotInMemory
		}
		if pg, ok = up.WarmPage(name); !ok {
			return httpx.ErrNotInMemory
		}
	} else {
		var err error
		if pg, err = h.upstream.Page(ctx, name); err != nil {
			return err
		}
	}
	h.pageReply(req, f, h.upstreamRendering(pg, f, name), pg.Serial, rep)
	return nil
}

// upstreamRendering returns the rendering of an upstream page, from the
// page cache when it has it.
func (h *Handler) upstreamRendering(pg *index.Page, f Format, name string) *page {
	key := pageKey{name: name, serial: pg.Serial, json: f.JSON(), source: 'm', variant: pg.Variant}
	p, _ := h.cache.Get(key)
	if p == nil {
		p = renderPage(pg, f)
		h.cache.Put(key, p)
	}
	return p
}

// mergedProject serves a hosted project that is opted in to also show the
// upstream's files. Such pages are rare and rendered on each request; if
// the upstream fails, the hosted files alone are served.
func (h *Handler) mergedProject(ctx context.Context, req *httpx.Request, f Format, name string, rep *httpx.Reply) error {
	pg, err := h.HostedPage(ctx, name)
	if err != nil {
		return err
	}
	if up, err := h.upstream.Page(ctx, name); err == nil {
		pg = mergePages(pg, up)
	} else if !errors.Is(err, index.ErrNotFound) {
		h.log.Warn("upstream page unavailable for a merged project; serving hosted files only", "project", name, "err", err)
	}
	h.pageReply(req, f, renderPage(pg, f), pg.Serial, rep)
	return nil
}

func renderPage(pg *index.Page, f Format) *page {
	if f.JSON() {
		return newPage(renderProjectJSON(pg))
	}
	return newPage(renderProjectHTML(pg))
}

// HostedPage builds the page content of a hosted project, files sorted by
// (version, filename) as on PyPI.
func (h *Handler) HostedPage(ctx context.Context, name string) (*index.Page, error) {
	proj, rels, err := h.cat.ProjectDetail(ctx, name)
	if err != nil {
		return nil, err
	}
	pg := &index.Page{Name: proj.Name, Serial: proj.LastSerial, Versions: make([]string, 0, len(rels))}
	for _, r := range rels {
		pg.Versions = append(pg.Versions, r.Version)
		for _, f := range r.Files {
			pg.Files = append(pg.Files, index.PageFile{
				Filename:       f.Filename,
				URL:            h.FileURL(f.SHA256, f.Filename),
				Hashes:         map[string]string{"sha256": f.SHA256},
				RequiresPython: f.RequiresPython,
				Size:           f.Size,
				UploadTime:     f.UploadTime,
				Yanked:         r.Yanked,
				YankedReason:   r.YankedReason,
				CoreMetadata:   f.MetadataSHA256,
			})
		}
	}
	return pg, nil
}

// pageReply fills in rep with a rendered page: the representation
// negotiated (gzip when accepted), caching and CORS headers, and 304 with
// the validators but no representation headers when If-None-Match
// matches.
func (h *Handler) pageReply(req *httpx.Request, f Format, p *page, serial int64, rep *httpx.Reply) {
	body, gz := p.body, 0
	if p.gz != nil && httpx.AcceptsGzip(req.AcceptEncoding) {
		body, gz = p.gz, 1
	}
	notModified := req.IfNoneMatch != "" && etagMatch(req.IfNoneMatch, p.etagHdr[f][gz][0])
	rep.Add("Vary", varyPage)
	rep.Add("X-Pypi-Last-Serial", p.serialHeaderFor(serial))
	rep.Add("Cache-Control", h.cacheControl)
	rep.Add("Access-Control-Allow-Origin", corsOrigin)
	rep.Add("Access-Control-Expose-Headers", corsExpose)
	rep.Add("Etag", p.etagHdr[f][gz])
	if notModified {
		rep.Status = http.StatusNotModified
		return
	}
	rep.Status, rep.Body = http.StatusOK, body
	rep.Add("Content-Type", contentTypes[f])
	if gz == 1 {
		rep.Add("Content-Encoding", gzipEncoding)
	}
	rep.Add("Content-Length", p.lengthHdr[gz])
}

// Header values shared by every page response. Nothing appends to them in
// place (their capacity is their length, so an Add copies).
var (
	varyPage     = []string{"Accept, Accept-Encoding"}
	corsOrigin   = []string{"*"}
	corsExpose   = []string{"X-PyPI-Last-Serial"}
	gzipEncoding = []string{"gzip"}
	contentTypes = [...][]string{
		FormatHTML:   {FormatHTML.ContentType()},
		FormatV1HTML: {FormatV1HTML.ContentType()},
		FormatV1JSON: {FormatV1JSON.ContentType()},
	}
)

// etagMatch implements If-None-Match's weak comparison.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// file answers /files/SHA256/FILENAME: a distribution file, or its PEP 658
// metadata when the name ends in ".metadata" (httpx.BlobReply: Range,
// HEAD and conditional requests through echo).
func (h *Handler) file(ctx context.Context, req *httpx.Request, params []string, rep *httpx.Reply) error {
	sum, name := params[0], params[1]
	name, meta := strings.CutSuffix(name, ".metadata")
	if err := h.auth.Read(req.Auth, ""); err != nil {
		return declined(req, err)
	}
	f, err := h.fileRow(ctx, name) // filecache.go
	if last, ok := h.known.file(err, name); ok {
		f, err = last, nil // the catalog is unavailable: fallback.go
	} else if err == nil {
		h.known.rememberFile(&f)
	}
	if err == nil {
		if err := h.auth.Read(req.Auth, f.Project); err != nil {
			return declined(req, err)
		}
	}
	if errors.Is(err, index.ErrNotFound) || (err == nil && f.SHA256 != sum) || (err == nil && meta && f.MetadataKey == "") {
		return declined(req, index.ErrNotFound)
	}
	if err != nil {
		return declined(req, err)
	}
	b := httpx.Blob{Key: f.BlobKey, SHA256: f.SHA256, ContentType: "application/octet-stream", ModTime: f.UploadTime, Name: params[1]}
	if meta {
		b.Key, b.SHA256 = f.MetadataKey, f.MetadataSHA256
	}
	return httpx.BlobReply(ctx, h.store, h.log, req, b, rep)
}
