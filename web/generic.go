package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Generic packages' pages live under /packages/generic/NAME/: /generic/ is
// the files' own (downloads and uploads), and a generic package may share
// its name with a project, so it cannot live under /project/.

// genericData is what generic.html and confirm_generic_delete.html show.
type genericData struct {
	index.GenericPackage
	Versions []genericVersionView
	Owners   []string
	Base     string // the server's URL, for the curl commands
	Manage   bool   // the visitor may delete here
	// Example is the file name the curl commands show: the latest
	// version's first file, or a placeholder.
	Example string
	// ExampleVersion is the version the upload command shows.
	ExampleVersion string
	// Private: reads take a credential, so the download command has -u.
	Private bool
	Notice  string // a delete done

	// On the confirmation page: the version, and the file (nil: all of
	// the version's).
	Version *genericVersionView
	File    *genericFileView
	Doomed  []genericFileView
	Bytes   int64
}

// genericVersionView is one version of a generic package.
type genericVersionView struct {
	index.GenericVersion
	Pre    bool
	Dev    bool
	Latest bool
	Files  []genericFileView
}

// genericFileView is one file, with its download URL.
type genericFileView struct {
	index.GenericFile
	URL string
}

// genericPath is the path of a generic package's page below the prefix.
func genericPath(name string) string { return "/packages/generic/" + name + "/" }

// genericFileURL is the download URL of a generic file.
func (u *UI) genericFileURL(name, version, filename string) string {
	return u.prefix + "/generic/" + name + "/" + httpx.EscapeFilename(version) + "/" + httpx.EscapeFilename(filename)
}

// genericParam returns the normalized generic package name of the path; a
// name that is not normalized is redirected to its normal form when
// redirect is set (rest follows it), a name that cannot be a package is a
// 404.
func (u *UI) genericParam(c echo.Context, rest string, redirect bool) (name string, redirected bool, err error) {
	raw := c.Param("name")
	if p, err := url.PathUnescape(raw); err == nil {
		raw = p
	}
	if !index.ValidGenericName(raw) {
		return "", false, echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No generic package named %q", raw))
	}
	name = pep503.Normalize(raw)
	if redirect && (name != raw || (c.Param("version") == "" && !strings.HasSuffix(c.Request().URL.Path, "/"))) {
		return name, true, c.Redirect(http.StatusMovedPermanently, u.prefix+genericPath(name)+rest)
	}
	return name, false, nil
}

// mayManageGeneric reports whether the visitor may delete from the generic
// package name: logged in, and allowed by the rule the API's deletes
// follow (index.Catalog.AuthorizeGeneric: an owner or an admin).
func (u *UI) mayManageGeneric(ctx context.Context, v *visitor, name string) (bool, error) {
	if v.session == nil {
		return false, nil
	}
	err := u.cat.AuthorizeGeneric(ctx, v.principal(), name)
	if errors.Is(err, index.ErrForbidden) {
		return false, nil
	}
	return err == nil, err
}

// genericData reads the generic package name for the visitor (who may
// read it). It returns a 404 for an unknown package.
func (u *UI) genericData(c echo.Context, v *visitor, name string) (*genericData, error) {
	ctx := c.Request().Context()
	g, versions, err := u.cat.GenericVersions(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return nil, echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No generic package named %q here", name))
	}
	if err != nil {
		return nil, err
	}
	d := &genericData{GenericPackage: g, Base: u.base, Private: u.auth.PrivateReads(), Example: "FILE", ExampleVersion: "VERSION"}
	if d.Base == "" {
		d.Base = u.requestBase(c)
	}
	for _, gv := range versions {
		pv := gv.Parsed()
		_, _, pre := pv.Pre()
		vv := genericVersionView{GenericVersion: gv, Pre: pre, Dev: pv.IsDevrelease(), Latest: gv.Version == g.Latest}
		for _, f := range gv.Files {
			vv.Files = append(vv.Files, genericFileView{GenericFile: f, URL: u.genericFileURL(g.Name, gv.Version, f.Filename)})
		}
		if vv.Latest && len(vv.Files) > 0 {
			d.Example, d.ExampleVersion = vv.Files[0].Filename, gv.Version
		}
		d.Versions = append(d.Versions, vv)
	}
	if d.Owners, err = u.cat.GenericOwners(ctx, g.Name); err != nil {
		return nil, err
	}
	if d.Manage, err = u.mayManageGeneric(ctx, v, g.Name); err != nil {
		return nil, err
	}
	return d, nil
}

// genericPage answers /packages/generic/NAME/: the versions, newest first
// by PEP 440, with their files and the curl commands.
func (u *UI) genericPage(c echo.Context, v *visitor) error {
	name, redirected, err := u.genericParam(c, queryOf(c), true)
	if redirected || err != nil {
		return err
	}
	if err := u.auth.Read(v.result, name); err != nil {
		return err
	}
	d, err := u.genericData(c, v, name)
	if err != nil {
		return err
	}
	d.Notice = noticeOf(c)
	return u.render(c, http.StatusOK, "generic", d.DisplayName+" (generic)", d)
}

// genericTarget finds the version of the path (and the file of the
// "file" value, when set) in d; a 404 when there is none.
func genericTarget(d *genericData, version, file string) error {
	pv, err := pep440.Parse(version)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("%s has no version %q", d.Name, version))
	}
	for i := range d.Versions {
		if d.Versions[i].Parsed().Canonical() == pv.Canonical() {
			d.Version = &d.Versions[i]
		}
	}
	if d.Version == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("%s has no version %q", d.Name, version))
	}
	d.Doomed = d.Version.Files
	if file != "" {
		for i := range d.Version.Files {
			if d.Version.Files[i].Filename == file {
				d.File = &d.Version.Files[i]
			}
		}
		if d.File == nil {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("%s %s has no file %q", d.Name, d.Version.Version, file))
		}
		d.Doomed = []genericFileView{*d.File}
	}
	for _, f := range d.Doomed {
		d.Bytes += f.Size
	}
	return nil
}

// confirmGenericDelete answers GET /packages/generic/NAME/VERSION/delete
// [?file=F]: what would be deleted, and the button that deletes it.
// Nothing changes.
func (u *UI) confirmGenericDelete(c echo.Context, v *visitor) error {
	version := versionParam(c)
	name, redirected, err := u.genericParam(c, url.PathEscape(version)+"/delete"+queryOf(c), true)
	if redirected || err != nil {
		return err
	}
	if err := u.auth.Read(v.result, name); err != nil {
		return err
	}
	if v.session == nil {
		return index.Errorf(index.ErrUnauthenticated, "log in")
	}
	d, err := u.genericData(c, v, name)
	if err != nil {
		return err
	}
	if !d.Manage {
		return index.Errorf(index.ErrForbidden, "Only the owners of generic package '%s' and admins may delete from it", name)
	}
	if err := genericTarget(d, version, c.QueryParam("file")); err != nil {
		return err
	}
	return u.render(c, http.StatusOK, "confirm_generic_delete", "Delete "+d.DisplayName+" "+d.Version.Version, d)
}

// deleteGeneric answers POST /packages/generic/NAME/VERSION/delete (form:
// file, for one file; none for the whole version) through
// admin.Service.DeleteGeneric, the API's delete, which reclaims the blobs
// no other file uses and audits every file.
func (u *UI) deleteGeneric(c echo.Context, v *visitor) error {
	name, _, err := u.genericParam(c, "", false)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ok, err := u.mayManageGeneric(ctx, v, name)
	if err != nil {
		return err
	}
	if !ok {
		return index.Errorf(index.ErrForbidden, "%s may not delete from generic package '%s': only its owners and admins may", v.User(), name)
	}
	version, file := versionParam(c), c.Request().PostFormValue("file")
	if _, err := u.admin.DeleteGeneric(ctx, name, version, file, v.actor(c)); err != nil {
		if errors.Is(err, index.ErrNotFound) {
			what := "version " + version
			if file != "" {
				what = "file " + file + " in version " + version
			}
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("Generic package %s has no %s", name, what))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+genericPath(name)+"?done=generic-deleted")
}
