package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
)

// sessionCookie holds a logged-in browser's session secret; loginCookie
// the token of the login form (a login is a state change too, and the
// form's token must match it).
const (
	sessionCookie = auth.SessionCookie
	loginCookie   = "pyindex_login"
	csrfField     = "csrf"
)

// visitor is who a page is for.
type visitor struct {
	session *index.Session // nil: not logged in
	secret  string         // the session cookie's value
	// result is what read decisions take: the session's user, else the
	// request's own credentials (Basic or a token), else anonymous.
	result auth.Result
}

// principal returns the logged-in user as the auth rules see a password
// login: the upload scope, or admin for admins.
func (s *visitor) principal() index.Principal {
	if s.session == nil {
		return index.Anonymous
	}
	u := s.session.User
	p := index.Principal{User: u.Name, UserID: u.ID, Admin: u.Admin, Scope: index.ScopeUpload}
	if u.Admin {
		p.Scope = index.ScopeAdmin
	}
	return p
}

// User is the logged-in user's name, "" for none.
func (s *visitor) User() string {
	if s.session == nil {
		return ""
	}
	return s.session.User.Name
}

// Admin reports whether the logged-in user is an admin.
func (s *visitor) Admin() bool { return s.session != nil && s.session.User.Admin }

// CSRF is the token every form of the session carries.
func (s *visitor) CSRF() string {
	if s.session == nil {
		return ""
	}
	return s.session.CSRF
}

const visitorKey = "pyindex.web.visitor"

// loadVisitor finds the session of c's cookie, if any: a cookie naming no
// live session (expired, logged out, password changed, user removed) is
// cleared.
func (u *UI) loadVisitor(c echo.Context) (*visitor, error) {
	v := &visitor{}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		s, err := u.cat.Session(c.Request().Context(), ck.Value)
		switch {
		case err == nil:
			v.session, v.secret = &s, ck.Value
		case errors.Is(err, index.ErrNoSession):
			u.clearCookie(c, sessionCookie)
		default:
			return nil, err
		}
	}
	if v.session != nil {
		v.result = auth.Result{Principal: v.principal(), Present: true}
	} else {
		v.result = u.auth.FromContext(c)
	}
	c.Set(visitorKey, v)
	return v, nil
}

func visitorOf(c echo.Context) *visitor {
	v, _ := c.Get(visitorKey).(*visitor)
	if v == nil {
		v = &visitor{result: auth.Result{Principal: index.Anonymous}}
	}
	return v
}

// checkCSRF refuses (403) a POST whose form does not carry the session's
// token. Without a session no action is allowed at all.
func checkCSRF(c echo.Context, v *visitor) error {
	if v.session == nil {
		return echo.NewHTTPError(http.StatusForbidden, "You are not logged in (or your session ended): log in and try again")
	}
	got := c.Request().PostFormValue(csrfField)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(v.session.CSRF)) != 1 {
		return echo.NewHTTPError(http.StatusForbidden, "The form's security token is missing or wrong: reload the page and try again")
	}
	return nil
}

// secure reports whether the request reached the server over TLS (or a
// trusted proxy says it did, or the configured base URL is https): the
// cookies are then Secure.
func (u *UI) secure(c echo.Context) bool {
	req := c.Request()
	if req.TLS != nil || strings.HasPrefix(u.base, "https://") {
		return true
	}
	return u.trust && strings.EqualFold(req.Header.Get(echo.HeaderXForwardedProto), "https")
}

// requestBase is the server's URL as the request reached it, for pages
// without a configured base URL: https only over TLS or when a trusted
// proxy says so (echo's Scheme believes X-Forwarded-Proto from anyone).
func (u *UI) requestBase(c echo.Context) string {
	scheme := "http"
	if u.secure(c) {
		scheme = "https"
	}
	return scheme + "://" + c.Request().Host
}

func (u *UI) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: u.prefix + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: u.secure(c), SameSite: http.SameSiteLaxMode})
}

func (u *UI) clearCookie(c echo.Context, name string) { u.setCookie(c, name, "", -1) }
