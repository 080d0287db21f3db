package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
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

// Handler serves the read side: /simple/, /files/ and /pypi/.
type Handler struct {
	cacheControl []string  // the Cache-Control value of pages
	files        fileCache // rows of downloaded files (filecache.go)
	cat          *Catalog
	store        storage.Store
	cfg          Config
	log          *slog.Logger
	cache        *pageCache
	prefix       string
	upstream     Upstream
	auth         *Auth // path of BaseURL without the trailing slash
	renders      renderGroup
}

// NewHandler returns the read side's handler.
func NewHandler(cat *Catalog, store storage.Store, cfg Config, log *slog.Logger) (*Handler, error) {
	if cat == nil || store == nil {
		panic("index.NewHandler: nil catalog or store")
	}
	h := &Handler{cat: cat, store: store, cfg: cfg, log: log, cache: newPageCache(cfg.PageCacheEntries),
		cacheControl: []string{fmt.Sprintf("max-age=%d, public", int(cfg.SimpleMaxAge.Seconds()))}}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: base_url %q must be an absolute http(s) URL", ErrInvalid, cfg.BaseURL)
		}
		h.prefix = strings.TrimSuffix(u.Path, "/")
	}
	return h, nil
}

// SetAuth makes the read side enforce a's read rules (private mode). Without
// it every read is anonymous and allowed.
func (h *Handler) SetAuth(a *Auth) { h.auth = a }

// privateReads reports whether reads need a credential (auth.anonymous_read
// off).
func (h *Handler) privateReads() bool { return h.auth != nil && !h.auth.Config().AnonymousRead }

// ownListing returns the projects p's root listing is limited to in private
// mode, nil for all: an empty restriction means every project, as
// ProjectAllowed has it. Such listings are rendered per request.
func ownListing(p Principal) []string {
	if len(p.Projects) > 0 {
		return p.Projects
	}
	return nil
}

// canRead applies the read rules to project ("" for listings).
func (h *Handler) canRead(c echo.Context, project string) error {
	if h.auth == nil {
		return nil
	}
	return h.auth.RequireRead(c, project)
}

// Register adds the read side's routes to g (the server root).
func (h *Handler) Register(g *echo.Group) {
	get := []string{http.MethodGet, http.MethodHead}
	g.Match(get, "/simple", redirectSlash)
	g.Match(get, "/simple/", h.root)
	g.Match(get, "/simple/:project", h.redirectProject)
	g.Match(get, "/simple/:project/", h.project)
	g.Match(get, "/files/:sha256/:filename", h.file)
	g.Match(get, "/pypi/:project/json", h.projectJSON)
	g.Match(get, "/pypi/:project/json/", h.projectJSON)
	g.Match(get, "/pypi/:project/:version/json", h.releaseJSON)
	g.Match(get, "/pypi/:project/:version/json/", h.releaseJSON)
	notAllowed := func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		g.Add(m, "/simple/", notAllowed)
		g.Add(m, "/simple/:project/", notAllowed)
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
	raw := param(c, "project")
	if !pep503.Valid(raw) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	u := *c.Request().URL
	u.Path, u.RawPath = h.prefix+"/simple/"+pep503.Normalize(raw)+"/", ""
	return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
}

// param returns a path parameter, percent-decoded.
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if strings.Contains(v, "%") {
		if d, err := url.PathUnescape(v); err == nil {
			return d
		}
	}
	return v
}

// FileURL returns the link path of a hosted file.
func (h *Handler) FileURL(sha256, filename string) string {
	return h.prefix + "/files/" + sha256 + "/" + escapeFilename(filename)
}

// escapeFilename percent-encodes a filename for a URL path segment, '+'
// included (local versions contain it, and some stores treat it as space).
func escapeFilename(fn string) string {
	return strings.ReplaceAll(url.PathEscape(fn), "+", "%2B")
}

func (h *Handler) root(c echo.Context) error {
	if err := h.canRead(c, ""); err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := Negotiate(c.Request().Header.Get(echo.HeaderAccept), c.QueryParam("format"))
	serial, err := h.cat.Serial(ctx)
	if err != nil {
		return err
	}
	// A token limited to some projects sees only those: such listings are
	// rendered per request instead of cached.
	var only []string
	if h.privateReads() {
		only = ownListing(h.auth.Principal(c))
	}
	key := pageKey{serial: serial, json: f.JSON(), source: 'h'}
	var p *page
	if only == nil {
		p = h.cache.get(key)
	}
	if p == nil {
		render := func(ctx context.Context) (*page, int64, error) {
			names, s, err := h.cat.ProjectNames(ctx)
			if err != nil {
				return nil, 0, err
			}
			entries := make([]RootEntry, 0, len(names))
			for _, n := range names {
				if only == nil || slices.Contains(only, n.Name) {
					entries = append(entries, RootEntry{Name: n.Name, Display: n.DisplayName, LastSerial: n.LastSerial})
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
		if err != nil {
			return err
		}
	}
	return h.servePage(c, f, p, serial)
}

func (h *Handler) project(c echo.Context) error {
	raw := param(c, "project")
	if !pep503.Valid(raw) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	name := pep503.Normalize(raw)
	if name != raw {
		u := *c.Request().URL
		u.Path, u.RawPath = h.prefix+"/simple/"+name+"/", ""
		return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
	}
	if err := h.canRead(c, name); err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := Negotiate(c.Request().Header.Get(echo.HeaderAccept), c.QueryParam("format"))
	serial, err := h.cat.ProjectSerial(ctx, name)
	if errors.Is(err, ErrNotFound) {
		if h.upstream == nil {
			return echo.NewHTTPError(http.StatusNotFound, "Not Found")
		}
		return h.upstreamProject(c, f, name)
	}
	if err != nil {
		return err
	}
	if h.upstream != nil && h.upstream.Merge(name) {
		return h.mergedProject(c, f, name)
	}
	key := pageKey{name: name, serial: serial, json: f.JSON(), source: 'h'}
	p := h.cache.get(key)
	if p == nil {
		p, serial, err = h.renderShared(ctx, key, func(ctx context.Context) (*page, int64, error) {
			pg, err := h.HostedPage(ctx, name)
			if err != nil {
				return nil, 0, err
			}
			return renderPage(pg, f), pg.Serial, nil
		})
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "Not Found")
		}
		if err != nil {
			return err
		}
	}
	return h.servePage(c, f, p, serial)
}

// upstreamProject serves a project only the upstream has.
func (h *Handler) upstreamProject(c echo.Context, f Format, name string) error {
	pg, err := h.upstream.Page(c.Request().Context(), name)
	if errors.Is(err, ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	if err != nil {
		return err
	}
	return h.servePage(c, f, h.upstreamRendering(pg, f, name), pg.Serial)
}

// upstreamRendering returns the rendering of an upstream page, from the
// page cache when it has it.
func (h *Handler) upstreamRendering(pg *Page, f Format, name string) *page {
	key := pageKey{name: name, serial: pg.Serial, json: f.JSON(), source: 'm', variant: pg.Variant}
	p := h.cache.get(key)
	if p == nil {
		p = renderPage(pg, f)
		h.cache.put(key, p)
	}
	return p
}

// mergedProject serves a hosted project that is opted in to also show the
// upstream's files. Such pages are rare and rendered on each request; if
// the upstream fails, the hosted files alone are served.
func (h *Handler) mergedProject(c echo.Context, f Format, name string) error {
	ctx := c.Request().Context()
	pg, err := h.HostedPage(ctx, name)
	if err != nil {
		return err
	}
	if up, err := h.upstream.Page(ctx, name); err == nil {
		pg = mergePages(pg, up)
	} else if !errors.Is(err, ErrNotFound) {
		h.log.Warn("upstream page unavailable for a merged project; serving hosted files only", "project", name, "err", err)
	}
	return h.servePage(c, f, renderPage(pg, f), pg.Serial)
}

func renderPage(pg *Page, f Format) *page {
	if f.JSON() {
		return newPage(renderProjectJSON(pg))
	}
	return newPage(renderProjectHTML(pg))
}

// HostedPage builds the page content of a hosted project, files sorted by
// (version, filename) as on PyPI.
func (h *Handler) HostedPage(ctx context.Context, name string) (*Page, error) {
	proj, rels, err := h.cat.ProjectDetail(ctx, name)
	if err != nil {
		return nil, err
	}
	pg := &Page{Name: proj.Name, Serial: proj.LastSerial, Versions: make([]string, 0, len(rels))}
	for _, r := range rels {
		pg.Versions = append(pg.Versions, r.Version)
		for _, f := range r.Files {
			pg.Files = append(pg.Files, PageFile{
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

// servePage writes a rendered page with negotiation, caching and
// compression headers, answering 304 to a matching If-None-Match.
func (h *Handler) servePage(c echo.Context, f Format, p *page, serial int64) error {
	req, hdr := c.Request(), c.Response().Header()
	r := h.pageReply(f, p, serial, req.Header.Get(echo.HeaderAcceptEncoding), req.Header.Get("If-None-Match"))
	// Canonical keys and shared value slices: this runs for every page
	// request, and Header.Set would canonicalize and allocate each time.
	r.fields(func(name string, value []string) { hdr[name] = value })
	if r.notModified {
		return c.NoContent(http.StatusNotModified)
	}
	c.Response().WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return nil
	}
	_, err := c.Response().Write(r.body)
	return err
}

// pageReply is the answer to one page request: which representation, and
// whether the client already has it. servePage and the fast lane write it.
type pageReply struct {
	h           *Handler
	f           Format
	p           *page
	serial      int64
	gz          int // 1 for the gzip representation
	notModified bool
	body        []byte
}

func (h *Handler) pageReply(f Format, p *page, serial int64, acceptEncoding, ifNoneMatch string) pageReply {
	r := pageReply{h: h, f: f, p: p, serial: serial, body: p.body}
	if p.gz != nil && acceptsGzip(acceptEncoding) {
		r.body, r.gz = p.gz, 1
	}
	r.notModified = ifNoneMatch != "" && etagMatch(ifNoneMatch, p.etagHdr[f][r.gz][0])
	return r
}

// fields calls fn with each response header of the reply, in canonical
// form; a 304 carries the validators and caching headers but no
// representation headers.
func (r *pageReply) fields(fn func(name string, value []string)) {
	fn("Vary", varyPage)
	fn("X-Pypi-Last-Serial", r.p.serialHeaderFor(r.serial))
	fn("Cache-Control", r.h.cacheControl)
	fn("Access-Control-Allow-Origin", corsOrigin)
	fn("Access-Control-Expose-Headers", corsExpose)
	fn("Etag", r.p.etagHdr[r.f][r.gz])
	if r.notModified {
		return
	}
	fn("Content-Type", contentTypes[r.f])
	if r.gz == 1 {
		fn("Content-Encoding", gzipEncoding)
	}
	fn("Content-Length", r.p.lengthHdr[r.gz])
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

// file serves a distribution file, or its PEP 658 metadata when the name
// ends in ".metadata", with Range, HEAD and conditional requests.
func (h *Handler) file(c echo.Context) error {
	sum := c.Param("sha256")
	name := param(c, "filename")
	meta := false
	if strings.HasSuffix(name, ".metadata") {
		name, meta = strings.TrimSuffix(name, ".metadata"), true
	}
	if err := h.canRead(c, ""); err != nil {
		return err
	}
	ctx := c.Request().Context()
	f, err := h.fileRow(ctx, name) // filecache.go
	if err == nil {
		if err := h.canRead(c, f.Project); err != nil {
			return err
		}
	}
	if errors.Is(err, ErrNotFound) || (err == nil && f.SHA256 != sum) || (err == nil && meta && f.MetadataKey == "") {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	if err != nil {
		return err
	}
	key, etag, ctype := f.BlobKey, f.SHA256, "application/octet-stream"
	if meta {
		key, etag, ctype = f.MetadataKey, f.MetadataSHA256, "application/octet-stream"
	}
	return h.ServeBlob(c, key, etag, ctype, f.UploadTime)
}

// ServeBlob streams a stored blob with http.ServeContent (Range, HEAD,
// If-None-Match, If-Modified-Since) and long-lived immutable caching. It
// never sets Content-Encoding: pip hashes the bytes it receives. When the
// store hands out presigned URLs (S3 with presign_downloads = true) it
// answers 302 to one instead, uncached since the URL expires.
func (h *Handler) ServeBlob(c echo.Context, key, sha256, ctype string, modtime time.Time) error {
	if p, ok := storage.As[storage.Presigner](h.store); ok {
		u, err := p.PresignedGetURL(c.Request().Context(), key, path.Base(c.Request().URL.Path))
		switch {
		case err == nil:
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.Redirect(http.StatusFound, u.String())
		case !errors.Is(err, errors.ErrUnsupported):
			return err
		} // presigning is switched off: stream the blob.
	}
	rc, _, err := h.store.Open(c.Request().Context(), key)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			h.log.Error("blob missing for catalogued file", "key", key)
			return echo.NewHTTPError(http.StatusNotFound, "Not Found (file content missing; run pyindex fsck)")
		}
		return err
	}
	defer rc.Close()
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, ctype)
	hdr.Set("ETag", `"`+sha256+`"`)
	hdr.Set("Cache-Control", "max-age=365000000, immutable, public")
	hdr.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(readFromResponse{c.Response()}, c.Request(), "", modtime, rc) // sendfile.go
	return nil
}
