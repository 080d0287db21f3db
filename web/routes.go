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
func (u *UI) Register(g *echo.Group) {
	g.GET("/assets/:name", u.asset)
	g.GET("/projects", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, u.prefix+"/projects/"+queryOf(c))
	})
	g.GET("/projects/", u.page(false, u.projectList))
	g.GET("/project/:name", u.page(false, u.projectPage))
	g.GET("/project/:name/", u.page(false, u.projectPage))
	g.POST("/project/:name/owners/add", u.action(u.changeOwner(true)))
	g.POST("/project/:name/owners/remove", u.action(u.changeOwner(false)))
	g.GET("/project/:name/:version", u.page(false, u.releasePage))
	g.GET("/project/:name/:version/", u.page(false, u.releasePage))
	g.POST("/project/:name/:version/yank", u.action(u.yank))
	g.POST("/project/:name/:version/unyank", u.action(u.unyank))
	g.GET("/project/:name/:version/delete", u.page(false, u.confirmDelete))
	g.POST("/project/:name/:version/delete", u.action(u.deleteRelease))

	g.GET("/packages/generic/:name", u.page(false, u.genericPage))
	g.GET("/packages/generic/:name/", u.page(false, u.genericPage))
	g.GET("/packages/generic/:name/:version/delete", u.page(false, u.confirmGenericDelete))
	g.POST("/packages/generic/:name/:version/delete", u.action(u.deleteGeneric))

	g.GET("/login", u.page(true, u.loginForm))
	g.POST("/login", u.login)
	g.POST("/logout", u.action(u.logout))

	g.GET("/manage/prune", u.page(false, u.ownerOrAdmin(u.prunePage)))
	g.POST("/manage/prune", u.action(u.ownerOrAdmin(u.prune)))
	g.GET("/manage/audit", u.page(false, u.ownerOrAdmin(u.auditPage)))
	g.GET("/manage/users", u.page(false, u.adminOnly(u.usersPage)))
	g.POST("/manage/users", u.action(u.adminOnly(u.addUser)))
	g.POST("/manage/users/:user/remove", u.action(u.adminOnly(u.removeUser)))
	g.POST("/manage/users/:user/password", u.action(u.adminOnly(u.setPassword)))
	g.GET("/manage/tokens", u.page(false, u.adminOnly(u.tokensPage)))
	g.POST("/manage/tokens", u.action(u.adminOnly(u.createToken)))
	g.POST("/manage/tokens/:id/revoke", u.action(u.adminOnly(u.revokeToken)))
}

func queryOf(c echo.Context) string {
	if q := c.Request().URL.RawQuery; q != "" {
		return "?" + q
	}
	return ""
}
