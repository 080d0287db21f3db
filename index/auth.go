package index

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Principal is an authenticated caller: a user with a password (scope
// upload, or admin for admins), or an API token with its own scope and
// optional project restriction.
type Principal struct {
	User     string
	UserID   int64
	Admin    bool     // the admin scope is in effect
	Scope    Scope    // what the credential may do
	Projects []string // normalized names the credential is limited to; empty: any
	TokenID  int64    // 0 for a password
}

// Anonymous is the principal of a request without credentials.
var Anonymous = Principal{}

// ProjectAllowed reports whether the credential's project restriction (if
// any) includes project (a normalized name).
func (p Principal) ProjectAllowed(project string) bool {
	return len(p.Projects) == 0 || slices.Contains(p.Projects, project)
}

// CanRead reports whether p may read project (or the root when project is
// empty) in private-read mode.
func (p Principal) CanRead(project string) bool {
	if p.Scope < ScopeRead {
		return false
	}
	return project == "" || p.ProjectAllowed(project)
}

// Authenticate checks the credentials of a request, the ways PyPI accepts
// them: HTTP Basic with a user name and password, Basic with user name
// "__token__" (or the owner's name) and an API token as the password, or
// "Authorization: Bearer TOKEN" (also "token TOKEN"). It returns ok = false
// when the request carries no credentials, and ErrBadCredentials (or
// ErrTokenExpired) when it carries wrong ones.
func (c *Catalog) Authenticate(ctx context.Context, r *http.Request) (p Principal, ok bool, err error) {
	return c.authenticate(ctx, r.Header.Get("Authorization"), false)
}

// errNotCached is authenticate's answer in cachedOnly mode for a password
// that would need a bcrypt comparison.
var errNotCached = errors.New("password not verified recently")

// authenticate is Authenticate for an Authorization header value. With
// cachedOnly, a password is accepted only from the cache of recently
// verified ones (errNotCached otherwise), so that no bcrypt runs.
func (c *Catalog) authenticate(ctx context.Context, authorization string, cachedOnly bool) (p Principal, ok bool, err error) {
	authz := strings.TrimSpace(authorization)
	if authz == "" {
		return Anonymous, false, nil
	}
	scheme, rest, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		p, err := c.CheckToken(ctx, strings.TrimSpace(rest))
		return p, true, err
	case "basic":
		// net/http's parsing of the Basic credentials, exactly.
		user, pass, has := (&http.Request{Header: http.Header{"Authorization": {authorization}}}).BasicAuth()
		if !has {
			return Anonymous, true, ErrBadCredentials
		}
		if strings.HasPrefix(pass, TokenPrefix) {
			p, err := c.CheckToken(ctx, pass)
			if err != nil {
				return Anonymous, true, err
			}
			if user != "__token__" && user != p.User {
				return Anonymous, true, ErrBadCredentials
			}
			return p, true, nil
		}
		if user == "__token__" {
			return Anonymous, true, ErrBadCredentials
		}
		check := c.CheckPassword
		if cachedOnly {
			check = c.checkPasswordCached
		}
		u, err := check(ctx, user, pass)
		if err != nil {
			return Anonymous, true, err
		}
		p := Principal{User: u.Name, UserID: u.ID, Admin: u.Admin, Scope: ScopeUpload}
		if u.Admin {
			p.Scope = ScopeAdmin
		}
		return p, true, nil
	}
	return Anonymous, true, ErrBadCredentials
}

// LoginLimiter slows down guessing: an address that failed to log in
// Limit times within Window is refused (429) until the window passes.
// Other addresses are not affected, and successes never count.
type LoginLimiter struct {
	Limit  int
	Window time.Duration

	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n     int
	start time.Time
}

// NewLoginLimiter returns a limiter; limit <= 0 disables it.
func NewLoginLimiter(limit int, window time.Duration) *LoginLimiter {
	return &LoginLimiter{Limit: limit, Window: window, m: map[string]*failures{}}
}

// Blocked reports whether addr is refused now, and for how long.
func (l *LoginLimiter) Blocked(addr string) (bool, time.Duration) {
	if l == nil || l.Limit <= 0 {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil {
		return false, 0
	}
	left := l.Window - time.Since(f.start)
	if left <= 0 {
		delete(l.m, addr)
		return false, 0
	}
	return f.n >= l.Limit, left
}

// Fail records a failed login from addr.
func (l *LoginLimiter) Fail(addr string) {
	if l == nil || l.Limit <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.m) > 100000 {
		for k, f := range l.m {
			if now.Sub(f.start) > l.Window {
				delete(l.m, k)
			}
		}
	}
	f := l.m[addr]
	if f == nil || now.Sub(f.start) > l.Window {
		f = &failures{start: now}
		l.m[addr] = f
	}
	f.n++
}
