package generic

import (
	"context"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/upload"
)

// RouteFile is the route template of a generic file, for uploads (PUT)
// and downloads (GET, HEAD) alike.
const RouteFile = "/generic/:name/:version/:file"

// Routes returns the download route, which both transports serve: a
// stored file is sent as any blob (httpx.BlobReply: Content-Length, ETag,
// Range, HEAD, immutable caching, sendfile or a presigned redirect); a
// "latest" URL redirects, which the fast lane leaves to echo.
func (s *Service) Routes() []httpx.Route {
	return []httpx.Route{{Path: RouteFile, Lookup: s.download}}
}

// Register adds the upload and download routes to g (the server root). It
// panics when the service was built without Deps.Auth.
func (s *Service) Register(g *echo.Group) {
	if s.auth == nil {
		panic("generic: Register needs Deps.Auth")
	}
	for _, r := range s.Routes() {
		g.Match([]string{http.MethodGet, http.MethodHead}, r.Path, httpx.Handler(r, s.auth.FromContext))
	}
	g.PUT(RouteFile, s.put, s.up.Throttle)
	// A POST (a form upload) or a PUT to a folder is not how this API works.
	notAllowed := func(c echo.Context) error {
		c.Response().Header().Set("Allow", "GET, HEAD, PUT")
		return echo.NewHTTPError(http.StatusMethodNotAllowed, "Method Not Allowed: upload a generic file with PUT /generic/NAME/VERSION/FILE (curl -T FILE URL)")
	}
	g.Match([]string{http.MethodPost, http.MethodPatch}, RouteFile, notAllowed)
}

// ChecksumHeader carries the SHA-256 a client declares for the body.
const ChecksumHeader = "X-Checksum-Sha256"

// uploadReply is the JSON answer to an accepted upload.
type uploadReply struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	URL      string `json:"url"`
	// Created is false for a retried upload of bytes already recorded.
	Created bool `json:"created"`
}

// put is PUT /generic/NAME/VERSION/FILE: everything that can be refused
// without the body is refused before it is read (credentials, path,
// ownership, checksum syntax); then the body is spooled and Add records
// it. 201 for a new file, 200 for the same bytes again.
func (s *Service) put(c echo.Context) error {
	p, err := s.auth.Require(c, index.ScopeUpload)
	if err != nil {
		return err
	}
	gp, err := ParsePath(httpx.Param(c, "name"), httpx.Param(c, "version"), httpx.Param(c, "file"), false)
	if err != nil {
		return err
	}
	req := c.Request()
	ctx := req.Context()
	if err := s.cat.AuthorizeGeneric(ctx, p, gp.Name); err != nil {
		return err
	}
	sum := strings.TrimSpace(req.Header.Get(ChecksumHeader))
	if sum != "" {
		if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
			return index.Errorf(index.ErrInvalid, "%s must be 64 hexadecimal digits (a SHA-256)", ChecksumHeader)
		}
	}
	// A file already recorded under the name, with a declared checksum,
	// is answered without reading the body (a retried job of a large
	// bundle; curl waits for 100 Continue): the same digest changes
	// nothing, another is a conflict. Without a checksum the body is read
	// and compared (Add).
	if sum != "" {
		old, err := s.cat.GenericFile(ctx, gp.Name, gp.Version, gp.Filename)
		switch {
		case err == nil && strings.EqualFold(old.SHA256, sum):
			s.metrics.uploaded(old.Size, true)
			return s.reply(c, Result{File: old, Identical: true})
		case err == nil:
			return existsError(old)
		case !errors.Is(err, index.ErrNotFound):
			return err
		}
	}
	tmp, err := s.up.SpoolBody(c)
	if err != nil {
		return upload.HTTPError(c, err)
	}
	defer tmp.Close()
	res, err := s.Add(ctx, p, Upload{Path: gp, Content: tmp, Checksum: sum, RemoteAddr: c.RealIP()})
	if err != nil {
		return upload.HTTPError(c, err)
	}
	return s.reply(c, res)
}

// reply answers an accepted upload: 201 and the file's JSON, or 200 for
// bytes already recorded.
func (s *Service) reply(c echo.Context, res Result) error {
	req := c.Request()
	f := res.File
	fp := Path{Name: f.Name, Version: f.Version, Filename: f.Filename}
	rep := uploadReply{Name: f.Name, Version: f.Version, Filename: f.Filename, Size: f.Size, SHA256: f.SHA256,
		URL: s.URL(c.Scheme(), req.Host, fp), Created: !res.Identical}
	code := http.StatusCreated
	if res.Identical {
		code = http.StatusOK
	}
	c.Response().Header().Set("Location", s.prefix+fp.URLPath())
	return c.JSON(code, rep)
}

// latestCacheControl keeps caches from holding on to a "latest" redirect:
// its target changes with the next upload.
var latestCacheControl = []string{"no-cache"}

// download answers GET and HEAD of a generic file, and the "latest"
// redirect. A path that cannot name a file is a 404, as an unknown one
// is; reads follow the index's auth settings, by the package name.
func (s *Service) download(ctx context.Context, req *httpx.Request, params []string, rep *httpx.Reply) error {
	declined := func(err error) error {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		return err
	}
	gp, err := ParsePath(params[0], params[1], params[2], true)
	if err != nil {
		if err := s.auth.Read(req.Auth, ""); err != nil {
			return declined(err)
		}
		return declined(index.Errorf(index.ErrNotFound, "Not Found"))
	}
	if err := s.auth.Read(req.Auth, gp.Name); err != nil {
		return declined(err)
	}
	if gp.IsLatest() {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		q, _ := url.ParseQuery(req.Query)
		pre := q.Get("pre") == "1" || q.Get("pre") == "true"
		f, err := s.cat.LatestGenericFile(ctx, gp.Name, gp.Filename, pre)
		if errors.Is(err, index.ErrNotFound) {
			return index.Errorf(index.ErrNotFound, "No version of %s has a file %s", gp.Name, gp.Filename)
		}
		if err != nil {
			return err
		}
		rep.Status = http.StatusFound
		rep.Add("Location", []string{s.prefix + Path{Name: f.Name, Version: f.Version, Filename: f.Filename}.URLPath()})
		rep.Add("Cache-Control", latestCacheControl)
		return nil
	}
	f, err := s.cat.GenericFile(ctx, gp.Name, gp.Version, gp.Filename)
	if errors.Is(err, index.ErrNotFound) {
		return declined(index.Errorf(index.ErrNotFound, "Not Found"))
	}
	if err != nil {
		return declined(err)
	}
	b := httpx.Blob{Key: f.BlobKey, SHA256: f.SHA256, ContentType: contentType(f.Filename), ModTime: f.UploadTime, Name: f.Filename}
	return httpx.BlobReply(ctx, s.store, s.log, req, b, rep)
}

// contentType is the type of a file by its extension, and
// application/octet-stream for anything unknown or textual (a generic
// file is sent as stored, never rendered by a browser).
func contentType(filename string) string {
	t := mime.TypeByExtension(path.Ext(filename))
	if t == "" || strings.HasPrefix(t, "text/") || strings.Contains(t, "html") || strings.Contains(t, "xml") || strings.Contains(t, "javascript") {
		return "application/octet-stream"
	}
	return t
}
