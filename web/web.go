// Package web is the browser interface: server-rendered pages
// (html/template, assets embedded, no JavaScript needed to read them) over
// the same catalog, auth and admin code the APIs use.
//
// Anyone who may read browses /projects/ (hosted and mirrored projects and
// generic packages, paged, sorted, searchable), /project/NAME/,
// /project/NAME/VERSION/ and /packages/generic/NAME/.
// Users log in with a form; their sessions are kept in the catalog
// (index/session.go), so a login holds on every replica. Owners and admins
// then yank, unyank and delete (generic files too), and manage a
// project's owners on its page; admins also prune, read the audit log and
// manage users and tokens. Only what a user may do is offered, and every
// action checks again on the server.
//
// Every state change is a POST carrying the session's CSRF token (403 and
// no change without it); the server's request guard (httpx.Guard) already
// refuses cross-origin POSTs. Every page is sent with a
// Content-Security-Policy that allows no inline script, frame-ancestors
// 'none' and nosniff, and everything taken from package metadata is
// escaped (html/template) or, for descriptions, rendered from Markdown and
// sanitized (goldmark, then bluemonday).
package web

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/cache"
)

// Config is the [web] section.
type Config struct {
	// Enabled serves the web interface; false leaves only the APIs and the
	// home page.
	Enabled bool `toml:"enabled"`
	// SessionLifetime is how long a login lasts.
	SessionLifetime time.Duration `toml:"session_lifetime"`
	// PageSize is how many projects a page of the project list shows.
	PageSize int `toml:"page_size"`
}

// DefaultConfig returns the defaults: on, 12-hour sessions, 50 projects a
// page.
func DefaultConfig() Config {
	return Config{Enabled: true, SessionLifetime: 12 * time.Hour, PageSize: 50}
}

// Validate reports every key of c that is out of range.
func (c Config) Validate() error {
	var errs []error
	if c.SessionLifetime < time.Minute || c.SessionLifetime > 31*24*time.Hour {
		errs = append(errs, errors.New("web.session_lifetime: must be between 1m and 744h"))
	}
	if c.PageSize < 1 || c.PageSize > 1000 {
		errs = append(errs, errors.New("web.page_size: must be between 1 and 1000"))
	}
	return errors.Join(errs...)
}

// Links makes the URLs of hosted files (the read side's FileURL).
type Links interface {
	FileURL(sha256, filename string) string
}

// Deps are what the web interface works on.
type Deps struct {
	Catalog *index.Catalog
	Auth    *auth.Service
	// Admin deletes and prunes (blobs included).
	Admin *admin.Service
	// Links makes file URLs; nil: /files/SHA256/FILENAME under BaseURL's path.
	Links Links
	Log   *slog.Logger // nil: slog.Default()
	// BaseURL is index.base_url: the server's public URL ("" : the
	// request's own scheme and host). Its path prefixes every link.
	BaseURL string
	// TrustProxyHeaders is server.trust_proxy_headers: X-Forwarded-Proto
	// https then makes the session cookie Secure.
	TrustProxyHeaders bool
}

// UI is the web interface.
type UI struct {
	cfg    Config
	cat    *index.Catalog
	auth   *auth.Service
	admin  *admin.Service
	links  Links
	log    *slog.Logger
	base   string // BaseURL without its trailing slash
	prefix string // BaseURL's path without its trailing slash
	trust  bool

	pages    map[string]*template.Template
	list     *listing
	projects *cache.Map[modelKey, *projectModel]
	metas    *cache.Map[metaKey, *metaView]
	files    *cache.Map[filesKey, []fileView]
	// descriptions are rendered READMEs by their content.
	descriptions *cache.Map[[32]byte, description]
}

// New returns the web interface over deps.
func New(cfg Config, deps Deps) (*UI, error) {
	if deps.Catalog == nil || deps.Auth == nil || deps.Admin == nil {
		return nil, errors.New("web.New: nil catalog, auth or admin service")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u := &UI{cfg: cfg, cat: deps.Catalog, auth: deps.Auth, admin: deps.Admin, links: deps.Links, log: deps.Log,
		base: strings.TrimSuffix(deps.BaseURL, "/"), trust: deps.TrustProxyHeaders,
		projects: cache.New[modelKey, *projectModel](1024), metas: cache.New[metaKey, *metaView](4096),
		files: cache.New[filesKey, []fileView](1024), descriptions: cache.New[[32]byte, description](256)}
	if u.log == nil {
		u.log = slog.Default()
	}
	if deps.BaseURL != "" {
		b, err := url.Parse(deps.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("web: base URL: %w", err)
		}
		u.prefix = strings.TrimSuffix(b.Path, "/")
	}
	u.list = newListing(deps.Catalog)
	var err error
	if u.pages, err = parsePages(u.assetURL); err != nil {
		return nil, err
	}
	return u, nil
}

// fileURL is the URL of a hosted file.
func (u *UI) fileURL(sha256, filename string) string {
	if u.links != nil {
		return u.links.FileURL(sha256, filename)
	}
	return u.prefix + "/files/" + sha256 + "/" + url.PathEscape(filename)
}
