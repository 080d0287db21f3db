package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
)

// The owner endpoints are not admin-only: a project's owners may list and
// change its owners too (signed in with their password, not a token; see
// index.Catalog.MayManageOwners for the rule, README "Project owners").
// Errors follow the rest of the admin API: 401 without valid credentials,
// 403 for a caller who may not, 404 for an unknown project or user, 409 for
// an owner added twice.

// OwnerRequest is the body of POST /api/v1/projects/NAME/owners.
type OwnerRequest struct {
	User string `json:"user"`
}

// ownerCaller returns the authenticated caller (at least the upload scope:
// a password, or an admin credential) and its actor for the audit log.
func (h *API) ownerCaller(c echo.Context) (index.Principal, index.Actor, error) {
	p, err := h.auth.Require(c, index.ScopeUpload)
	if err != nil {
		return p, index.Actor{}, err
	}
	return p, index.Actor{Name: p.User, RemoteAddr: c.RealIP()}, nil
}

func (h *API) owners(c echo.Context) error {
	p, _, err := h.ownerCaller(c)
	if err != nil {
		return err
	}
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	po, err := h.cat.ListOwners(c.Request().Context(), p, name)
	if err != nil {
		return notFound(err, "Project "+name)
	}
	return c.JSON(http.StatusOK, po)
}

func (h *API) addOwner(c echo.Context) error {
	p, who, err := h.ownerCaller(c)
	if err != nil {
		return err
	}
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	var body OwnerRequest
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.User == "" {
		return echo.NewHTTPError(http.StatusBadRequest, `The body must name the new owner: {"user": "NAME"}`)
	}
	po, err := h.cat.AddOwner(c.Request().Context(), p, name, body.User, who)
	if err != nil {
		return ownerError(err)
	}
	return c.JSON(http.StatusCreated, po)
}

func (h *API) removeOwner(c echo.Context) error {
	p, who, err := h.ownerCaller(c)
	if err != nil {
		return err
	}
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	po, err := h.cat.RemoveOwner(c.Request().Context(), p, name, c.Param("user"), who)
	if err != nil {
		return ownerError(err)
	}
	return c.JSON(http.StatusOK, po)
}

// ownerError gives a bare catalog error of an owner change its message
// ("not found: user "bob"" becomes 404 `user "bob"`).
func ownerError(err error) error {
	var ie *index.Error
	if errors.As(err, &ie) {
		return err
	}
	switch {
	case errors.Is(err, index.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, strings.TrimPrefix(err.Error(), index.ErrNotFound.Error()+": "))
	case errors.Is(err, index.ErrExists):
		return echo.NewHTTPError(http.StatusConflict, strings.TrimPrefix(err.Error(), index.ErrExists.Error()+": "))
	}
	return err
}
