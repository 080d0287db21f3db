package httpx

import (
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// Param returns an echo path parameter, percent-decoded (echo hands out
// the raw segment when the path had escapes).
func Param(c echo.Context, name string) string {
	v := c.Param(name)
	if strings.Contains(v, "%") {
		if d, err := url.PathUnescape(v); err == nil {
			return d
		}
	}
	return v
}

// EscapeFilename percent-encodes a filename for a URL path segment, '+'
// included (local versions contain it, and some stores treat it as space).
func EscapeFilename(fn string) string {
	return strings.ReplaceAll(url.PathEscape(fn), "+", "%2B")
}
