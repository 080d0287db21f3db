package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
)

// Owners are managed on the project page, by the catalog's rules
// (index.Catalog.MayManageOwners: admins, and owners signed in; only an
// admin may remove the last owner), which also audit every change.

// changeOwner answers POST /project/NAME/owners/add and
// /project/NAME/owners/remove (form: user). A visitor who may not manage
// the owners gets the error page (403); a change the catalog refuses (an
// unknown user, an owner already there, the last owner) shows the project
// page again with the reason, and changes nothing.
func (u *UI) changeOwner(add bool) handler {
	return func(c echo.Context, v *visitor) error {
		raw := c.Param("name")
		if p, err := url.PathUnescape(raw); err == nil {
			raw = p
		}
		if !pep503.Valid(raw) {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q", raw))
		}
		name := pep503.Normalize(raw)
		ctx := c.Request().Context()
		by := v.principal()
		if err := u.cat.MayManageOwners(ctx, by, name); err != nil {
			return err
		}
		user := strings.TrimSpace(formValue(c, "user"))
		if user == "" {
			return u.showProject(c, v, name, http.StatusBadRequest, func(d *projectData) { d.OwnerError = "Enter a user name." })
		}
		var err error
		if add {
			_, err = u.cat.AddOwner(ctx, by, name, user, v.actor(c))
		} else {
			_, err = u.cat.RemoveOwner(ctx, by, name, user, v.actor(c))
		}
		if err != nil {
			msg, ok := ownerError(err, add, name, user)
			if !ok {
				return err
			}
			status, _ := httpx.ErrorStatus(err)
			return u.showProject(c, v, name, status, func(d *projectData) {
				d.OwnerError = msg
				if add {
					d.OwnerUser = user
				}
			})
		}
		done := "owner-removed"
		if add {
			done = "owner-added"
		}
		return c.Redirect(http.StatusSeeOther, u.prefix+"/project/"+name+"/?done="+done+"#owners")
	}
}

// ownerError is what the project page says of a refused owner change, and
// false for errors that are not the visitor's to fix.
func ownerError(err error, add bool, project, user string) (string, bool) {
	var ie *index.Error
	switch {
	case errors.As(err, &ie) && (errors.Is(err, index.ErrForbidden) || errors.Is(err, index.ErrInvalid)):
		return ie.Msg, true
	case errors.Is(err, index.ErrExists):
		return fmt.Sprintf("%s already owns %s.", user, project), true
	case errors.Is(err, index.ErrNotFound) && add:
		return fmt.Sprintf("There is no user named %q: an admin adds users under Users.", user), true
	case errors.Is(err, index.ErrNotFound):
		return fmt.Sprintf("%s is not an owner of %s.", user, project), true
	}
	return "", false
}
