package httpx

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// Guard returns the server's middleware against requests that a web page
// on another site can make a browser send with the user's credentials
// (Basic credentials a browser remembers go with every request to the
// host, a cross-site one included):
//
//   - A state-changing request (any method but GET, HEAD and OPTIONS) from
//     another origin is refused with 403. net/http's CrossOriginProtection
//     decides: the browser's Sec-Fetch-Site header when it sends one, else
//     the host of the Origin header against the Host header; a request
//     with neither comes from a client that is not a browser (pip, twine,
//     uv, curl, scmversion) and passes. baseURL (index.base_url), when
//     set, is this server's origin too, for a proxy that changes Host.
//     This holds on every route, the legacy upload API included.
//   - Under /api/, a request body must be declared JSON (Content-Type
//     application/json, parameters allowed), else 415. A page may post
//     text/plain, form or multipart bodies to another site without asking
//     it first; a JSON content type makes the browser ask (a CORS
//     preflight), which this server never grants.
//
// Both rules live here, in front of every handler, rather than in a helper
// each JSON handler calls: a handler added later (or one of another
// package, such as the mirror's API) cannot forget them. Refused requests
// never reach the credentials check, so they cost no bcrypt and count no
// failed login.
func Guard(baseURL string) echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	if o := origin(baseURL); o != "" {
		_ = cop.AddTrustedOrigin(o) // origin returns only scheme://host
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if err := cop.Check(req); err != nil {
				from := req.Header.Get("Origin")
				if from == "" {
					from = "another site"
				} else {
					from = fmt.Sprintf("%q", from)
				}
				return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
					"Cross-origin request refused: a %s from %s; this server accepts changes only from its own origin or from clients that are not browsers",
					req.Method, from))
			}
			if strings.HasPrefix(req.URL.Path, "/api/") && hasBody(req) && !declaresJSON(req.Header.Get(echo.HeaderContentType)) {
				return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf(
					"Content-Type must be application/json: the body of an API request is JSON and must be declared so (got %q)",
					req.Header.Get(echo.HeaderContentType)))
			}
			return next(c)
		}
	}
}

// hasBody reports whether req is a request whose body a handler reads:
// not a safe method, and a body that is not known to be empty.
func hasBody(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody
}

// declaresJSON reports whether a Content-Type value is application/json,
// with any parameters ("application/json; charset=utf-8").
func declaresJSON(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && mt == echo.MIMEApplicationJSON
}

// origin returns the origin of an absolute http(s) URL as a browser sends
// it in Origin (scheme://host, with the port only when it is not the
// scheme's default), "" for anything else.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return u.Scheme + "://" + host
}
