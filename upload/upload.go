// Package upload is the write side: the legacy upload API that twine,
// poetry, uv and pdm speak (POST /legacy/), validation of distributions
// (index/dist) and setuptools_scm-compatible versions (upload/scm).
//
// An upload streams the file to a temporary file while hashing it, checks
// every digest the client sent, validates the filename, the form and the
// archive's core metadata against each other, stores the blob under its
// content address, and only then records the file in the catalog, so a file
// is visible exactly when its row commits.
package upload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/blake2b"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
)

// Config configures uploads.
type Config struct {
	// MaxFileSize is the largest distribution file accepted.
	MaxFileSize storage.Size `toml:"max_file_size"`
	// MaxMetadataSize bounds the core metadata file read from an archive
	// and, separately, all non-file form fields of one upload together.
	MaxMetadataSize storage.Size `toml:"max_metadata_size"`
	// MaxConcurrent caps uploads in progress; more get 503 + Retry-After.
	// 0 means no cap.
	MaxConcurrent int `toml:"max_concurrent"`
	// BodyTimeout fails an upload whose client sends nothing for this long
	// (408). 0 means no limit.
	BodyTimeout time.Duration `toml:"body_timeout"`
}

// DefaultConfig returns the upload defaults.
func DefaultConfig() Config {
	return Config{MaxFileSize: 1 << 30, MaxMetadataSize: 4 << 20, MaxConcurrent: 64, BodyTimeout: time.Minute}
}

// Handler serves POST /legacy/.
type Handler struct {
	cat     *index.Catalog
	store   storage.Store
	cfg     Config
	tempDir string
	log     *slog.Logger
	locks   keyedMutex
	auth    *index.Auth
	slots   chan struct{} // upload slots; nil: no cap

	// OnUpload, when set before serving, is called after every accepted
	// upload with the file's size; identical reports a retried upload of
	// bytes already stored (nothing new was written). cmd/pyindex counts
	// uploads with it.
	OnUpload func(size int64, identical bool)
}

// SetAuth makes uploads use a (and its failed-login limiter); by default
// the handler authenticates against the catalog with default settings.
func (h *Handler) SetAuth(a *index.Auth) { h.auth = a }

// NewHandler returns the upload handler. Temporary files go to tempDir,
// which should be on the same disk as the data.
func NewHandler(cat *index.Catalog, store storage.Store, cfg Config, tempDir string, log *slog.Logger) (*Handler, error) {
	if cat == nil || store == nil {
		panic("upload.NewHandler: nil catalog or store")
	}
	if err := os.MkdirAll(tempDir, 0o755); err != nil {
		return nil, fmt.Errorf("upload temp dir: %w", err)
	}
	return &Handler{cat: cat, store: store, cfg: cfg, tempDir: tempDir, log: log,
		auth: index.NewAuth(cat, index.DefaultAuthConfig(), log), slots: slots(cfg.MaxConcurrent)}, nil
}

// CleanTemp removes temporary upload files left by a crash. Call it at start.
func CleanTemp(tempDir string, olderThan time.Duration) (int, error) {
	ents, err := os.ReadDir(tempDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "upload-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) >= olderThan {
			if os.Remove(filepath.Join(tempDir, e.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}

// Register adds the upload routes. POST on /legacy, /legacy/ and / is
// answered directly: twine and poetry never follow a redirect on upload.
func (h *Handler) Register(g *echo.Group) {
	g.POST("/legacy", h.upload, h.limit)
	g.POST("/legacy/", h.upload, h.limit)
	g.POST("/", h.upload, h.limit)
}

// fail returns an HTTP error whose message is one line: messages quote
// client-supplied text (archive member names, metadata), which may hold line
// breaks or terminal escapes, and twine shows the body verbatim.
func fail(code int, format string, args ...any) error {
	msg := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, fmt.Sprintf(format, args...))
	return echo.NewHTTPError(code, msg)
}

func badRequest(format string, args ...any) error {
	return fail(http.StatusBadRequest, format, args...)
}

// received is what the multipart body carried.
type received struct {
	fields   map[string][]string
	filename string
	tmp      *os.File
	size     int64
	sha256   string
	md5      string
	blake2   string
}

func (r *received) get(name string) string {
	v := r.fields[name]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (r *received) close() {
	if r.tmp != nil {
		r.tmp.Close()
		os.Remove(r.tmp.Name())
	}
}

func (h *Handler) upload(c echo.Context) error {
	req := c.Request()
	ctx := req.Context()

	p, hasCreds, err := h.auth.Check(c)
	if !hasCreds {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="pyindex"`)
		return fail(http.StatusUnauthorized, "Authentication required: upload with a user name and password or a token (twine -u __token__ -p TOKEN)")
	}
	if err != nil {
		if errors.Is(err, index.ErrTokenExpired) {
			return fail(http.StatusForbidden, "The token has expired")
		}
		if errors.Is(err, index.ErrBadCredentials) {
			return fail(http.StatusForbidden, "Invalid or non-existent authentication information")
		}
		return err
	}
	if p.Scope < index.ScopeUpload {
		return fail(http.StatusForbidden, "This token's scope (%s) does not allow uploads", p.Scope)
	}

	limit := int64(h.cfg.MaxFileSize) + int64(h.cfg.MaxMetadataSize) + 64<<10
	if req.ContentLength > limit {
		return fail(http.StatusRequestEntityTooLarge, "File too large: the limit is %s", h.cfg.MaxFileSize)
	}
	req.Body = http.MaxBytesReader(c.Response(), newIdleBody(c.Response(), req.Body, h.cfg.BodyTimeout), limit)

	rcv, err := h.receive(req)
	defer rcv.close()
	if err != nil {
		return err
	}
	nf, meta, err := h.validate(c, rcv)
	if err != nil {
		return err
	}
	nf.UploadedBy = p.User
	nf.RemoteAddr = c.RealIP()
	project := pep503.Normalize(nf.Project)
	if !p.ProjectAllowed(project) {
		return fail(http.StatusForbidden, "The given token isn't allowed to upload to project '%s'", project)
	}
	// Owners may upload; so may admins and tokens limited to this project
	// (an admin granted that). The catalog checks ownership atomically.
	nf.UploaderID = p.UserID
	nf.AnyProject = p.Admin || len(p.Projects) > 0
	if ok, err := h.cat.MayUpload(ctx, project, p.UserID, nf.AnyProject); err != nil {
		return err
	} else if !ok {
		return fail(http.StatusForbidden, "The user '%s' isn't allowed to upload to project '%s': only its owners and admins may", p.User, project)
	}

	// A retried upload of the same bytes succeeds without a second copy;
	// other bytes under a taken name never replace the file.
	if old, err := h.cat.File(ctx, nf.Filename); err == nil {
		if old.SHA256 == nf.SHA256 {
			if h.OnUpload != nil {
				h.OnUpload(nf.Size, true)
			}
			return c.String(http.StatusOK, "OK (identical file already uploaded)\n")
		}
		return existsError(nf.Filename, old)
	} else if !errors.Is(err, index.ErrNotFound) {
		return err
	}

	if err := h.store1(ctx, rcv, &nf, meta); err != nil {
		return err
	}
	h.log.Info("uploaded", "file", nf.Filename, "size", nf.Size, "user", p.User)
	if h.OnUpload != nil {
		h.OnUpload(nf.Size, false)
	}
	return c.String(http.StatusOK, "OK\n")
}

func existsError(filename string, old index.File) error {
	return fail(http.StatusConflict, "File already exists ('%s', with sha256 hash '%s'). A file is never replaced: upload a new version instead", filename, old.SHA256)
}

// store1 puts the blobs and records the row, under a per-blob lock so that a
// failed upload's cleanup cannot remove a blob that a concurrent upload of
// the same bytes has just recorded.
func (h *Handler) store1(ctx context.Context, rcv *received, nf *index.NewFile, meta []byte) error {
	keys := []string{nf.BlobKey}
	if nf.MetadataKey != "" {
		keys = append(keys, nf.MetadataKey)
	}
	unlock := h.locks.lock(keys...)
	defer unlock()

	var created []string
	if _, err := h.store.Stat(ctx, nf.BlobKey); errors.Is(err, storage.ErrNotExist) {
		if _, err := rcv.tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := h.store.Put(ctx, nf.BlobKey, storage.TempFile{File: rcv.tmp}, rcv.size); err != nil {
			return storageError(err)
		}
		created = append(created, nf.BlobKey)
	} else if err != nil {
		return storageError(err)
	}
	if nf.MetadataKey != "" {
		if _, err := h.store.Stat(ctx, nf.MetadataKey); errors.Is(err, storage.ErrNotExist) {
			if err := h.store.Put(ctx, nf.MetadataKey, strings.NewReader(string(meta)), int64(len(meta))); err != nil {
				h.cleanup(created)
				return storageError(err)
			}
			created = append(created, nf.MetadataKey)
		} else if err != nil {
			h.cleanup(created)
			return storageError(err)
		}
	}
	_, _, err := h.cat.AddFile(ctx, *nf)
	if err != nil {
		h.cleanup(created)
		if errors.Is(err, index.ErrExists) {
			if o, ferr := h.cat.File(ctx, nf.Filename); ferr == nil {
				return existsError(nf.Filename, o)
			}
		}
		return err
	}
	// A blob that already existed was not written again; an admin delete
	// or prune that ran just before our row committed may have removed it
	// (deleters check for references and delete under the catalog's write
	// lock, so they cannot run after the commit). Put it back if so: the
	// temporary file and the metadata are still at hand.
	if _, err := h.store.Stat(ctx, nf.BlobKey); errors.Is(err, storage.ErrNotExist) {
		if _, err := rcv.tmp.Seek(0, io.SeekStart); err == nil {
			if err := h.store.Put(context.WithoutCancel(ctx), nf.BlobKey, rcv.tmp, rcv.size); err != nil {
				h.log.Error("restoring a blob removed during upload failed; run pyindex fsck", "key", nf.BlobKey, "err", err)
			}
		}
	}
	if nf.MetadataKey != "" {
		if _, err := h.store.Stat(ctx, nf.MetadataKey); errors.Is(err, storage.ErrNotExist) {
			if err := h.store.Put(context.WithoutCancel(ctx), nf.MetadataKey, bytes.NewReader(meta), int64(len(meta))); err != nil {
				h.log.Error("restoring a metadata blob removed during upload failed; run pyindex fsck", "key", nf.MetadataKey, "err", err)
			}
		}
	}
	return nil
}

// cleanup removes blobs this upload created and no row references. It runs
// with the blob locks held and on a fresh context: the request's may be gone.
func (h *Handler) cleanup(keys []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		if ref, err := h.cat.BlobReferenced(ctx, k); err != nil || ref {
			continue
		}
		if err := h.store.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotExist) {
			h.log.Warn("could not remove blob of failed upload; fsck will reclaim it", "key", k, "err", err)
		}
	}
}

func storageError(err error) error {
	if isNoSpace(err) {
		return fail(http.StatusInsufficientStorage, "The server is out of storage space; nothing was stored")
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &echo.HTTPError{Code: http.StatusServiceUnavailable, Message: "Storage is unavailable; nothing was stored, try again", Internal: err}
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, storage.ErrNoSpace)
}

// receive reads the multipart body: the "content" part is streamed to a
// temporary file while all three digests are computed in one pass; other
// fields are read into memory within MaxMetadataSize. Parts may come in any
// order (uv sends attestations after content).
func (h *Handler) receive(req *http.Request) (*received, error) {
	rcv := &received{fields: map[string][]string{}}
	for k, v := range req.URL.Query() {
		if k == ":action" || k == "protocol_version" {
			rcv.fields[k] = append(rcv.fields[k], v...)
		}
	}
	ct, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return rcv, badRequest("Expected a multipart/form-data body with a boundary")
	}
	mr := multipart.NewReader(req.Body, params["boundary"])
	formBudget := int64(h.cfg.MaxMetadataSize)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rcv, bodyError(err, h.cfg.MaxFileSize)
		}
		name := part.FormName()
		switch {
		case name == "content":
			if rcv.tmp != nil {
				return rcv, badRequest("The 'content' field was sent twice")
			}
			fn, err := rawFileName(part)
			if err != nil {
				return rcv, badRequest("Invalid Content-Disposition of the 'content' part: %v", err)
			}
			if fn == "" {
				return rcv, badRequest("Upload payload does not have a file")
			}
			rcv.filename = fn
			if err := h.spool(rcv, part); err != nil {
				return rcv, err
			}
		case name == "":
			// A part without a name carries nothing we understand.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return rcv, bodyError(err, h.cfg.MaxFileSize)
			}
		default:
			b, err := io.ReadAll(io.LimitReader(part, formBudget+1))
			if err != nil {
				return rcv, bodyError(err, h.cfg.MaxFileSize)
			}
			formBudget -= int64(len(b))
			if formBudget < 0 {
				return rcv, fail(http.StatusRequestEntityTooLarge, "The form fields exceed %s", h.cfg.MaxMetadataSize)
			}
			if name == "gpg_signature" || name == "attestations" {
				continue // accepted and ignored, as PyPI ignores signatures
			}
			v := strings.ReplaceAll(string(b), "\x00", "")
			if v == "" || v == "UNKNOWN" {
				continue // distutils filler and empty values mean "absent"
			}
			rcv.fields[name] = append(rcv.fields[name], v)
		}
	}
	if rcv.tmp == nil {
		return rcv, badRequest("Upload payload does not have a file")
	}
	return rcv, nil
}

// rawFileName returns the filename parameter of a part as the client sent
// it. multipart.Part.FileName applies filepath.Base, which would quietly
// turn "../x.whl" or "dir/x.whl" into an acceptable name; uploads with such
// names must be refused instead (warehouse's _validate_filename).
func rawFileName(p *multipart.Part) (string, error) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", err
	}
	return params["filename"], nil
}

func slots(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

func bodyError(err error, max storage.Size) error {
	if errors.Is(err, errBodyTimeout) {
		return fail(http.StatusRequestTimeout, "The upload stalled: no data for too long")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fail(http.StatusRequestEntityTooLarge, "File too large: the limit is %s", max)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fail(http.StatusRequestTimeout, "The upload was interrupted")
	}
	return badRequest("Malformed multipart body: %v", err)
}

// spool copies the file part to a temporary file, hashing as it goes.
func (h *Handler) spool(rcv *received, part io.Reader) error {
	tmp, err := os.CreateTemp(h.tempDir, "upload-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	rcv.tmp = tmp
	s, m := sha256.New(), md5.New()
	b2, _ := blake2b.New256(nil)
	lim := &io.LimitedReader{R: part, N: int64(h.cfg.MaxFileSize) + 1}
	th := newTeeHasher(newWriteback(tmp), s, m, b2) // hashing.go, writeback_linux.go
	defer th.Close()
	bw := bufio.NewWriterSize(th, spoolBuffer)
	n, err := io.Copy(bw, lim)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			if isNoSpace(err) {
				return fail(http.StatusInsufficientStorage, "The server is out of temporary space; nothing was stored")
			}
			return fmt.Errorf("write temp file: %w", err)
		}
		return bodyError(err, h.cfg.MaxFileSize)
	}
	if n > int64(h.cfg.MaxFileSize) {
		return fail(http.StatusRequestEntityTooLarge, "File too large: the limit is %s", h.cfg.MaxFileSize)
	}
	rcv.size = n
	th.Wait()
	rcv.sha256, rcv.md5, rcv.blake2 = hexSum(s), hexSum(m), hexSum(b2)
	return nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// validate checks the form, the digests, the filename and the archive's
// metadata against each other, in roughly PyPI's order so that the first
// failing check gives the message.
func (h *Handler) validate(c echo.Context, rcv *received) (index.NewFile, []byte, error) {
	var nf index.NewFile
	for name, vals := range rcv.fields {
		if len(vals) > 1 && singleValued[name] {
			return nf, nil, badRequest("'%s' has invalid data: sent more than once", name)
		}
	}
	switch action := rcv.get(":action"); action {
	case "file_upload":
	case "":
		return nf, nil, badRequest("Missing ':action' field (expected 'file_upload')")
	case "submit", "submit_pkg_info":
		return nf, nil, fail(http.StatusGone, "Project pre-registration is no longer required or supported, upload your files instead.")
	case "doc_upload":
		return nf, nil, fail(http.StatusGone, "Uploading documentation is not supported.")
	default:
		return nf, nil, badRequest("Unknown action '%s'", action)
	}
	if pv := rcv.get("protocol_version"); pv != "" && pv != "1" {
		return nf, nil, badRequest("Unknown protocol version.")
	}
	name, version := rcv.get("name"), rcv.get("version")
	if name == "" {
		return nf, nil, badRequest("Missing 'name' field")
	}
	if !pep503.Valid(name) {
		return nf, nil, badRequest("'%s' is an invalid value for Name: start and end with a letter or digit, using only ASCII letters, digits, '.', '_' and '-'", clip(name))
	}
	if version == "" {
		return nf, nil, badRequest("Missing 'version' field")
	}
	v, err := pep440.Parse(version)
	if err != nil {
		return nf, nil, badRequest("'%s' is an invalid value for Version: not a PEP 440 version", clip(version))
	}
	filetype := rcv.get("filetype")
	switch filetype {
	case "sdist", "bdist_wheel":
	case "":
		return nf, nil, badRequest("Missing 'filetype' field (sdist or bdist_wheel)")
	default:
		return nf, nil, badRequest("Invalid value for filetype: '%s' (use sdist or bdist_wheel)", clip(filetype))
	}
	if err := checkDigests(rcv); err != nil {
		return nf, nil, err
	}
	fn, err := dist.ParseFilename(rcv.filename)
	if err != nil {
		return nf, nil, badRequest("Invalid filename '%s': %s", clip(rcv.filename), reason(err))
	}
	if (fn.Kind == dist.Wheel) != (filetype == "bdist_wheel") {
		return nf, nil, badRequest("Invalid file extension: %s is not valid for filetype %s", fn.Ext, filetype)
	}
	if err := fn.Check(name, version); err != nil {
		return nf, nil, badRequest("Filename '%s' does not match the form: %s", rcv.filename, reason(err))
	}
	md, err := dist.ReadMetadata(rcv.tmp, rcv.size, fn, h.limits())
	if err != nil {
		var ie *dist.InvalidError
		if errors.As(err, &ie) || errors.Is(err, dist.ErrInvalid) {
			return nf, nil, badRequest("Invalid distribution file: %s", reason(err))
		}
		return nf, nil, err
	}
	if pep503.Normalize(md.Name) != pep503.Normalize(name) {
		return nf, nil, badRequest("The name in the file's metadata ('%s') does not match the form's ('%s')", clip(md.Name), clip(name))
	}
	mv, err := pep440.Parse(md.Version)
	if err != nil || !mv.Equal(v) {
		return nf, nil, badRequest("The version in the file's metadata ('%s') does not match the form's ('%s')", clip(md.Version), clip(version))
	}
	if md.RequiresPython != "" {
		if _, err := pep440.ParseSpecifierSet(md.RequiresPython); err != nil {
			return nf, nil, badRequest("Invalid Requires-Python '%s' in the file's metadata", clip(md.RequiresPython))
		}
	}
	pyversion := rcv.get("pyversion")
	if filetype == "sdist" {
		pyversion = "source"
	} else if pyversion == "" {
		pyversion = strings.Join(fn.PyTags, ".")
	}
	nf = index.NewFile{
		Project:        md.Name,
		Version:        v.String(),
		Filename:       rcv.filename,
		PackageType:    filetype,
		PythonVersion:  pyversion,
		RequiresPython: md.RequiresPython,
		Size:           rcv.size,
		SHA256:         rcv.sha256,
		MD5:            rcv.md5,
		Blake2b256:     rcv.blake2,
		BlobKey:        storage.Key(rcv.sha256),
		Comment:        rcv.get("comment"),
		Metadata:       md,
	}
	if !pep503.Valid(nf.Project) {
		nf.Project = name
	}
	var meta []byte
	if fn.Kind == dist.Wheel && len(md.Raw) > 0 {
		// PEP 658: serve the wheel's METADATA, byte for byte.
		meta = md.Raw
		sum := sha256.Sum256(meta)
		nf.MetadataSHA256 = hex.EncodeToString(sum[:])
		nf.MetadataKey = storage.Key(nf.MetadataSHA256)
	}
	return nf, meta, nil
}

func (h *Handler) limits() dist.Limits {
	l := dist.DefaultLimits()
	if h.cfg.MaxMetadataSize > 0 {
		l.MaxMetadataSize = int64(h.cfg.MaxMetadataSize)
	}
	return l
}

// singleValued lists form fields that may appear once.
var singleValued = map[string]bool{
	":action": true, "protocol_version": true, "name": true, "version": true, "filetype": true,
	"pyversion": true, "metadata_version": true, "md5_digest": true, "sha256_digest": true,
	"blake2_256_digest": true, "summary": true, "requires_python": true,
}

func checkDigests(rcv *received) error {
	given := 0
	for _, d := range []struct{ field, got string }{
		{"md5_digest", rcv.md5}, {"sha256_digest", rcv.sha256}, {"blake2_256_digest", rcv.blake2},
	} {
		want := strings.ToLower(strings.TrimSpace(rcv.get(d.field)))
		if want == "" {
			continue
		}
		given++
		if want != d.got {
			return badRequest("The digest supplied does not match a digest calculated from the uploaded file (%s)", d.field)
		}
	}
	if given == 0 {
		return badRequest("Include at least one message digest (sha256_digest, blake2_256_digest or md5_digest)")
	}
	return nil
}

func reason(err error) string {
	var ie *dist.InvalidError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return err.Error()
}

// clip shortens a client-supplied value for an error message.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// keyedMutex serializes work on the same blob keys.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	n int
}

// lock takes the locks of keys (in sorted order, so two callers cannot
// deadlock) and returns the function that releases them.
func (k *keyedMutex) lock(keys ...string) func() {
	keys = sortedUnique(keys)
	held := make([]*keyLock, 0, len(keys))
	for _, key := range keys {
		k.mu.Lock()
		if k.m == nil {
			k.m = map[string]*keyLock{}
		}
		l := k.m[key]
		if l == nil {
			l = &keyLock{}
			k.m[key] = l
		}
		l.n++
		k.mu.Unlock()
		l.Lock()
		held = append(held, l)
	}
	return func() {
		for i, l := range held {
			l.Unlock()
			k.mu.Lock()
			l.n--
			if l.n == 0 {
				delete(k.m, keys[i])
			}
			k.mu.Unlock()
		}
	}
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
