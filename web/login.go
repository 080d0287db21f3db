package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
)

// loginData is what login.html shows.
type loginData struct {
	Token   string // the form's CSRF token (also in loginCookie)
	Next    string
	User    string
	Error   string
	Private bool
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// loginForm answers GET /login: the form, with a fresh token in a cookie
// and in the form. A logged-in visitor goes on to where they were headed.
func (u *UI) loginForm(c echo.Context, v *visitor) error {
	next := localPath(c.QueryParam("next"))
	if v.session != nil {
		return c.Redirect(http.StatusSeeOther, u.prefix+next)
	}
	return u.showLogin(c, http.StatusOK, loginData{Next: next})
}

func (u *UI) showLogin(c echo.Context, status int, d loginData) error {
	tok, err := randomToken()
	if err != nil {
		return err
	}
	u.setCookie(c, loginCookie, tok, 3600)
	d.Token, d.Private = tok, u.auth.PrivateReads()
	return u.render(c, status, "login", "Log in", d)
}

// login answers POST /login. The form's token must match its cookie (a
// page on another site cannot log a browser in as someone else). The
// user name and password are checked by auth.Service.Resolve exactly as
// Basic credentials are, so a failure counts against the same
// failed-login limit, and an address over it is refused (429). API tokens
// do not open sessions.
func (u *UI) login(c echo.Context) error {
	securityHeaders(c.Response().Header())
	v, err := u.loadVisitor(c)
	if err != nil {
		return u.fail(c, err)
	}
	ck, err := c.Cookie(loginCookie)
	form := c.Request().PostFormValue(csrfField)
	if err != nil || ck.Value == "" || form == "" || subtle.ConstantTimeCompare([]byte(form), []byte(ck.Value)) != 1 {
		return u.fail(c, echo.NewHTTPError(http.StatusForbidden, "The login form's security token is missing or wrong (are cookies on?): reload the page and try again"))
	}
	d := loginData{Next: localPath(c.Request().PostFormValue("next")), User: c.Request().PostFormValue("username")}
	password := c.Request().PostFormValue("password")
	if d.User == "" || password == "" {
		d.Error = "Enter your user name and password."
		return u.showLogin(c, http.StatusBadRequest, d)
	}
	ctx := c.Request().Context()
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte(d.User+":"+password))
	r := u.auth.Resolve(ctx, authz, c.RealIP(), c.Request().URL.Path, auth.Full)
	switch {
	case errors.Is(r.Err, auth.ErrBlocked):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(r.RetryAfter.Seconds())+1))
		d.Error = "Too many failed logins from this address; try again later."
		return u.showLogin(c, http.StatusTooManyRequests, d)
	case errors.Is(r.Err, index.ErrBadCredentials):
		d.Error = "Wrong user name or password."
		return u.showLogin(c, http.StatusForbidden, d)
	case r.Err != nil:
		return u.fail(c, r.Err)
	case r.Principal.TokenID != 0:
		d.Error = "Log in with your password: API tokens are for pip, twine and other clients."
		return u.showLogin(c, http.StatusForbidden, d)
	}
	if v.session != nil {
		_ = u.cat.EndSession(ctx, v.secret)
	}
	s, secret, err := u.cat.CreateSession(ctx, r.Principal.User, u.cfg.SessionLifetime, c.RealIP())
	if err != nil {
		return u.fail(c, err)
	}
	u.setCookie(c, sessionCookie, secret, int(u.cfg.SessionLifetime.Seconds()))
	u.clearCookie(c, loginCookie)
	u.log.Info("web login", "user", s.User.Name, "remote_addr", c.RealIP())
	return c.Redirect(http.StatusSeeOther, u.prefix+d.Next)
}

// logout answers POST /logout: the session ends in the catalog (on every
// replica) and its cookie is cleared.
func (u *UI) logout(c echo.Context, v *visitor) error {
	if err := u.cat.EndSession(c.Request().Context(), v.secret); err != nil {
		return err
	}
	u.clearCookie(c, sessionCookie)
	return c.Redirect(http.StatusSeeOther, u.prefix+"/projects/")
}
