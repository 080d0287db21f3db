package mirror

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
)

const fileType = "application/octet-stream"

func modTime(f *index.MirrorFile) time.Time {
	if !f.UploadTime.IsZero() {
		return f.UploadTime
	}
	return f.CachedAt
}

// RouteFile is the route template of mirrored files.
const RouteFile = "/mirror/files/:project/:filename"

// Routes returns the mirror's route that the fast lane also serves:
// RouteFile, for files (and PEP 658 metadata) already in storage. echo
// serves the same route with serveFile, which asks the same lookup and
// fetches from the upstream what it does not have.
func (m *Mirror) Routes() []httpx.Route {
	return []httpx.Route{{Path: RouteFile, Lookup: m.storedFile}}
}

// errNotStored is storedFile's answer when the file must be fetched; it
// comes as a *notStored with what was located.
var errNotStored = errors.New("mirror file not stored")

// notStored is the errNotStored of one located file.
type notStored struct {
	name string // the normalized project
	f    index.MirrorFile
	meta bool
}

func (e *notStored) Error() string        { return errNotStored.Error() }
func (e *notStored) Is(target error) bool { return target == errNotStored }

// locate finds the file a request for /mirror/files/PROJECT/FILENAME
// names (".metadata" cut off: meta): a file of a cached page (never an
// open proxy; a hosted name never serves upstream files unless merged),
// that r may read, not in cooldown.
func (m *Mirror) locate(ctx context.Context, r auth.Result, project, filename string) (name string, f index.MirrorFile, meta bool, err error) {
	if !pep503.Valid(project) {
		return "", f, false, index.ErrNotFound
	}
	name = pep503.Normalize(project)
	if err := m.auth.Read(r, name); err != nil {
		return "", f, false, err
	}
	filename, meta = strings.CutSuffix(filename, ".metadata")
	f, ok, err := m.lookupFile(ctx, name, filename)
	if err != nil {
		return "", f, false, err
	}
	if !ok {
		return "", f, false, index.ErrNotFound
	}
	if cutoff, cool := m.cutoff(name); cool && cooling(&f, cutoff) {
		return "", f, false, index.Errorf(index.ErrNotFound, "Not Found (this file is in the mirror's cooldown, mirror.min_age)")
	}
	return name, f, meta, nil
}

// storedFile answers RouteFile from storage: the cached file, or its PEP
// 658 metadata (extracted from the cached wheel, or the upstream's own
// .metadata file), with the read side's blob headers. It returns
// errNotStored (httpx.ErrNotInMemory for the lane) when the file or
// metadata must be fetched first, and the lane gets ErrNotInMemory for
// anything but a plain 200 of a stored blob.
func (m *Mirror) storedFile(ctx context.Context, req *httpx.Request, params []string, rep *httpx.Reply) error {
	name, f, meta, err := m.locate(ctx, req.Auth, params[0], params[1])
	if err != nil {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		return err
	}
	notHere := &notStored{name: name, f: f, meta: meta}
	kind, b := kindFile, httpx.Blob{Key: f.BlobKey, SHA256: f.SHA256, ContentType: fileType, ModTime: modTime(&f), Name: params[1]}
	if meta {
		kind, b.Key, b.SHA256 = kindMetadata, f.MetadataKey, f.MetadataSHA256
		if b.Key == "" && f.UpstreamMetadata != "" {
			if !req.InMemory {
				return notHere // serveMetadata checks and fetches it
			}
			b.Key, b.SHA256 = storage.Key(f.UpstreamMetadata), f.UpstreamMetadata
		}
	}
	if b.Key == "" {
		if req.InMemory {
			return httpx.ErrNotInMemory
		}
		return notHere
	}
	if err := m.storedReply(ctx, req, b, rep); err != nil {
		if errors.Is(err, errNotStored) {
			return notHere
		}
		return err
	}
	m.m.lookup(kind, resultHit)
	return nil
}

// storedReply fills in rep with a cached blob (httpx.BlobReply). It
// returns errNotStored, having filled in nothing, when the blob is missing
// from the store although the catalog lists it (removed behind the
// catalog's back): the caller fetches it again. The store is asked first
// only when it may answer with a presigned URL (S3), which would send the
// client to a missing object.
func (m *Mirror) storedReply(ctx context.Context, req *httpx.Request, b httpx.Blob, rep *httpx.Reply) error {
	if _, ok := storage.As[storage.Presigner](m.store); ok && !req.InMemory {
		if _, err := m.store.Stat(ctx, b.Key); errors.Is(err, storage.ErrNotExist) {
			return errNotStored
		} else if err != nil {
			return err
		}
	}
	err := httpx.BlobReply(ctx, m.store, m.log, req, b, rep)
	if err == nil || req.InMemory || !errors.Is(err, index.ErrNotFound) {
		return err
	}
	// BlobReply's 404: make sure it was the blob that is missing.
	if _, serr := m.store.Stat(ctx, b.Key); errors.Is(serr, storage.ErrNotExist) {
		return errNotStored
	}
	return err
}

// serveBlob writes a stored blob to an echo request (httpx.BlobReply).
func (m *Mirror) serveBlob(c echo.Context, b httpx.Blob) error {
	req := httpx.NewRequest(c, auth.Result{})
	var rep httpx.Reply
	if err := httpx.BlobReply(c.Request().Context(), m.store, m.log, &req, b, &rep); err != nil {
		return err
	}
	return httpx.Write(c, &rep)
}

// serveFile serves a file of a cached page (or its PEP 658 metadata):
// from storage when cached, else fetched once from the upstream.
func (m *Mirror) serveFile(c echo.Context) error {
	ctx := c.Request().Context()
	req := httpx.NewRequest(c, m.auth.FromContext(c))
	params := []string{httpx.Param(c, "project"), httpx.Param(c, "filename")}
	var rep httpx.Reply
	err := m.storedFile(ctx, &req, params, &rep)
	if err == nil {
		return httpx.Write(c, &rep)
	}
	var ns *notStored
	if !errors.As(err, &ns) {
		return err
	}
	name, f, meta := ns.name, ns.f, ns.meta
	if meta {
		if d := m.downloads.running(name + "/" + f.Filename); d != nil {
			// The file is being fetched: the METADATA extracted from it
			// (when the upstream offers none) comes once it is recorded,
			// which is after its streams completed.
			if d.wait(ctx); ctx.Err() != nil {
				return ctx.Err()
			}
			rep = httpx.Reply{}
			if err := m.storedFile(ctx, &req, params, &rep); err == nil {
				return httpx.Write(c, &rep)
			} else if !errors.As(err, &ns) {
				return err
			}
			f = ns.f
		}
		return m.serveMetadata(c, name, f)
	}
	filename := f.Filename
	if f.BlobKey != "" {
		m.log.Warn("cached mirror file missing from storage; fetching it again", "project", name, "file", f.Filename)
	}
	if m.cfg.Offline {
		m.m.lookup(kindFile, resultOffline)
		return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: "this mirror is offline and has no copy of " + filename}
	}
	m.m.lookup(kindFile, resultMiss)
	// Every GET streams from the download's spool as the bytes arrive; a
	// range or a HEAD waits for the download and is served from the store.
	stream := c.Request().Method == http.MethodGet && c.Request().Header.Get("Range") == ""
	d := m.fetchShared(ctx, name+"/"+filename, stream, func(ctx context.Context, sp *spool) (index.MirrorFile, error) {
		return m.fetchLeased(ctx, name, f, sp)
	})
	if stream {
		sent, err := m.stream(c, d.spool)
		switch {
		case err == nil && sent:
			return nil
		case ctx.Err() != nil: // this client went away; the download goes on for the others
			return ctx.Err()
		case errors.Is(err, errSpoolFailed) && sent:
			// The client has part of a bad file: break the connection so
			// that it cannot take it for the whole.
			_, derr := d.wait(ctx)
			m.log.Error("upstream file download failed after streaming began", "project", name, "file", filename, "err", derr)
			panic(http.ErrAbortHandler)
		case sent:
			return err // writing to the client failed
		}
		// Nothing was spooled for this client: the download's result
		// decides (the bytes were in the store already, or an error).
	}
	cf, err := d.wait(ctx)
	if err != nil {
		return m.notFetched(filename, err)
	}
	return m.serveBlob(c, httpx.Blob{Key: cf.BlobKey, SHA256: cf.SHA256, ContentType: fileType, ModTime: modTime(&cf), Name: path.Base(c.Request().URL.Path)})
}

// notFetched explains a failing upstream to a client asking for a file
// that is not cached: which file, and why others still install (the
// pages list only cached files while the upstream fails, health.go).
func (m *Mirror) notFetched(filename string, err error) error {
	var ue *index.UpstreamError
	if !errors.As(err, &ue) || !m.health.down() {
		return err // (a hash mismatch, a 404: the message says it)
	}
	out := *ue
	out.Msg = ue.Msg + ": " + filename + " is not cached here, so it cannot be served until the upstream answers again" +
		" (meanwhile the mirror's pages list only cached files)"
	return &out
}

// errSpoolFailed is stream's error for a download that failed (a hash
// mismatch, an upstream that broke off, Close).
var errSpoolFailed = errors.New("the download failed")

// stream writes the download spooled in sp to c as it grows, and releases
// the caller's reference on it. The status line and headers go out with
// the first bytes; the response completes only when the download verified.
// sent reports whether anything was written: when the download failed
// before that, the caller can still answer with its error. err is
// errSpoolFailed, or the client's (a write that failed, its context).
func (m *Mirror) stream(c echo.Context, sp *spool) (sent bool, err error) {
	defer sp.release()
	ctx, w := c.Request().Context(), c.Response()
	rc := http.NewResponseController(w)
	var off int64
	for {
		st := sp.state()
		if st.file != nil && st.n > off {
			if !sent {
				sent = true
				hdr := w.Header()
				httpx.BlobHeaders(httpx.Blob{SHA256: st.sha256, ContentType: fileType}, func(name string, v []string) { hdr[name] = v })
				if st.size >= 0 {
					hdr.Set(echo.HeaderContentLength, strconv.FormatInt(st.size, 10))
				}
				w.WriteHeader(http.StatusOK)
			}
			n, err := io.Copy(w, io.NewSectionReader(st.file, off, st.n-off))
			off += n
			if err != nil {
				return true, err
			}
			_ = rc.Flush() // the bytes go out as they come, not at the next 4 KiB
			continue
		}
		if st.ended {
			switch {
			case !st.ok:
				return sent, errSpoolFailed
			case st.file == nil:
				return false, nil // nothing spooled: the bytes were stored already
			case !sent: // an empty file
				sent = true
				httpx.BlobHeaders(httpx.Blob{SHA256: st.sha256, ContentType: fileType}, func(name string, v []string) { w.Header()[name] = v })
				w.Header().Set(echo.HeaderContentLength, "0")
				w.WriteHeader(http.StatusOK)
			}
			return true, nil
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return sent, ctx.Err()
		}
	}
}

// fetchFile downloads f from the upstream into the store through sp,
// verifying every hash the page gave as the bytes arrive, records the
// cached copy (with the METADATA of a wheel when the upstream offers
// none) and returns the updated file; sp's streams complete only then, or
// fail. Bytes already stored under f's sha256 are recorded without a
// download (and sp stays empty).
func (m *Mirror) fetchFile(ctx context.Context, project string, f index.MirrorFile, sp *spool) (index.MirrorFile, error) {
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
	tmp, err := os.CreateTemp("", "pyindex-mirror-*")
	if err != nil {
		m.m.upstreamError(kindFile, "store")
		return f, fmt.Errorf("spool mirrored %s: %w", f.Filename, err)
	}
	sp.start(tmp, size, want)
	v := newVerifier(resp.Body, f.Hashes, size)
	key, sum := storage.Key(want), want
	if want != "" {
		// Stored as it arrives: the commit is ready once the last bytes
		// verify.
		err = m.store.Put(ctx, key, io.TeeReader(v, sp), size)
	} else {
		// No sha256 upstream: the key is known only at the end, so the
		// blob is stored from the spool.
		if _, err = io.Copy(sp, v); err == nil {
			sum = hex.EncodeToString(v.sha256.Sum(nil))
			key = storage.Key(sum)
			err = m.store.Put(ctx, key, io.NewSectionReader(tmp, 0, v.n), v.n)
		}
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
	cf, err := m.record(ctx, project, f, key, sum, v.n)
	if err == nil {
		sp.end(true) // verified and recorded: every stream completes
	}
	return cf, err
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
