package admin

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/devapi"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
)

// DevVersionsHandler serves POST /api/v1/projects/:project/dev-versions:
// the next dev number of a base version, for scmversion --index.
type DevVersionsHandler struct {
	cat  *index.Catalog
	auth *auth.Service
}

// NewDevVersionsHandler returns the dev-number endpoint's handler.
func NewDevVersionsHandler(deps Deps) (*DevVersionsHandler, error) {
	if deps.Catalog == nil || deps.Auth == nil {
		return nil, errors.New("admin.NewDevVersionsHandler: nil catalog or auth")
	}
	return &DevVersionsHandler{cat: deps.Catalog, auth: deps.Auth}, nil
}

// Register adds the route.
func (h *DevVersionsHandler) Register(g *echo.Group) {
	g.POST(devapi.Route, h.allocate)
}

func (h *DevVersionsHandler) allocate(c echo.Context) error {
	p, err := h.auth.Require(c, index.ScopeUpload)
	if err != nil {
		return err
	}
	raw := httpx.Param(c, "project")
	if !pep503.Valid(raw) {
		return echo.NewHTTPError(http.StatusBadRequest, "invalid project name")
	}
	project := pep503.Normalize(raw)
	if err := h.cat.AuthorizeUpload(c.Request().Context(), p, project); err != nil {
		return err
	}
	var req devapi.Request
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)
	if err := (&echo.DefaultBinder{}).BindBody(c, &req); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "body must be JSON: {\"base\": \"1.2.4\", \"commit\": \"<sha>\", \"branch\": \"main\"}")
	}
	dv, err := h.cat.AllocateDevVersion(c.Request().Context(), project, req.Base, req.Commit, req.Branch, p.User)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, devapi.Response{Base: dv.Base, Number: int(dv.Number), Reused: dv.Reused, Version: dv.Version})
}
