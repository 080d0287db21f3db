package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep503"
)

// actionProject returns the normalized project of an action's path (a
// POST is never redirected), and checks that the visitor may manage it.
func (u *UI) actionProject(c echo.Context, v *visitor) (string, error) {
	raw := c.Param("name")
	if p, err := url.PathUnescape(raw); err == nil {
		raw = p
	}
	if !pep503.Valid(raw) {
		return "", echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q", raw))
	}
	name := pep503.Normalize(raw)
	ok, err := u.mayManage(c.Request().Context(), v, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", index.Errorf(index.ErrForbidden, "%s may not change project '%s': only its owners and admins may", v.User(), name)
	}
	return name, nil
}

func versionParam(c echo.Context) string {
	v := c.Param("version")
	if p, err := url.PathUnescape(v); err == nil {
		return p
	}
	return v
}

func (v *visitor) actor(c echo.Context) index.Actor {
	return index.Actor{Name: v.User(), RemoteAddr: c.RealIP()}
}

// yank answers POST /project/NAME/VERSION/yank (form: reason).
func (u *UI) yank(c echo.Context, v *visitor) error {
	name, err := u.actionProject(c, v)
	if err != nil {
		return err
	}
	r, err := u.cat.Yank(c.Request().Context(), name, versionParam(c), c.Request().PostFormValue("reason"), v.actor(c))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/project/"+name+"/"+url.PathEscape(r.Version)+"/")
}

// unyank answers POST /project/NAME/VERSION/unyank.
func (u *UI) unyank(c echo.Context, v *visitor) error {
	name, err := u.actionProject(c, v)
	if err != nil {
		return err
	}
	r, err := u.cat.Unyank(c.Request().Context(), name, versionParam(c), v.actor(c))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/project/"+name+"/"+url.PathEscape(r.Version)+"/")
}

// deleteData is what confirm_delete.html shows.
type deleteData struct {
	*projectData
	File  *fileView // nil: the whole release
	Files []fileView
	Bytes int64
}

// confirmDelete answers GET /project/NAME/VERSION/delete[?file=F]: what
// would be deleted, and the button that deletes it. Nothing changes.
func (u *UI) confirmDelete(c echo.Context, v *visitor) error {
	m, rv, err := u.release(c, v, "delete"+queryOf(c), false)
	if m == nil || err != nil {
		return err
	}
	if ok, err := u.mayManage(c.Request().Context(), v, m.Name); err != nil || !ok {
		if err == nil {
			err = index.Errorf(index.ErrForbidden, "Only the owners of '%s' and admins may delete its files", m.Name)
		}
		if v.session == nil {
			err = index.Errorf(index.ErrUnauthenticated, "log in")
		}
		return err
	}
	pd, err := u.projectData(c, v, m)
	if err != nil {
		return err
	}
	pd.Release = rv
	files, err := u.releaseFiles(c.Request().Context(), m, rv)
	if err != nil {
		return err
	}
	d := deleteData{projectData: pd, Files: files}
	if fn := c.QueryParam("file"); fn != "" {
		for i := range files {
			if files[i].Filename == fn {
				d.File = &files[i]
			}
		}
		if d.File == nil {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("%s %s has no file %q", m.Name, rv.Version, fn))
		}
		d.Files = []fileView{*d.File}
	}
	for _, f := range d.Files {
		d.Bytes += f.Size
	}
	return u.render(c, http.StatusOK, "confirm_delete", "Delete "+m.Display+" "+rv.Version, d)
}

// deleteRelease answers POST /project/NAME/VERSION/delete (form: file,
// for one file; none for the whole release), through admin.Service, which
// reclaims the blobs no other file uses.
func (u *UI) deleteRelease(c echo.Context, v *visitor) error {
	name, err := u.actionProject(c, v)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	version := versionParam(c)
	if fn := c.Request().PostFormValue("file"); fn != "" {
		if _, err := u.admin.DeleteFile(ctx, name, version, fn, v.actor(c)); err != nil {
			return err
		}
		// The release page, unless that was its last file.
		if m, err := u.model(ctx, name); err == nil {
			if _, rv, _ := findRelease(m, version); rv != nil {
				return c.Redirect(http.StatusSeeOther, u.prefix+"/project/"+name+"/"+url.PathEscape(rv.Version)+"/")
			}
		}
		return c.Redirect(http.StatusSeeOther, u.prefix+"/project/"+name+"/")
	}
	if _, err := u.admin.DeleteRelease(ctx, name, version, v.actor(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/project/"+name+"/")
}
