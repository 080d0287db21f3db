package web

import "github.com/labstack/echo/v4"

// notices are the messages a page shows after an action redirected to it
// with ?done=CODE. The link carries only the code: a crafted link can pick
// one of these fixed messages, never write its own text.
var notices = map[string]string{
	"owner-added":     "Owner added.",
	"owner-removed":   "Owner removed.",
	"user-added":      "User added.",
	"user-removed":    "User removed.",
	"password-set":    "Password changed; the user's sessions ended.",
	"token-revoked":   "Token revoked.",
	"generic-deleted": "Deleted.",
}

// noticeOf returns the notice of the request's done code ("" for none or
// an unknown code).
func noticeOf(c echo.Context) string { return notices[c.QueryParam("done")] }
