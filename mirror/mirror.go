// Package mirror is a pull-through cache of an upstream Python package
// index (PyPI, a bandersnatch tree, devpi, Artifactory, another pyindex).
//
// Pages come from the upstream's simple API (PEP 691 JSON first, PEP 503
// HTML otherwise), are kept in the catalog so that they survive restarts,
// and are refreshed with conditional requests once their TTL has passed; an
// upstream that fails leaves the cached page in service. Files are fetched
// on first request into a spool that every client asking meanwhile streams
// from as the bytes arrive, verified against the upstream's hash (a stream
// completes only then), stored, and served from the blob store ever after.
// Concurrent requests for the same page or file share one upstream request
// (flight.go), which runs under a context no client can cancel. Servers
// sharing one catalog (replicas) fetch a file once too: the one holding
// the file's lease in the catalog fetches it, the others wait for it to
// be stored and serve it from the store (lease.go).
//
// Mirror satisfies index.Upstream: the read side asks it for projects not
// hosted here, and hosted names always win unless merge_upstream opts them
// in. Prefetching whole projects into the cache, on demand or on a
// schedule, and carrying it across an air gap is package mirror/sync,
// which goes through the same fetches (prefetch.go).
package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/cache"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
)

// Mirror is the pull-through cache. It is safe for concurrent use.
type Mirror struct {
	// life ends with Close, and with it every shared fetch (flight.go).
	life     context.Context
	stop     context.CancelFunc
	lifeMu   sync.Mutex
	closed   bool
	inflight sync.WaitGroup

	cfg    Config
	cat    *index.Catalog
	store  storage.Store
	log    *slog.Logger
	client *client
	m      *metrics
	prefix string // path of the server's base URL, without trailing slash
	origin string // the upstream as the catalog records it (origin.go)
	now    func() time.Time
	auth   *auth.Service
	merge  map[string]bool
	exempt map[string]bool
	// internalNames are the normalized internal_names patterns (claim.go).
	internalNames []string

	pages singleflight.Group // by project name (flight.go: shared)
	files singleflight.Group // PEP 658 metadata, by project/filename.metadata

	downloads downloads // files, by project/filename (flight.go: fetchShared)
	// holder and leaseTerm are this mirror's file leases, which make
	// the servers sharing the catalog fetch each file once (lease.go).
	holder    string
	leaseTerm time.Duration

	warmProjects *cache.Map[string, *projectEntry]     // warm.go
	warmFiles    *cache.Map[fileKey, index.MirrorFile] // warm.go
	neg          *cache.Map[string, time.Time]         // upstream 404s, remembered until then
	health       health                                // whether the upstream is failing (health.go)

	reads atomic.Int64 // catalog reads by the page and file paths (tests)
}

// Deps are what a Mirror is built on.
type Deps struct {
	// Catalog keeps the cached pages and records the cached files.
	Catalog *index.Catalog
	// Store keeps the files and their PEP 658 metadata.
	Store storage.Store
	// Log receives warnings (nil: slog.Default()).
	Log *slog.Logger
	// Registerer gets the mirror's metrics; nil registers none.
	Registerer prometheus.Registerer
	// HTTPClient talks to the upstream; nil builds one that honours
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY, with cfg.Timeout as its
	// response header timeout.
	HTTPClient *http.Client
	// Now is the clock of TTLs and the cooldown (nil: time.Now).
	Now func() time.Time
	// BaseURL is the server's externally visible URL (index.base_url):
	// file links are built from its path. It is the read side's setting,
	// passed here so that it is configured once; empty means links from
	// the server root.
	BaseURL string
	// Auth decides who may read mirrored files and use the mirror's admin
	// API. Required for Register (serving); a mirror only synced from the
	// CLI needs none.
	Auth *auth.Service
}

// New returns a mirror of cfg.Upstream, which must be set (Config.Enabled).
// cfg is validated; deps.Catalog and deps.Store are required.
func New(cfg Config, deps Deps) (*Mirror, error) {
	if deps.Catalog == nil || deps.Store == nil {
		return nil, errors.New("mirror: a catalog and a store are required")
	}
	if !cfg.Enabled() {
		return nil, errors.New("mirror: no upstream configured")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	m := &Mirror{cfg: cfg, cat: deps.Catalog, store: deps.Store, log: log.With("component", "mirror"), m: newMetrics(deps.Registerer),
		now: deps.Now, auth: deps.Auth, merge: nameSet(cfg.MergeUpstream), exempt: nameSet(cfg.MinAgeExempt),
		warmProjects: cache.New[string, *projectEntry](maxWarmProjects), warmFiles: cache.New[fileKey, index.MirrorFile](maxWarmFiles),
		neg: cache.New[string, time.Time](maxNegative), holder: index.NewLeaseHolder(), leaseTerm: index.LeaseTerm}
	for _, n := range cfg.InternalNames {
		pat, _ := internalPattern(n)
		m.internalNames = append(m.internalNames, pat)
	}
	m.life, m.stop = context.WithCancel(context.Background())
	if m.now == nil {
		m.now = time.Now
	}
	if deps.BaseURL != "" {
		u, err := url.Parse(deps.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("mirror: base URL: %w", err)
		}
		m.prefix = strings.TrimSuffix(u.Path, "/")
	}
	m.health.now = m.now
	c, err := newClient(cfg, deps.HTTPClient, m.m, &m.health)
	if err != nil {
		return nil, err
	}
	m.client = c
	m.origin = origin(c)
	return m, nil
}

func nameSet(names []string) map[string]bool {
	s := map[string]bool{}
	for _, n := range names {
		s[pep503.Normalize(n)] = true
	}
	return s
}

// Merge reports whether a hosted project's page also shows the upstream's
// files (mirror.merge_upstream).
func (m *Mirror) Merge(name string) bool { return m.merge[name] }

// Page returns the page of a project from the upstream, cached or fetched:
// fresh within the TTL, revalidated after it, and served stale when the
// upstream fails. Files hidden by the cooldown are left out, and file URLs
// point at this server. It returns index.ErrNotFound when the upstream has
// no such project, and an *index.UpstreamError when the upstream fails (or
// the mirror is offline) and nothing is cached.
//
// A page within its TTL is served from memory while the catalog has not
// changed (warm.go): no catalog read, no rebuilding. The page returned is
// shared by the requests and must not be modified.
func (m *Mirror) Page(ctx context.Context, name string) (*index.Page, error) {
	e, stale, err := m.project(ctx, name)
	if err != nil {
		return nil, err
	}
	if stale {
		pg, _ := m.page(e.p, true)
		return pg, nil
	}
	if m.cachedOnly(name) {
		// The upstream is failing (health.go): list only what can be
		// served. Read the catalog itself, as for a stale page: which
		// files are cached changes without a new serial.
		p, err := m.readPage(ctx, name)
		if err != nil {
			return nil, err
		}
		pg, _ := m.page(p, true)
		return pg, nil
	}
	return m.pageOf(e), nil
}

// WarmPage returns the page of a project this process has already read and
// whose TTL has not passed, from memory alone (false otherwise): the fast
// lane's lookup, which must not wait for the catalog or the upstream. It
// counts as a cache hit, as Page does.
func (m *Mirror) WarmPage(name string) (*index.Page, bool) {
	tok, ok := m.token(name)
	if !ok {
		return nil, false
	}
	e := m.warmProject(name, tok)
	if e == nil || !m.fresh(&e.state) || m.UpstreamDown() {
		return nil, false // (while the upstream fails, Page lists only cached files)
	}
	m.m.lookup(kindPage, resultHit)
	return m.pageOf(e), true
}

// project returns the cached project, refreshing it first when its TTL has
// passed.
//
// stale reports that the upstream just failed and the cached page is
// served anyway; the entry returned then is not remembered.
func (m *Mirror) project(ctx context.Context, name string) (e *projectEntry, stale bool, err error) {
	tok, ok := m.token(name)
	if ok {
		if e := m.warmProject(name, tok); e != nil && m.fresh(&e.state) {
			m.m.lookup(kindPage, resultHit)
			return e, false, nil
		}
	}
	st, err := m.readState(ctx, name)
	cached := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return nil, false, err
	}
	if cached && m.fresh(&st) {
		m.m.lookup(kindPage, resultHit)
		e, err := m.load(ctx, st, tok, ok)
		return e, false, err
	}
	if m.cfg.Offline {
		m.m.lookup(kindPage, resultOffline)
		return nil, false, &index.UpstreamError{Status: http.StatusServiceUnavailable,
			Msg: "this mirror is offline and has no copy of project '" + name + "'"}
	}
	if !cached && m.negative(name) {
		m.m.lookup(kindPage, resultNegative)
		return nil, false, index.ErrNotFound
	}
	err = m.refresh(ctx, name)
	switch {
	case err == nil:
		m.m.lookup(kindPage, resultMiss)
	case errors.Is(err, index.ErrNotFound):
		m.m.lookup(kindPage, resultMiss)
		return nil, false, err
	case cached && ctx.Err() == nil:
		m.m.lookup(kindPage, resultStale)
		m.log.Warn("upstream failed; serving the cached page", "project", name, "age", m.now().Sub(st.FetchedAt).Round(time.Second), "err", err)
		// Read the catalog itself, not the decoded copy: which files are
		// cached changes without a new serial, and a stale page lists
		// only those.
		p, err := m.readPage(ctx, name)
		if err != nil {
			return nil, false, err
		}
		return &projectEntry{p: p}, true, nil
	default:
		return nil, false, err
	}
	// The refresh has committed: a token taken now keys what is read next,
	// so that the next request is served from memory.
	tok, ok = m.token(name)
	st, err = m.readState(ctx, name)
	if err != nil {
		return nil, false, err
	}
	e, err = m.load(ctx, st, tok, ok)
	return e, false, err
}

// refresh asks the upstream for a project's page, once for all concurrent
// callers (shared: a client hanging up neither fails the others nor leaves
// the cache half-filled). It returns index.ErrNotFound for an upstream 404.
func (m *Mirror) refresh(ctx context.Context, name string) error {
	_, err := shared(ctx, m, &m.pages, name, m.cfg.Timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, m.fetchPage(ctx, name)
	})
	return err
}

func (m *Mirror) fetchPage(ctx context.Context, name string) error {
	st, err := m.cat.MirrorProjectState(ctx, name)
	cached := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return err
	}
	var etag, lm string
	if cached {
		etag, lm = st.ETag, st.LastModified
	}
	res, err := m.client.page(ctx, name, etag, lm)
	if err != nil {
		m.countError(kindPage, err)
		return err
	}
	now := m.now()
	switch res.status {
	case http.StatusNotFound:
		m.setNegative(name)
		if cached {
			// The upstream dropped the project (PyPI removes malware this
			// way): so do we.
			m.log.Info("upstream no longer has a cached project; dropping it", "project", name)
			if err := m.drop(ctx, name); err != nil && !errors.Is(err, index.ErrNotFound) {
				return err
			}
		}
		return index.ErrNotFound
	case http.StatusNotModified:
		if !cached {
			m.countError(kindPage, errInvalid{})
			return &index.UpstreamError{Status: http.StatusBadGateway, Msg: "the upstream answered 304 to an unconditional request"}
		}
		return m.cat.TouchMirrorProject(ctx, name, now, res.etag, res.lastModified)
	}
	if cached && res.serial > 0 && st.UpstreamSerial > res.serial {
		// A CDN node behind the one we saw before: keep the newer page.
		m.log.Warn("upstream page is older than the cached one; keeping the cached page",
			"project", name, "cached_serial", st.UpstreamSerial, "upstream_serial", res.serial)
		return m.cat.TouchMirrorProject(ctx, name, now, "", "")
	}
	p := &index.MirrorProject{Name: name, UpstreamSerial: res.serial, ETag: res.etag, LastModified: res.lastModified,
		PageURL: res.finalURL, Versions: res.page.versions, FetchedAt: now, Files: res.page.files, Upstream: m.origin}
	_, orphans, err := m.cat.PutMirrorPage(ctx, p)
	if err != nil {
		if ce := changedElsewhere(err); ce != err {
			m.log.Error("the catalog's mirror now belongs to another upstream; not caching this page", "project", name, "err", err)
			return ce
		}
		return err
	}
	m.clearNegative(name)
	m.deleteBlobs(ctx, orphans)
	return nil
}

// countError counts an upstream failure by a bounded reason.
func (m *Mirror) countError(kind string, err error) {
	var ue *index.UpstreamError
	var inv errInvalid
	reason := "other"
	switch {
	case errors.As(err, &inv):
		reason = "invalid"
	case errors.As(err, &ue) && ue.Status == http.StatusGatewayTimeout:
		reason = "timeout"
	case errors.As(err, &ue) && ue.Err != nil:
		reason = "unreachable"
	case errors.As(err, &ue):
		reason = "status"
	}
	m.m.upstreamError(kind, reason)
}

func (m *Mirror) negative(name string) bool {
	until, ok := m.neg.Get(name)
	if ok && m.now().After(until) {
		m.neg.Delete(name)
		return false
	}
	return ok
}

func (m *Mirror) setNegative(name string) {
	if m.cfg.NegativeTTL <= 0 {
		return
	}
	m.neg.Put(name, m.now().Add(m.cfg.NegativeTTL))
}

func (m *Mirror) clearNegative(name string) {
	m.neg.Delete(name)
}

// drop removes a cached project and the blobs only it used.
func (m *Mirror) drop(ctx context.Context, name string) error {
	orphans, err := m.cat.DeleteMirrorProject(ctx, name)
	if err != nil {
		return err
	}
	m.warmProjects.Delete(name)
	m.deleteBlobs(ctx, orphans)
	return nil
}

func (m *Mirror) deleteBlobs(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := m.store.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotExist) {
			m.log.Warn("deleting an unreferenced mirror blob", "key", k, "err", err)
		}
	}
}

// cutoff returns the upload time after which a project's files are hidden
// by the cooldown, and false when the cooldown does not apply.
func (m *Mirror) cutoff(name string) (time.Time, bool) {
	if m.cfg.MinAge <= 0 || m.exempt[name] {
		return time.Time{}, false
	}
	return m.now().Add(-m.cfg.MinAge), true
}

// cooling reports whether the cooldown hides f. A file whose upload time
// the upstream does not give (HTML pages have none) counts as uploaded when
// this mirror first saw it: the cooldown fails closed, never open.
func cooling(f *index.MirrorFile, cutoff time.Time) bool {
	return uploaded(f).After(cutoff)
}

// uploaded is the time the cooldown counts from.
func uploaded(f *index.MirrorFile) time.Time {
	if f.UploadTime.IsZero() {
		return f.FirstSeen
	}
	return f.UploadTime
}

// serialBits is how many low bits of a cooled page's Serial count its
// visible files (see page).
const serialBits = 20

// page renders the index's view of a cached project, and the time at which
// the cooldown will show another file (zero: never, the page stays as it
// is while p does).
//
// Offline, or when the upstream has just failed (stale) or is known to be
// failing (health.go), files that were never cached are left out: they
// cannot be served, and listing them would make pip pick one and fail
// where an older cached version would install.
func (m *Mirror) page(p *index.MirrorProject, stale bool) (*index.Page, time.Time) {
	out := &index.Page{Name: p.Name, Serial: p.Serial, Files: make([]index.PageFile, 0, len(p.Files))}
	cutoff, cool := m.cutoff(p.Name)
	hiddenV, shownV := map[string]bool{}, map[string]bool{}
	var until time.Time
	for i := range p.Files {
		f := &p.Files[i]
		v := fileVersion(f.Filename)
		if cool && cooling(f, cutoff) {
			hiddenV[v] = true
			if t := uploaded(f).Add(m.cfg.MinAge); until.IsZero() || t.Before(until) {
				until = t
			}
			continue
		}
		if (m.cfg.Offline || stale) && f.BlobKey == "" {
			hiddenV[v] = true
			continue
		}
		shownV[v] = true
		out.Files = append(out.Files, m.pageFile(p.Name, f))
	}
	for _, v := range p.Versions {
		if hiddenV[v] && !shownV[v] {
			continue // every file of this version is cooling down
		}
		out.Versions = append(out.Versions, v)
	}
	if stale {
		// Files get cached without a new serial: the count of those
		// listed tells the renderings apart.
		out.Variant = 1 + int64(len(out.Files))
	}
	if cool {
		// Files leave the cooldown as time passes, with no change in the
		// catalog; the index caches rendered pages by Serial, so the count
		// of visible files (which only grows for a given page) is part of
		// it.
		out.Serial = p.Serial<<serialBits | int64(min(len(out.Files), 1<<serialBits-1))
	}
	return out, until
}

func (m *Mirror) pageFile(project string, f *index.MirrorFile) index.PageFile {
	h := maps.Clone(f.Hashes)
	if h == nil {
		h = map[string]string{}
	}
	if f.SHA256 != "" && h["sha256"] == "" {
		h["sha256"] = f.SHA256
	}
	pf := index.PageFile{
		Filename:       f.Filename,
		URL:            m.FileURL(project, f.Filename),
		Hashes:         h,
		RequiresPython: f.RequiresPython,
		Size:           f.Size,
		UploadTime:     f.UploadTime,
		Yanked:         f.Yanked,
		YankedReason:   f.YankedReason,
		CoreMetadata:   f.UpstreamMetadata,
	}
	if pf.CoreMetadata == "" {
		pf.CoreMetadata = f.MetadataSHA256 // extracted from the cached wheel
	}
	if f.Size <= 0 && f.BlobKey == "" {
		pf.Size = -1 // the upstream gave none (HTML pages): never claim 0
	}
	return pf
}

// FileURL returns the link path of a mirrored file on this server.
func (m *Mirror) FileURL(project, filename string) string {
	return m.prefix + "/mirror/files/" + project + "/" + strings.ReplaceAll(url.PathEscape(filename), "+", "%2B")
}
