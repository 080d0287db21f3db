package index

import (
	"context"
	"net/http"
	"strings"

	"github.com/pyindex/pyindex/index/fastlane"
	"github.com/pyindex/pyindex/index/pep503"
)

// Route templates of the pages the fast lane answers; the metrics label
// them as echo labels the same routes.
const (
	RouteRoot    = "/simple/"
	RouteProject = "/simple/:project/"
)

// FastPage answers a simple-page request for the fast lane (package
// fastlane) when the answer is already rendered: /simple/ or a hosted
// project's /simple/NAME/ under its normalized name, in a server that lets
// anyone read. It writes the same status, headers and body as the echo
// route would (servePage builds both from one pageReply) and returns false
// for everything else: a page not yet rendered, a mirrored or merged
// project, a name to redirect, a 404, private mode.
func (h *Handler) FastPage(req *fastlane.Request, rep *fastlane.Reply) bool {
	if h.auth != nil && !h.auth.Config().AnonymousRead {
		return false
	}
	rest, ok := strings.CutPrefix(req.Path, "/simple/")
	if !ok {
		return false
	}
	f := Negotiate(req.Accept, "")
	ctx := context.Background()
	var key pageKey
	if rest == "" {
		serial, err := h.cat.Serial(ctx)
		if err != nil {
			return false
		}
		key = pageKey{serial: serial, json: f.JSON(), source: 'h'}
		rep.Route = RouteRoot
	} else {
		name, ok := strings.CutSuffix(rest, "/")
		if !ok || !pep503.Valid(name) || pep503.Normalize(name) != name {
			return false
		}
		serial, err := h.cat.ProjectSerial(ctx, name)
		if err != nil || h.upstream != nil && h.upstream.Merge(name) {
			return false
		}
		key = pageKey{name: name, serial: serial, json: f.JSON(), source: 'h'}
		rep.Route = RouteProject
	}
	p := h.cache.get(key)
	if p == nil {
		return false
	}
	r := h.pageReply(f, p, key.serial, req.AcceptEncoding, req.IfNoneMatch)
	r.fields(func(name string, value []string) { rep.Add(name, value[0]) })
	rep.Status = http.StatusOK
	if r.notModified {
		rep.Status = http.StatusNotModified
	}
	rep.Body = r.body
	return true
}
