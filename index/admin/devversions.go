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

// DevVersionsHandler serves /api/v1/projects/:project/dev-versions for
// scmversion --index: POST hands out the next dev number of a base
// version, GET tells the project's newest version (the base of a clone
// without tags is chosen from it).
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
	g.GET(devapi.Route, h.state)
}

// authorize checks that the caller may upload to the project (both methods
// need upload scope: the numbers are the uploader's business) and returns
// the principal and the normalized project name.
func (h *DevVersionsHandler) authorize(c echo.Context) (index.Principal, string, error) {
	p, err := h.auth.Require(c, index.ScopeUpload)
	if err != nil {
		return index.Principal{}, "", err
	}
	raw := httpx.Param(c, "project")
	if !pep503.Valid(raw) {
		return index.Principal{}, "", echo.NewHTTPError(http.StatusBadRequest, "invalid project name")
	}
	project := pep503.Normalize(raw)
	if err := h.cat.AuthorizeUpload(c.Request().Context(), p, project); err != nil {
		return index.Principal{}, "", err
	}
	return p, project, nil
}

func (h *DevVersionsHandler) state(c echo.Context) error {
	_, project, err := h.authorize(c)
	if err != nil {
		return err
	}
	st, err := h.cat.DevState(c.Request().Context(), project)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, devapi.State{Project: st.Project, Newest: st.Newest})
}

func (h *DevVersionsHandler) allocate(c echo.Context) error {
	p, project, err := h.authorize(c)
	if err != nil {
		return err
	}
	var req devapi.Request
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)
	if err := (&echo.DefaultBinder{}).BindBody(c, &req); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "body must be JSON: {\"base\": \"1.2.4\", \"commit\": \"<sha>\", \"branch\": \"main\"}")
	}
	dv, err := h.cat.AllocateDevVersion(c.Request().Context(), index.DevRequest{Project: project, Base: req.Base,
		Commit: req.Commit, Dirty: req.Dirty, Branch: req.Branch, AboveAll: req.AboveAll}, p.User)
	var stale *index.StaleBaseError
	if errors.As(err, &stale) {
		return c.JSON(http.StatusConflict, devapi.Conflict{Error: stale.Error(), Newest: stale.Newest})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, devapi.Response{Base: dv.Base, Number: int(dv.Number), Reused: dv.Reused,
		Version: dv.Version, Dirty: dv.Dirty})
}
