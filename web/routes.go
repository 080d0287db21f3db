package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Register adds the web interface's routes to g (the server root). Pages
// are GETs that change nothing; every change is a POST through action
// (session and CSRF token checked) or the login form (its own token).
//
// Project owners are listed on the project page and managed there
// (/project/NAME/owners). Generic packages join the project list
// (listing.refresh) and have their pages under /packages/generic/NAME/:
// /generic/ is their files' (package generic), and a generic package may
// share its name with a project.
//
// Every page answers HEAD as it answers GET, without the body.
func (u *UI) Register(g *echo.Group) {
	gr := getter{g}
	gr.GET("/assets/:name", u.asset)
	gr.GET("/projects", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, u.prefix+"/projects/"+queryOf(c))
	})
	gr.GET("/projects/", u.page(false, u.projectList))
	gr.GET("/project/:name", u.page(false, u.projectPage))
	gr.GET("/project/:name/", u.page(false, u.projectPage))
	g.POST("/project/:name/owners/add", u.action(u.changeOwner(true)))
	g.POST("/project/:name/owners/remove", u.action(u.changeOwner(false)))
	gr.GET("/project/:name/:version", u.page(false, u.releasePage))
	gr.GET("/project/:name/:version/", u.page(false, u.releasePage))
	g.POST("/project/:name/:version/yank", u.action(u.yank))
	g.POST("/project/:name/:version/unyank", u.action(u.unyank))
	gr.GET("/project/:name/:version/delete", u.page(false, u.confirmDelete))
	g.POST("/project/:name/:version/delete", u.action(u.deleteRelease))

	gr.GET("/packages/generic/:name", u.page(false, u.genericPage))
	gr.GET("/packages/generic/:name/", u.page(false, u.genericPage))
	gr.GET("/packages/generic/:name/:version/delete", u.page(false, u.confirmGenericDelete))
	g.POST("/packages/generic/:name/:version/delete", u.action(u.deleteGeneric))

	gr.GET("/login", u.page(true, u.loginForm))
	g.POST("/login", u.login)
	g.POST("/logout", u.action(u.logout))

	gr.GET("/manage/prune", u.page(false, u.ownerOrAdmin(u.prunePage)))
	g.POST("/manage/prune", u.action(u.ownerOrAdmin(u.prune)))
	gr.GET("/manage/audit", u.page(false, u.ownerOrAdmin(u.auditPage)))
	gr.GET("/manage/users", u.page(false, u.adminOnly(u.usersPage)))
	g.POST("/manage/users", u.action(u.adminOnly(u.addUser)))
	g.POST("/manage/users/:user/remove", u.action(u.adminOnly(u.removeUser)))
	g.POST("/manage/users/:user/password", u.action(u.adminOnly(u.setPassword)))
	gr.GET("/manage/tokens", u.page(false, u.adminOnly(u.tokensPage)))
	g.POST("/manage/tokens", u.action(u.adminOnly(u.createToken)))
	g.POST("/manage/tokens/:id/revoke", u.action(u.adminOnly(u.revokeToken)))
}

func queryOf(c echo.Context) string {
	if q := c.Request().URL.RawQuery; q != "" {
		return "?" + q
	}
	return ""
}

// getter registers a page for GET and HEAD: net/http sends no body for a
// HEAD, and the headers (status, type, length, security headers) are the
// GET's.
type getter struct{ g *echo.Group }

func (r getter) GET(path string, h echo.HandlerFunc) {
	r.g.GET(path, h)
	r.g.HEAD(path, h)
}
