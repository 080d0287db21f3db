// Package auth decides who a request comes from and what it may do, for
// every transport alike: Resolve turns a request's Authorization header
// into a Result once, and Check, Read and Visible answer the questions
// handlers ask of it. The echo middleware and the fast lane are both thin
// callers of Resolve, so a credential is judged by one set of rules
// whichever loop answers the request.
//
// The decisions return index errors (index.ErrUnauthenticated,
// index.ErrForbidden, ErrBlocked) with client-fit messages; only the HTTP
// layer turns them into statuses.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
)

// Config configures who may read and how login failures are limited.
type Config struct {
	// AnonymousRead lets anyone read pages, files and the JSON API. When
	// false, every read needs a credential with the read scope (401 with
	// WWW-Authenticate otherwise, which makes pip use its keyring, netrc or
	// the credentials in the index URL).
	AnonymousRead bool `toml:"anonymous_read"`
	// MetricsAnonymous lets anyone scrape /metrics. When false, /metrics
	// needs an admin credential.
	MetricsAnonymous bool `toml:"metrics_anonymous"`
	// MaxFailedLogins is how many failed logins one address may make
	// within FailedLoginWindow before it gets 429 until the window passes.
	// 0 disables the limit.
	MaxFailedLogins   int           `toml:"max_failed_logins"`
	FailedLoginWindow time.Duration `toml:"failed_login_window"`
}

// DefaultConfig returns the defaults: anonymous reads, 10 failures a
// minute.
func DefaultConfig() Config {
	return Config{AnonymousRead: true, MetricsAnonymous: true, MaxFailedLogins: 10, FailedLoginWindow: time.Minute}
}

// Validate reports every key of c that is out of range.
func (c Config) Validate() error {
	var errs []error
	if c.MaxFailedLogins < 0 {
		errs = append(errs, errors.New("auth.max_failed_logins: must not be negative (0 disables the limit)"))
	}
	if c.MaxFailedLogins > 0 && c.FailedLoginWindow <= 0 {
		errs = append(errs, errors.New("auth.failed_login_window: must be positive"))
	}
	return errors.Join(errs...)
}

// Deps are what a Service needs.
type Deps struct {
	Catalog *index.Catalog
	Log     *slog.Logger // nil: slog.Default()
}

// Service authenticates requests and answers authorization questions for
// the handlers of every component.
type Service struct {
	cat     *index.Catalog
	cfg     Config
	limiter *LoginLimiter
	log     *slog.Logger
	known   *verifiedCredentials // for reads while the catalog is down
}

// New returns a Service over deps.Catalog.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Catalog == nil {
		return nil, errors.New("auth.New: nil catalog")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{cat: deps.Catalog, cfg: cfg, limiter: NewLoginLimiter(cfg.MaxFailedLogins, cfg.FailedLoginWindow), log: log,
		known: newVerifiedCredentials()}, nil
}

// Config returns the configuration in force.
func (s *Service) Config() Config { return s.cfg }

// PrivateReads reports whether reads need a credential
// (auth.anonymous_read off).
func (s *Service) PrivateReads() bool { return s != nil && !s.cfg.AnonymousRead }

// ErrBlocked is Resolve's error for an address over the failed-login
// limit (the HTTP layer answers 429 with Retry-After).
var ErrBlocked = errors.New("too many failed logins")

// Result is what a request's credentials resolve to.
type Result struct {
	Principal index.Principal // index.Anonymous unless Err is nil
	Present   bool            // the request carried credentials
	// Err is nil for valid credentials (or none),
	// index.ErrBadCredentials (or index.ErrTokenExpired) for wrong ones,
	// ErrBlocked for an address over the limit, index.ErrNotCached for a
	// password Resolve did not verify (Fast), and any other error for a
	// failure to check.
	Err error
	// RetryAfter is how long a blocked address stays blocked.
	RetryAfter time.Duration
	// Unverified is set (to index.ErrUnavailable) when the catalog could
	// not be asked and Principal is what these credentials verified as
	// recently, with the read scope only: reads of what the replica holds
	// in memory go on (Read, Visible), and Authenticated and Check answer
	// anything more with Unverified.
	Unverified error
}

// Mode says how much work Resolve may do.
type Mode int

const (
	// Full checks every credential, bcrypt included, and counts a
	// failure against the address's limit (and logs it).
	Full Mode = iota
	// Fast accepts only what needs no bcrypt (tokens, and passwords from
	// the cache of recently verified ones) and counts nothing: a caller
	// in this mode (the fast lane) leaves every request whose Result has
	// an error to a Full resolution, which then counts it exactly once.
	Fast
)

// Resolve authenticates one request from its Authorization header and the
// client's address (echo's RealIP). path is only for the log line of a
// failed login; secrets are never logged.
func (s *Service) Resolve(ctx context.Context, authorization, addr, path string, mode Mode) Result {
	if authorization == "" {
		return Result{Principal: index.Anonymous}
	}
	if blocked, left := s.limiter.Blocked(addr); blocked {
		return Result{Principal: index.Anonymous, Present: true, Err: ErrBlocked, RetryAfter: left}
	}
	p, present, err := Authenticate(ctx, s.cat, authorization, mode == Fast)
	if err != nil {
		if r, ok := s.known.duringOutage(authorization, err); ok {
			return r
		}
		if mode == Full && errors.Is(err, index.ErrBadCredentials) {
			s.limiter.Fail(addr)
			reason := "invalid credentials"
			if errors.Is(err, index.ErrTokenExpired) {
				reason = "expired token"
			}
			user, _, _ := (&http.Request{Header: http.Header{"Authorization": {authorization}}}).BasicAuth()
			s.log.Warn("login failed", "reason", reason, "user", user, "remote_addr", addr, "path", path)
		}
		return Result{Principal: index.Anonymous, Present: present, Err: err}
	}
	if present {
		s.known.remember(authorization, p)
	}
	return Result{Principal: p, Present: present}
}

// Check returns r's principal when it has at least scope; the errors of
// Authenticated, and index.ErrForbidden when the credentials are valid but
// too weak. A failure to check is returned as it is.
func Check(r Result, scope index.Scope) (index.Principal, error) {
	if err := Authenticated(r); err != nil {
		return index.Anonymous, err
	}
	if r.Principal.Scope < scope {
		return r.Principal, index.Errorf(index.ErrForbidden, "This credential's scope (%s) does not allow this; it needs %s", r.Principal.Scope, scope)
	}
	return r.Principal, nil
}

// Authenticated returns nil when r carries valid credentials. Otherwise it
// returns index.ErrUnauthenticated (401 with a Basic challenge), whether r
// has no credentials or credentials that do not authenticate: a wrong
// password, an unknown user, an unknown, revoked or expired token. This is
// the one rule of every endpoint, uploads, the API and reads alike (README,
// "Authentication errors"): 401 means "these credentials do not say who you
// are", which makes pip ask its keyring and then the user for others, and
// 403 (index.ErrForbidden) means "you are known, and may not do this",
// which no other password would change for the same user. A failure to
// check is returned as it is.
func Authenticated(r Result) error {
	switch {
	case r.Unverified != nil:
		return r.Unverified // only Read may use a credential not checked now
	case r.Err != nil && !errors.Is(r.Err, index.ErrBadCredentials):
		return r.Err
	case !r.Present:
		return index.Errorf(index.ErrUnauthenticated, "Authentication required")
	case errors.Is(r.Err, index.ErrTokenExpired):
		return index.Errorf(index.ErrUnauthenticated, "The token has expired")
	case r.Err != nil:
		return index.Errorf(index.ErrUnauthenticated, "Invalid or non-existent authentication information")
	}
	return nil
}

// Read allows a read of project (normalized; "" for the root and
// listings) when anonymous reads are on, or when r's credential has the
// read scope and its project restriction includes project. Its errors are
// Check's, and index.ErrForbidden for a project outside the
// restriction. A nil Service allows every read.
func (s *Service) Read(r Result, project string) error {
	if !s.PrivateReads() {
		return nil
	}
	p := r.Principal // verified before the catalog became unavailable
	if r.Unverified == nil || r.Err != nil {
		var err error
		if p, err = Check(r, index.ScopeRead); err != nil {
			return err
		}
	}
	if !p.CanRead(project) {
		return index.Errorf(index.ErrForbidden, "This credential may not read project '%s'", project)
	}
	return nil
}

// Visible reports whether a listing should show project to r (private
// mode hides projects outside a token's restriction).
func (s *Service) Visible(r Result, project string) bool {
	if !s.PrivateReads() {
		return true
	}
	return r.Err == nil && r.Principal.CanRead(project)
}

// OwnListing returns the projects r's root listing is limited to, nil for
// all: in private mode a token restricted to projects lists only those
// (an empty restriction means every project, as ProjectAllowed has it).
// Such listings are rendered per request.
func (s *Service) OwnListing(r Result) []string {
	if !s.PrivateReads() || r.Err != nil || len(r.Principal.Projects) == 0 {
		return nil
	}
	return r.Principal.Projects
}

const resultKey = "pyindex.auth"

// SessionCookie is the name of the web interface's session cookie (its
// value is the secret of an index.Session). Middleware lets it authorize
// reads: a browser logged in to the web interface of a private index
// downloads the files and PEP 658 metadata its pages link to.
const SessionCookie = "pyindex_session"

// Middleware resolves the credentials of every request (Full) and keeps
// the Result for FromContext. An address over the failed-login limit gets
// 429 for any request with credentials.
//
// A GET or HEAD without an Authorization header that carries the web
// interface's session cookie (SessionCookie) of a live session is that
// user's with the read scope only: a session reads what the user may
// read and never writes outside the web interface's own forms, which
// check the session's CSRF token. Reads change nothing, and the cookie is
// SameSite=Lax (no other site's page sends it with a fetch or an image),
// so it cannot be used against its user. A cookie naming no live session
// is anonymous; it is not a failed login (a session secret is 256 random
// bits, never guessed).
func (s *Service) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			r := Result{Principal: index.Anonymous}
			if req.Header.Get("Authorization") == "" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
				if ck, err := req.Cookie(SessionCookie); err == nil && ck.Value != "" {
					sess, err := s.cat.Session(req.Context(), ck.Value)
					switch {
					case err == nil:
						r = Result{Present: true, Principal: index.Principal{User: sess.User.Name, UserID: sess.User.ID, Scope: index.ScopeRead}}
						if s.PrivateReads() {
							privateReply(c.Response())
						}
					case !errors.Is(err, index.ErrNoSession):
						return err
					}
				}
			}
			if authz := req.Header.Get("Authorization"); authz != "" {
				if s.PrivateReads() {
					privateReply(c.Response())
				}
				r = s.Resolve(req.Context(), authz, c.RealIP(), req.URL.Path, Full)
				if errors.Is(r.Err, ErrBlocked) {
					c.Response().Header().Set("Retry-After", strconv.Itoa(int(r.RetryAfter.Seconds())+1))
					return ErrBlocked // 429 in the error table
				}
				// While the catalog is unavailable credentials cannot be
				// checked: the request goes on as anonymous, with the
				// error kept, so that what an anonymous request may do
				// (a read of a public index, served from memory) works
				// and every decision that needs the credentials gets the
				// error (503) from Check, never a guess.
				if r.Err != nil && !errors.Is(r.Err, index.ErrBadCredentials) && !errors.Is(r.Err, index.ErrUnavailable) {
					return r.Err
				}
			}
			c.Set(resultKey, r)
			return next(c)
		}
	}
}

// privateReply makes a reply of a private index, which only credentials
// could read, uncacheable by shared caches: files and simple pages say
// public, and public lets a proxy store a reply to a request with
// Authorization (RFC 9111, 3.5) and hand it to the next client; a cookie
// does not keep a proxy from storing a reply at all.
func privateReply(res *echo.Response) {
	res.Before(func() {
		h := res.Header()
		if cc := h.Get("Cache-Control"); cc != "" {
			h.Set("Cache-Control", PrivateCacheControl(cc))
		}
		h.Add("Vary", "Cookie")
	})
}

// PrivateCacheControl returns the Cache-Control value cc with public
// replaced by private: what a private index sends (privateReply; the fast
// lane calls it for the replies it sends itself).
func PrivateCacheControl(cc string) string {
	if !strings.Contains(cc, "public") {
		return cc
	}
	return strings.Replace(cc, "public", "private", 1)
}

// FromContext returns the Result the middleware resolved for c; when it
// did not run (a handler used on its own in a test), it resolves c's
// credentials now.
func (s *Service) FromContext(c echo.Context) Result {
	if r, ok := c.Get(resultKey).(Result); ok {
		return r
	}
	req := c.Request()
	r := s.Resolve(req.Context(), req.Header.Get("Authorization"), c.RealIP(), req.URL.Path, Full)
	c.Set(resultKey, r)
	return r
}

// Principal returns c's principal: index.Anonymous when it carried no
// valid credentials.
func (s *Service) Principal(c echo.Context) index.Principal {
	return s.FromContext(c).Principal
}

// Require is Check for an echo request.
func (s *Service) Require(c echo.Context, scope index.Scope) (index.Principal, error) {
	return Check(s.FromContext(c), scope)
}

// RequireRead is Read for an echo request.
func (s *Service) RequireRead(c echo.Context, project string) error {
	if !s.PrivateReads() {
		return nil
	}
	return s.Read(s.FromContext(c), project)
}
