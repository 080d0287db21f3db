package main

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
)

// registerOps adds the operator and visitor routes: /readyz, /metrics, the
// home page and /api/v1/version. (/healthz is in Run: it only says the
// process is alive.)
func (m *Main) registerOps(e *echo.Echo) {
	e.GET("/readyz", m.ready)
	e.GET("/metrics", m.metricsHandler())
	e.GET("/", m.home)
	e.HEAD("/", m.home)
	e.GET("/api/v1/version", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"version": Version()})
	})
}

//go:embed home.html
var homeHTML string

var homeTemplate = template.Must(template.New("home").Funcs(template.FuncMap{
	"size": humanBytes,
	"date": func(t time.Time) string { return t.Format("2006-01-02 15:04 UTC") },
}).Parse(homeHTML))

// homeData is what home.html shows.
type homeData struct {
	Version string
	// Base is the server's URL without a trailing slash: index.base_url
	// when set, else the request's scheme and host.
	Base string
	// Host is set when Base is plain http, for pip's trusted-host.
	Host string
	// Web is set when the web interface is on: the page links to its
	// project list.
	Web bool
	// Listed is false when the visitor may not read the index (private
	// mode without a credential): the page then shows only the snippets.
	Listed bool
	Stats  index.Stats
	Recent []index.RecentFile
}

// home renders the home page: what the index holds, copy-paste client
// configuration with this server's URL, and the version.
func (m *Main) home(c echo.Context) error {
	d := homeData{Version: Version(), Base: strings.TrimSuffix(m.Config.Index.BaseURL, "/"), Web: m.Config.Web.Enabled}
	if d.Base == "" {
		d.Base = c.Scheme() + "://" + c.Request().Host
	}
	if u, err := url.Parse(d.Base); err == nil && u.Scheme == "http" {
		d.Host = u.Hostname()
	}
	ctx := c.Request().Context()
	// The read rule, but without its 401 challenge: the page itself is
	// open to anyone.
	if m.Auth.Read(m.Auth.FromContext(c), "") == nil {
		s, err := m.Catalog.Stats(ctx)
		if err != nil {
			return err
		}
		recent, err := m.Catalog.RecentFiles(ctx, 20)
		if err != nil {
			return err
		}
		d.Listed, d.Stats = true, s
		for _, f := range recent {
			if m.Auth.Visible(m.Auth.FromContext(c), f.Project) && len(d.Recent) < 10 {
				d.Recent = append(d.Recent, f)
			}
		}
	}
	var buf bytes.Buffer
	if err := homeTemplate.Execute(&buf, d); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}
