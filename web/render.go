package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// contentSecurityPolicy is sent with every page: scripts and styles only
// from this server's embedded assets (no inline script, no inline style,
// nothing from elsewhere), forms only to here, and no framing by any
// page. Images may also come from any https URL: READMEs show badges
// (CI status, coverage, versions) from elsewhere, and an image is not
// active content (no script runs in it; an SVG loaded as an image runs
// none). They are fetched without a referrer (Referrer-Policy
// same-origin, and the sanitized description's img elements carry
// referrerpolicy="no-referrer").
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every reply of the web interface
// carries, error pages included.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// assetVersions are the assets' content hashes, put in their URLs so that
// browsers may keep them for long.
var assetVersions = func() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := assetFS.ReadFile(p)
		sum := sha256.Sum256(b)
		out[path.Base(p)] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
}()

// view is what every template gets.
type view struct {
	Title  string
	V      *visitor
	Prefix string // the base URL's path: every link starts with it
	Q      string // the search box's value
	Next   string // the page to come back to after logging in
	// CanRead is false for a visitor who may not read the index (private
	// mode, not logged in): the page then offers nothing but logging in.
	CanRead bool
	Data    any
}

var funcs = template.FuncMap{
	"size": func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"esc":    url.PathEscape,
	"qesc":   url.QueryEscape,
	"add":    func(a, b int) int { return a + b },
	"slice3": func(a, b, c string) []string { return []string{a, b, c} },
}

// parsePages parses the templates, one set per page, each the layout plus
// the page's own file; asset makes an asset's URL.
func parsePages(asset func(string) string) (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).Funcs(template.FuncMap{"asset": asset}).
		ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// render writes page name with status.
func (u *UI) render(c echo.Context, status int, name, title string, data any) error {
	t := u.pages[name]
	if t == nil {
		return errors.New("web: no template " + name)
	}
	v := visitorOf(c)
	vw := view{Title: title, V: v, Prefix: u.prefix, Data: data, Q: c.QueryParam("q"), CanRead: u.auth.Read(v.result, "") == nil}
	if c.Path() != "/login" {
		vw.Next = c.Request().URL.RequestURI()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", vw); err != nil {
		return err
	}
	h := c.Response().Header()
	securityHeaders(h)
	if v.session != nil {
		h.Set("Cache-Control", "no-store") // the page carries the session's CSRF token
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func (u *UI) assetURL(name string) string {
	return u.prefix + "/assets/" + name + "?v=" + assetVersions[name]
}

// asset serves an embedded asset.
func (u *UI) asset(c echo.Context) error {
	name := c.Param("name")
	if _, ok := assetVersions[name]; !ok {
		return echo.NewHTTPError(http.StatusNotFound, "No such asset")
	}
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil {
		return err
	}
	ctype := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".png":
		ctype = "image/png"
	}
	h := c.Response().Header()
	securityHeaders(h)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", `"`+assetVersions[name]+`"`)
	if c.Request().Header.Get("If-None-Match") == `"`+assetVersions[name]+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, ctype, b)
}

// handler is a page or an action, given the visitor.
type handler func(c echo.Context, v *visitor) error

// page wraps a GET handler: the visitor is loaded, and errors become an
// HTML error page with the security headers. With open false, a visitor
// who may not read the index (private mode without a login) is sent to
// the login form.
func (u *UI) page(open bool, h handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		securityHeaders(c.Response().Header())
		v, err := u.loadVisitor(c)
		if err != nil {
			return u.fail(c, err)
		}
		if !open && u.auth.Read(v.result, "") != nil {
			return c.Redirect(http.StatusSeeOther, u.prefix+"/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		if err := h(c, v); err != nil {
			return u.fail(c, err)
		}
		return nil
	}
}

// action wraps a POST handler: the visitor must be logged in and the form
// must carry the session's CSRF token (403 and no change otherwise).
func (u *UI) action(h handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		securityHeaders(c.Response().Header())
		v, err := u.loadVisitor(c)
		if err != nil {
			return u.fail(c, err)
		}
		if err := checkCSRF(c, v); err != nil {
			return u.fail(c, err)
		}
		if err := h(c, v); err != nil {
			return u.fail(c, err)
		}
		return nil
	}
}

// errorData is what error.html shows.
type errorData struct {
	Status  int
	Message string
}

// fail renders err as an error page, with the status and message the
// server's one error table gives it (httpx.ErrorStatus).
func (u *UI) fail(c echo.Context, err error) error {
	if c.Response().Committed {
		return nil
	}
	code, msg := httpx.ErrorStatus(err)
	if errors.Is(err, index.ErrUnauthenticated) {
		return c.Redirect(http.StatusSeeOther, u.prefix+"/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	if code >= 500 {
		u.log.Error("request failed", "err", err, "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", code, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if rerr := u.render(c, code, "error", http.StatusText(code), errorData{Status: code, Message: msg}); rerr != nil {
		return err
	}
	return nil
}

// localPath returns next when it is a path on this server (no scheme, no
// host, no "//" or backslash tricks), else the project list's: the login
// form's "next" must not send anyone elsewhere. Paths are the server's
// own, without the base URL's prefix.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/projects/"
	}
	if p, err := url.Parse(next); err != nil || p.Host != "" || p.Scheme != "" {
		return "/projects/"
	}
	return next
}
