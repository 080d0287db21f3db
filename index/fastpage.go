package index

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/fastlane"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
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
// mirror holds warm (WarmUpstream). It writes the same status, headers and
// body as the echo route would (servePage builds both from one pageReply)
// and returns false for everything else: a page not yet rendered, a merged
// project, a name to redirect, a 404, a mirror page to fetch or
// revalidate, a read p may not make. p is the request's principal
// (Auth.FastPrincipal).
func (h *Handler) FastPage(req *fastlane.Request, rep *fastlane.Reply, p Principal) bool {
	rest, ok := strings.CutPrefix(req.Path, "/simple/")
	if !ok {
		return false
	}
	f := Negotiate(req.Accept, "")
	ctx := context.Background()
	var key pageKey
	if rest == "" {
		if !h.auth.FastCanRead(p, "") || h.privateReads() && ownListing(p) != nil {
			return false
		}
		serial, err := h.cat.Serial(ctx)
		if err != nil {
			return false
		}
		key = pageKey{serial: serial, json: f.JSON(), source: 'h'}
		rep.Route = RouteRoot
	} else {
		name, ok := strings.CutSuffix(rest, "/")
		if !ok || !pep503.Valid(name) || pep503.Normalize(name) != name || !h.auth.FastCanRead(p, name) {
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
	pg := h.cache.get(key)
	if pg == nil {
		return false
	}
	h.fastReply(req, rep, f, pg, key.serial)
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
	h.fastReply(req, rep, f, h.upstreamRendering(pg, f, name), pg.Serial)
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

// RouteHostedFile is the route template of hosted files.
const RouteHostedFile = "/files/:sha256/:filename"

// FastFile answers a plain GET or HEAD of a hosted distribution file, or
// of its PEP 658 metadata, for the fast lane, as the echo route (file,
// ServeBlob) answers it when the request has no Range or conditional
// header: the same headers, and the bytes with sendfile. Private mode, a
// presigning store, a read p may not make and anything not found are left
// to the echo route.
func (h *Handler) FastFile(req *fastlane.Request, rep *fastlane.Reply, p Principal) bool {
	if req.Conditional || req.IfNoneMatch != "" || !h.auth.FastCanRead(p, "") {
		return false
	}
	rest, ok := strings.CutPrefix(req.Path, "/files/")
	if !ok {
		return false
	}
	sum, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return false
	}
	name, meta := strings.CutSuffix(name, ".metadata")
	f, err := h.fileRow(context.Background(), name)
	if err != nil || f.SHA256 != sum || !h.auth.FastCanRead(p, f.Project) {
		return false
	}
	key, etag := f.BlobKey, f.SHA256
	if meta {
		key, etag = f.MetadataKey, f.MetadataSHA256
	}
	if key == "" {
		return false
	}
	rep.Route = RouteHostedFile
	return h.FastBlob(req, rep, key, etag, "application/octet-stream", f.UploadTime)
}

// FastBlob fills in rep with a stored blob as ServeBlob serves it to a
// request without Range or conditional headers (http.ServeContent's 200):
// false when the store presigns URLs or the blob cannot be opened.
func (h *Handler) FastBlob(req *fastlane.Request, rep *fastlane.Reply, key, sha256, ctype string, modtime time.Time) bool {
	if req.Conditional || req.IfNoneMatch != "" {
		return false
	}
	if _, ok := storage.As[storage.Presigner](h.store); ok {
		return false
	}
	rc, info, err := h.store.Open(context.Background(), key)
	if err != nil {
		return false
	}
	rep.Status = http.StatusOK
	rep.Add("Accept-Ranges", "bytes")
	rep.Add("Access-Control-Allow-Origin", "*")
	rep.Add("Cache-Control", "max-age=365000000, immutable, public")
	rep.Add("Content-Length", strconv.FormatInt(info.Size, 10))
	rep.Add("Content-Type", ctype)
	rep.Add("Etag", `"`+sha256+`"`)
	if !modtime.IsZero() && !modtime.Equal(time.Unix(0, 0)) {
		rep.Add("Last-Modified", modtime.UTC().Format(http.TimeFormat))
	}
	rep.File, rep.FileSize = rc, info.Size
	return true
}
