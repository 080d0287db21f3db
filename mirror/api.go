package mirror

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
)

// Register adds the mirror's routes to g (the server root): the files of
// mirrored pages, and the admin API under /api/v1/mirror/. Deps.Auth
// guards both (reads per index's read policy, the API with the admin
// scope); Register panics when the mirror was built without it.
func (m *Mirror) Register(g *echo.Group) {
	if m.auth == nil {
		panic("mirror.Register: the mirror was built without Deps.Auth")
	}
	get := []string{http.MethodGet, http.MethodHead}
	g.Match(get, RouteFile, m.serveFile)
	g.GET("/api/v1/mirror/projects", m.apiList)
	g.POST("/api/v1/mirror/projects/:project/refresh", m.apiRefresh)
	g.DELETE("/api/v1/mirror/projects/:project", m.apiDelete)
}

// projectParam returns the normalized project of the path; false when it
// is not a valid name.
func projectParam(c echo.Context) (string, bool) {
	raw := httpx.Param(c, "project")
	if !pep503.Valid(raw) {
		return "", false
	}
	return pep503.Normalize(raw), true
}

// apiList answers GET /api/v1/mirror/projects: what is cached, its size and
// when it was last refreshed.
func (m *Mirror) apiList(c echo.Context) error {
	if _, err := m.auth.Require(c, index.ScopeAdmin); err != nil {
		return err
	}
	list, err := m.cat.MirrorProjects(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"upstream": redact(m.cfg.Upstream), "offline": m.cfg.Offline, "projects": list})
}

// apiRefresh answers POST /api/v1/mirror/projects/{p}/refresh: fetch the
// page from the upstream now, whatever its TTL.
func (m *Mirror) apiRefresh(c echo.Context) error {
	if _, err := m.auth.Require(c, index.ScopeAdmin); err != nil {
		return err
	}
	name, ok := projectParam(c)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "invalid project name")
	}
	if m.cfg.Offline {
		return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: "this mirror is offline (mirror.offline); it cannot refresh"}
	}
	if err := m.Refresh(c.Request().Context(), name); err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "the upstream has no project '"+name+"'")
		}
		return err
	}
	return m.summary(c, name)
}

func (m *Mirror) summary(c echo.Context, name string) error {
	list, err := m.cat.MirrorProjects(c.Request().Context())
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.Name == name {
			return c.JSON(http.StatusOK, s)
		}
	}
	return echo.NewHTTPError(http.StatusNotFound, "project '"+name+"' is not cached")
}

// apiDelete answers DELETE /api/v1/mirror/projects/{p}: drop a cached
// project and the files only it used. The next request fetches it again
// (unless offline).
func (m *Mirror) apiDelete(c echo.Context) error {
	if _, err := m.auth.Require(c, index.ScopeAdmin); err != nil {
		return err
	}
	name, ok := projectParam(c)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "invalid project name")
	}
	if err := m.drop(c.Request().Context(), name); err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "project '"+name+"' is not cached")
		}
		return err
	}
	m.clearNegative(name)
	return c.JSON(http.StatusOK, map[string]string{"deleted": name})
}
