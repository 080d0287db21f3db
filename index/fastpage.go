package index

import (
	"context"
	"errors"
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
// fastlane) when the answer is already in memory: /simple/, a hosted
// project's /simple/NAME/ under its normalized name, or a mirrored one the
// mirror holds warm (WarmUpstream), in a server that lets anyone read. It
// writes the same status, headers and body as the echo route would
// (servePage builds both from one pageReply) and returns false for
// everything else: a page not yet rendered, a merged project, a name to
// redirect, a 404, a mirror page to fetch or revalidate, private mode.
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
		rep.Route = RouteProject
		serial, err := h.cat.ProjectSerial(ctx, name)
		if errors.Is(err, ErrNotFound) {
			return h.fastUpstreamPage(req, rep, f, name)
		}
		if err != nil || h.upstream != nil && h.upstream.Merge(name) {
			return false
		}
		key = pageKey{name: name, serial: serial, json: f.JSON(), source: 'h'}
	}
	p := h.cache.get(key)
	if p == nil {
		return false
	}
	h.fastReply(req, rep, f, p, key.serial)
	return true
}

// fastUpstreamPage is FastPage for a project only the upstream has, as
// upstreamProject serves it.
func (h *Handler) fastUpstreamPage(req *fastlane.Request, rep *fastlane.Reply, f Format, name string) bool {
	up, ok := h.upstream.(WarmUpstream)
	if !ok {
		return false
	}
	pg, ok := up.WarmPage(name)
	if !ok {
		return false
	}
	key := pageKey{name: name, serial: pg.Serial, json: f.JSON(), source: 'm', variant: pg.Variant}
	p := h.cache.get(key)
	if p == nil {
		p = renderPage(pg, f)
		h.cache.put(key, p)
	}
	h.fastReply(req, rep, f, p, pg.Serial)
	return true
}

// fastReply fills in rep as servePage would answer.
func (h *Handler) fastReply(req *fastlane.Request, rep *fastlane.Reply, f Format, p *page, serial int64) {
	r := h.pageReply(f, p, serial, req.AcceptEncoding, req.IfNoneMatch)
	r.fields(func(name string, value []string) { rep.Add(name, value[0]) })
	rep.Status = http.StatusOK
	if r.notModified {
		rep.Status = http.StatusNotModified
	}
	rep.Body = r.body
}
