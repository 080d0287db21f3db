package mirror

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/fastlane"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
)

// BlobServer serves a stored blob over HTTP (index.Handler does, with
// Range, HEAD and conditional requests).
type BlobServer interface {
	ServeBlob(c echo.Context, key, sha256, ctype string, modtime time.Time) error
}

// plainBlobServer is the fallback when no BlobServer is given.
type plainBlobServer struct{ store storage.Store }

func (p plainBlobServer) ServeBlob(c echo.Context, key, sha256, ctype string, modtime time.Time) error {
	rc, _, err := p.store.Open(c.Request().Context(), key)
	if err != nil {
		return err
	}
	defer rc.Close()
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, ctype)
	hdr.Set("ETag", `"`+sha256+`"`)
	hdr.Set("Cache-Control", "max-age=365000000, immutable, public")
	http.ServeContent(c.Response(), c.Request(), "", modtime, rc)
	return nil
}

const fileType = "application/octet-stream"

func modTime(f *index.MirrorFile) time.Time {
	if !f.UploadTime.IsZero() {
		return f.UploadTime
	}
	return f.CachedAt
}

// FastBlobServer is a BlobServer that can also fill in a fast lane reply
// (index.Handler.FastBlob).
type FastBlobServer interface {
	FastBlob(req *fastlane.Request, rep *fastlane.Reply, key, sha256, ctype string, modtime time.Time) bool
}

// RouteFile is the route template of mirrored files.
const RouteFile = "/mirror/files/:project/:filename"

// FastFile answers, for the fast lane, a plain GET or HEAD of a mirrored
// distribution file, or of its PEP 658 metadata, that is already in
// storage, as serveFile would: the same checks (a file of a cached page,
// not in cooldown) and, through the blob server, the same headers.
// Everything else (a file or metadata to fetch, a read p may not make,
// Range) is left to serveFile. p is the request's principal
// (index.Auth.FastPrincipal).
func (m *Mirror) FastFile(req *fastlane.Request, rep *fastlane.Reply, p index.Principal) bool {
	fb, ok := m.blobs.(FastBlobServer)
	if !ok || m.auth == nil || req.Conditional || req.IfNoneMatch != "" {
		return false
	}
	rest, ok := strings.CutPrefix(req.Path, "/mirror/files/")
	if !ok {
		return false
	}
	project, filename, ok := strings.Cut(rest, "/")
	if !ok || filename == "" || strings.Contains(filename, "/") || !pep503.Valid(project) {
		return false
	}
	filename, meta := strings.CutSuffix(filename, ".metadata")
	name := pep503.Normalize(project)
	if !m.auth.FastCanRead(p, name) {
		return false
	}
	f, ok, err := m.lookupFile(context.Background(), name, filename)
	if err != nil || !ok {
		return false
	}
	if cutoff, cool := m.cutoff(name); cool && cooling(&f, cutoff) {
		return false
	}
	rep.Route = RouteFile
	kind, key, sum := kindFile, f.BlobKey, f.SHA256
	if meta {
		// serveMetadata's two stored forms: extracted from the cached
		// wheel, or fetched from the upstream's own .metadata file.
		kind, key, sum = kindMetadata, f.MetadataKey, f.MetadataSHA256
		if key == "" && f.UpstreamMetadata != "" {
			key, sum = storage.Key(f.UpstreamMetadata), f.UpstreamMetadata
		}
	}
	if key == "" || !fb.FastBlob(req, rep, key, sum, fileType, modTime(&f)) {
		return false
	}
	m.m.lookup(kind, resultHit)
	return true
}

// serveFile serves a file of a cached page (or its PEP 658 metadata):
// from storage when cached, else fetched once from the upstream.
func (m *Mirror) serveFile(c echo.Context) error {
	name, ok := projectParam(c)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	if err := m.auth.RequireRead(c, name); err != nil {
		return err
	}
	filename := param(c, "filename")
	filename, meta := strings.CutSuffix(filename, ".metadata")
	ctx := c.Request().Context()
	// Only files listed on a cached page are fetched: never an open proxy.
	// A hosted name never serves upstream files unless merged.
	f, ok, err := m.lookupFile(ctx, name, filename)
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	if cutoff, cool := m.cutoff(name); cool && cooling(&f, cutoff) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found (this file is in the mirror's cooldown, mirror.min_age)")
	}
	if meta {
		return m.serveMetadata(c, name, f)
	}
	if f.BlobKey != "" {
		if served, err := m.serveStored(c, f.BlobKey, f.SHA256, modTime(&f)); served {
			m.m.lookup(kindFile, resultHit)
			return err
		}
		m.log.Warn("cached mirror file missing from storage; fetching it again", "project", name, "file", filename)
	}
	if m.cfg.Offline {
		m.m.lookup(kindFile, resultOffline)
		return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: "this mirror is offline and has no copy of " + filename}
	}
	m.m.lookup(kindFile, resultMiss)
	var tee *clientTee
	if c.Request().Method == http.MethodGet && c.Request().Header.Get("Range") == "" {
		tee = &clientTee{w: c.Response()}
	}
	var res singleflightResult
	for attempt := 0; ; attempt++ {
		ch := m.files.DoChan(name+"/"+filename, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.FileTimeout)
			defer cancel()
			return m.fetchFile(ctx, name, f, tee)
		})
		select {
		case <-ctx.Done():
			if tee != nil {
				tee.finish(false)
			}
			return ctx.Err()
		case r := <-ch:
			res = singleflightResult{r.Val, r.Err}
		}
		// A client's own download is never cancelled (WithoutCancel):
		// Canceled means it joined one of an interrupted mirror sync, and
		// fetches the file itself instead.
		if res.err != nil && errors.Is(res.err, context.Canceled) && (tee == nil || !tee.claimed()) && attempt < 3 {
			continue
		}
		break
	}
	if tee != nil && tee.claimed() {
		wrote := tee.finish(res.err == nil)
		if res.err == nil {
			return nil // streamed to this client while stored
		}
		if wrote {
			// The client has part of a bad file: break the connection so
			// that it cannot take it for the whole.
			m.log.Error("upstream file download failed after streaming began", "project", name, "file", filename, "err", res.err)
			panic(http.ErrAbortHandler)
		}
	}
	if res.err != nil {
		return res.err
	}
	cf := res.val.(index.MirrorFile)
	return m.blobs.ServeBlob(c, cf.BlobKey, cf.SHA256, fileType, modTime(&cf))
}

type singleflightResult struct {
	val any
	err error
}

// fetchFile downloads f from the upstream into the store, teeing the bytes
// to tee (the first requester) when not nil, verifies every hash the page
// gave, records the cached copy (with the METADATA of a wheel when the
// upstream offers none) and returns the updated file.
func (m *Mirror) fetchFile(ctx context.Context, project string, f index.MirrorFile, tee *clientTee) (index.MirrorFile, error) {
	want := f.Hashes["sha256"]
	if want != "" {
		// Content-addressed: the bytes may be here already (a hosted file,
		// another project).
		if info, err := m.store.Stat(ctx, storage.Key(want)); err == nil {
			return m.record(ctx, project, f, storage.Key(want), want, info.Size)
		}
	}
	resp, err := m.client.file(ctx, kindFile, f.URL)
	if err != nil {
		m.countError(kindFile, err)
		return f, err
	}
	defer resp.Body.Close()
	size := resp.ContentLength
	if size >= 0 && f.Size > 0 && size != f.Size {
		m.countError(kindFile, errInvalid{})
		return f, &index.UpstreamError{Status: http.StatusBadGateway,
			Msg: fmt.Sprintf("the upstream sent %d bytes for %s, its page says %d", size, f.Filename, f.Size)}
	}
	if size < 0 && f.Size > 0 {
		size = f.Size
	}
	if tee != nil {
		tee.claim(size, want)
	}
	v := newVerifier(resp.Body, f.Hashes, size, tee)
	var key, sum string
	if want != "" {
		key, sum = storage.Key(want), want
		err = m.store.Put(ctx, key, v, size)
	} else {
		// No sha256 upstream: the key is known only at the end, so the
		// bytes go through a temporary file.
		key, sum, err = m.putUnkeyed(ctx, v)
	}
	m.m.bytes.WithLabelValues(kindFile).Add(float64(v.n))
	switch {
	case v.mismatch != "":
		m.m.upstreamError(kindFile, "hash_mismatch")
		m.log.Error("upstream file does not match its hash; not cached", "project", project, "file", f.Filename, "detail", v.mismatch)
		return f, &index.UpstreamError{Status: http.StatusBadGateway, Msg: "the upstream's " + f.Filename + " does not match the hash on its page; not cached"}
	case v.readErr != nil:
		m.countError(kindFile, transportError(ctx, "file", v.readErr))
		return f, transportError(ctx, "file", v.readErr)
	case err != nil:
		m.m.upstreamError(kindFile, "store")
		return f, fmt.Errorf("store mirrored %s: %w", f.Filename, err)
	}
	return m.record(ctx, project, f, key, sum, v.n)
}

// putUnkeyed stores r under the key of its sha256, through a temporary
// file.
func (m *Mirror) putUnkeyed(ctx context.Context, v *verifier) (string, string, error) {
	tmp, err := os.CreateTemp("", "pyindex-mirror-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, v)
	if err != nil {
		return "", "", err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", "", err
	}
	sum := hex.EncodeToString(v.sha256.Sum(nil))
	key := storage.Key(sum)
	return key, sum, m.store.Put(ctx, key, tmp, n)
}

// record notes the cached copy of f in the catalog, with the METADATA of a
// wheel when the upstream offers no PEP 658 file.
func (m *Mirror) record(ctx context.Context, project string, f index.MirrorFile, key, sum string, size int64) (index.MirrorFile, error) {
	var mkey, msum string
	if f.UpstreamMetadata == "" && strings.HasSuffix(f.Filename, ".whl") {
		mkey, msum = m.extractMetadata(ctx, key, f.Filename)
	}
	now := m.now()
	out, orphans, err := m.cat.UpdateMirrorFile(ctx, project, f.Filename, func(r *index.MirrorFile) {
		r.BlobKey, r.SHA256, r.Size, r.CachedAt = key, sum, size, now
		if r.Hashes == nil {
			r.Hashes = map[string]string{}
		}
		if r.Hashes["sha256"] == "" {
			r.Hashes["sha256"] = sum
		}
		if mkey != "" {
			r.MetadataKey, r.MetadataSHA256 = mkey, msum
		}
	})
	if err != nil {
		return f, err
	}
	m.deleteBlobs(ctx, orphans)
	return out, nil
}

// serveStored serves a cached blob. It reports false, having written
// nothing, when the blob is missing from the store although the catalog
// lists it (removed behind the catalog's back): the caller fetches it
// again.
//
// The blob server finds a missing blob when it opens it, so the store is
// asked first only when it may answer with a presigned URL (S3), which
// would send the client to a missing object.
func (m *Mirror) serveStored(c echo.Context, key, sha256 string, modtime time.Time) (bool, error) {
	ctx := c.Request().Context()
	if _, ok := storage.As[storage.Presigner](m.store); ok {
		if _, err := m.store.Stat(ctx, key); errors.Is(err, storage.ErrNotExist) {
			return false, nil
		} else if err != nil {
			return true, err
		}
	}
	err := m.blobs.ServeBlob(c, key, sha256, fileType, modtime)
	if err == nil || c.Response().Committed {
		return true, err
	}
	var he *echo.HTTPError
	if !errors.Is(err, storage.ErrNotExist) && !(errors.As(err, &he) && he.Code == http.StatusNotFound) {
		return true, err
	}
	// The blob server's 404: make sure it was the blob that is missing.
	if _, serr := m.store.Stat(ctx, key); errors.Is(serr, storage.ErrNotExist) {
		return false, nil
	}
	return true, err
}

// clientTee writes the first requester's response while the file is being
// stored. It holds back the last chunk until the hash is verified, stops
// writing (without failing the download) when the client goes away, and is
// detached once the handler has returned.
type clientTee struct {
	mu       sync.Mutex
	w        *echo.Response
	used     bool
	size     int64
	sha256   string
	started  bool
	detached bool
	failed   bool
	pending  bytes.Buffer
}

// claim marks the tee as used by the download, with the response's size
// (-1 unknown) and sha256 ("" unknown).
func (t *clientTee) claim(size int64, sha256 string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.used, t.size, t.sha256 = true, size, sha256
}

func (t *clientTee) claimed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.used
}

// Write never fails: a client that went away must not stop the download.
func (t *clientTee) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.detached || t.failed {
		return len(p), nil
	}
	if !t.started {
		t.started = true
		hdr := t.w.Header()
		hdr.Set(echo.HeaderContentType, fileType)
		hdr.Set("Cache-Control", "max-age=365000000, immutable, public")
		if t.sha256 != "" {
			hdr.Set("ETag", `"`+t.sha256+`"`)
		}
		if t.size >= 0 {
			hdr.Set(echo.HeaderContentLength, strconv.FormatInt(t.size, 10))
		}
		t.w.WriteHeader(http.StatusOK)
	}
	if t.pending.Len() > 0 {
		if _, err := t.w.Write(t.pending.Bytes()); err != nil {
			t.failed = true
		}
		t.pending.Reset()
	}
	t.pending.Write(p)
	return len(p), nil
}

// finish writes the held-back chunk when ok, detaches the tee, and reports
// whether anything was sent to the client.
func (t *clientTee) finish(ok bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ok && t.started && !t.detached && !t.failed {
		t.w.Write(t.pending.Bytes())
	}
	t.pending.Reset()
	t.detached = true
	return t.started
}
