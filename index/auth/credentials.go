package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/pyindex/pyindex/index"
)

// Authenticate checks an Authorization header value against cat, the ways
// PyPI accepts credentials: HTTP Basic with a user name and password, Basic
// with user name "__token__" (or the owner's name) and an API token as the
// password, or "Bearer TOKEN" (also "token TOKEN"). It returns present =
// false when there are no credentials, and index.ErrBadCredentials (or
// index.ErrTokenExpired) for wrong ones. With cachedOnly, a password is
// accepted only from the cache of recently verified ones
// (index.ErrNotCached otherwise), so that no bcrypt runs.
func Authenticate(ctx context.Context, cat *index.Catalog, authorization string, cachedOnly bool) (p index.Principal, present bool, err error) {
	authz := strings.TrimSpace(authorization)
	if authz == "" {
		return index.Anonymous, false, nil
	}
	scheme, rest, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		p, err := cat.CheckToken(ctx, strings.TrimSpace(rest))
		return p, true, err
	case "basic":
		// net/http's parsing of the Basic credentials, exactly.
		user, pass, has := (&http.Request{Header: http.Header{"Authorization": {authorization}}}).BasicAuth()
		if !has {
			return index.Anonymous, true, index.ErrBadCredentials
		}
		if strings.HasPrefix(pass, index.TokenPrefix) {
			p, err := cat.CheckToken(ctx, pass)
			if err != nil {
				return index.Anonymous, true, err
			}
			if user != "__token__" && user != p.User {
				return index.Anonymous, true, index.ErrBadCredentials
			}
			return p, true, nil
		}
		if user == "__token__" {
			return index.Anonymous, true, index.ErrBadCredentials
		}
		check := cat.CheckPassword
		if cachedOnly {
			check = cat.CheckPasswordCached
		}
		u, err := check(ctx, user, pass)
		if err != nil {
			return index.Anonymous, true, err
		}
		p := index.Principal{User: u.Name, UserID: u.ID, Admin: u.Admin, Scope: index.ScopeUpload}
		if u.Admin {
			p.Scope = index.ScopeAdmin
		}
		return p, true, nil
	}
	return index.Anonymous, true, index.ErrBadCredentials
}
