package index

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// AuthConfig configures who may read and how login failures are limited.
type AuthConfig struct {
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

// DefaultAuthConfig returns the defaults: anonymous reads, 10 failures a
// minute.
func DefaultAuthConfig() AuthConfig {
	return AuthConfig{AnonymousRead: true, MetricsAnonymous: true, MaxFailedLogins: 10, FailedLoginWindow: time.Minute}
}

// Auth authenticates requests and answers authorization questions for the
// handlers of every component.
type Auth struct {
	cat     *Catalog
	cfg     AuthConfig
	limiter *LoginLimiter
	log     *slog.Logger
}

// NewAuth returns an Auth over cat.
func NewAuth(cat *Catalog, cfg AuthConfig, log *slog.Logger) *Auth {
	if log == nil {
		log = slog.Default()
	}
	return &Auth{cat: cat, cfg: cfg, limiter: NewLoginLimiter(cfg.MaxFailedLogins, cfg.FailedLoginWindow), log: log}
}

// Config returns the configuration in force.
func (a *Auth) Config() AuthConfig { return a.cfg }

type authResult struct {
	p   Principal
	has bool
	err error
}

const authKey = "pyindex.auth"

// Middleware authenticates every request that carries credentials and
// remembers the result for Principal and the Require helpers. An address
// over the failed-login limit gets 429 for any request with credentials.
// Secrets are never logged.
func (a *Auth) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") == "" {
				c.Set(authKey, authResult{})
				return next(c)
			}
			addr := c.RealIP()
			if blocked, left := a.limiter.Blocked(addr); blocked {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
				return echo.NewHTTPError(http.StatusTooManyRequests, "Too many failed logins from this address; try again later")
			}
			p, has, err := a.cat.Authenticate(c.Request().Context(), c.Request())
			if err != nil && errors.Is(err, ErrBadCredentials) {
				a.limiter.Fail(addr)
				reason := "invalid credentials"
				if errors.Is(err, ErrTokenExpired) {
					reason = "expired token"
				}
				user, _, _ := c.Request().BasicAuth()
				a.log.Warn("login failed", "reason", reason, "user", user, "remote_addr", addr, "path", c.Request().URL.Path)
			} else if err != nil {
				return err
			}
			c.Set(authKey, authResult{p: p, has: has, err: err})
			return next(c)
		}
	}
}

func (a *Auth) result(c echo.Context) (authResult, error) {
	if r, ok := c.Get(authKey).(authResult); ok {
		return r, nil
	}
	// The middleware did not run (a handler used on its own in a test).
	p, has, err := a.cat.Authenticate(c.Request().Context(), c.Request())
	if err != nil && !errors.Is(err, ErrBadCredentials) {
		return authResult{}, err
	}
	r := authResult{p: p, has: has, err: err}
	c.Set(authKey, r)
	return r, nil
}

// Check returns what authentication found: the principal, whether the
// request carried credentials at all, and ErrBadCredentials (or
// ErrTokenExpired) for wrong ones. Other errors are failures to check.
func (a *Auth) Check(c echo.Context) (Principal, bool, error) {
	r, err := a.result(c)
	if err != nil {
		return Anonymous, true, err
	}
	return r.p, r.has, r.err
}

// Principal returns the request's principal; Anonymous when it carried no
// valid credentials.
func (a *Auth) Principal(c echo.Context) Principal {
	r, _ := a.result(c)
	if r.err != nil {
		return Anonymous
	}
	return r.p
}

func challenge(c echo.Context, msg string) error {
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="pyindex"`)
	return echo.NewHTTPError(http.StatusUnauthorized, msg)
}

// Require returns nil when the request's credential has at least scope,
// 401 (with a Basic challenge) when it has none or a wrong one, and 403
// when it is valid but too weak.
func (a *Auth) Require(c echo.Context, scope Scope) (Principal, error) {
	r, err := a.result(c)
	if err != nil {
		return Anonymous, err
	}
	if !r.has {
		return Anonymous, challenge(c, "Authentication required")
	}
	if r.err != nil {
		return Anonymous, challenge(c, "Invalid or expired credentials")
	}
	if r.p.Scope < scope {
		return r.p, echo.NewHTTPError(http.StatusForbidden, "This credential's scope ("+r.p.Scope.String()+") does not allow this; it needs "+scope.String())
	}
	return r.p, nil
}

// RequireRead allows a read of project (normalized; "" for the root and
// listings) when anonymous reads are on, or when the credential has the
// read scope and its project restriction includes project.
func (a *Auth) RequireRead(c echo.Context, project string) error {
	if a.cfg.AnonymousRead {
		return nil
	}
	p, err := a.Require(c, ScopeRead)
	if err != nil {
		return err
	}
	if !p.CanRead(project) {
		return echo.NewHTTPError(http.StatusForbidden, "This credential may not read project '"+project+"'")
	}
	return nil
}

// Visible reports whether a listing should show project to this request
// (private mode hides projects outside a token's restriction).
func (a *Auth) Visible(c echo.Context, project string) bool {
	if a.cfg.AnonymousRead {
		return true
	}
	return a.Principal(c).CanRead(project)
}

// FastPrincipal authenticates a request of the fast lane as Middleware
// would, from its Authorization header and the client address (RealIP's).
// ok is false whenever the lane must leave the request to echo: an address
// over the failed-login limit, wrong or expired credentials, a password not
// verified recently (the lane never runs bcrypt), or a failure to check.
// Echo then answers, and counts a failure, exactly once. A request without
// credentials is Anonymous.
func (a *Auth) FastPrincipal(ctx context.Context, authorization, addr string) (Principal, bool) {
	if authorization == "" {
		return Anonymous, true
	}
	if blocked, _ := a.limiter.Blocked(addr); blocked {
		return Anonymous, false
	}
	p, has, err := a.cat.authenticate(ctx, authorization, true)
	if err != nil || !has {
		return Anonymous, false
	}
	return p, true
}

// FastCanRead is RequireRead for the fast lane: true when p may read
// project ("" for the root and listings). A nil Auth allows every read.
func (a *Auth) FastCanRead(p Principal, project string) bool {
	return a == nil || a.cfg.AnonymousRead || p.CanRead(project)
}
