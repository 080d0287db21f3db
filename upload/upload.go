// Package upload is the write side: the upload service that validates,
// stores and records distributions, the legacy upload API that twine,
// poetry, uv and pdm speak over it (POST /legacy/, handler.go), and
// setuptools_scm-compatible versions (upload/scm).
//
// An upload streams the file to a temporary file while hashing it (Spool),
// then Add checks every digest the client sent, validates the filename, the
// form and the archive's core metadata against each other (index/dist),
// stores the blob under its content address, and only then records the file
// in the catalog, so a file is visible exactly when its row commits.
//
// Add returns typed errors (errors.go) and never an HTTP status: the
// handler maps them to statuses in one table.
package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
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
	// MinRate fails an upload (408, its slot freed) whose client sends
	// less than MinRate bytes a second on average over a RateWindow, so
	// that a client dribbling a byte just inside BodyTimeout cannot hold a
	// slot for ever. Windows follow each other from the first byte read.
	// 0 means no minimum.
	MinRate storage.Size `toml:"min_rate"`
	// RateWindow is the span MinRate is averaged over; a short stall of an
	// honest link within it does not fail the upload.
	RateWindow time.Duration `toml:"rate_window"`
}

// DefaultConfig returns the upload defaults.
func DefaultConfig() Config {
	return Config{MaxFileSize: 1 << 30, MaxMetadataSize: 4 << 20, MaxConcurrent: 64, BodyTimeout: time.Minute,
		MinRate: 1 << 10, RateWindow: 30 * time.Second}
}

// Validate reports every invalid setting at once; keys are named as in the
// configuration file's [upload] section.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, msg string) { errs = append(errs, errors.New("upload."+key+": "+msg)) }
	if c.MaxFileSize <= 0 {
		bad("max_file_size", "must be positive")
	}
	if c.MaxConcurrent < 0 {
		bad("max_concurrent", "must not be negative")
	}
	if c.BodyTimeout < 0 {
		bad("body_timeout", "must not be negative")
	}
	if c.MinRate < 0 {
		bad("min_rate", "must not be negative")
	}
	if c.RateWindow < 0 || c.MinRate > 0 && c.RateWindow == 0 {
		bad("rate_window", "must be positive (with min_rate set)")
	}
	if c.MaxMetadataSize < 64<<10 {
		bad("max_metadata_size", "must be at least 64KiB")
	}
	return errors.Join(errs...)
}

// Deps are the service's dependencies.
type Deps struct {
	Catalog *index.Catalog // required
	Store   storage.Store  // required
	// TempDir holds the temporary files of uploads in progress; it should
	// be on the same disk as the data. Required; created if missing.
	TempDir string
	// Auth authenticates the requests of the legacy upload API. Register
	// needs it; Add does not (it is given the principal).
	Auth Authenticator
	Log  *slog.Logger // nil: discard
	// OnUpload, if not nil, is called after every accepted upload with the
	// file's size; identical reports a retried upload of bytes already
	// stored (nothing new was written). cmd/pyindex counts uploads with it.
	OnUpload func(size int64, identical bool)
	// Claims, if not nil, is asked before the first upload of a new
	// project (cmd/pyindex wires the mirror: a name the upstream serves
	// needs an admin).
	Claims Claims
}

// Claims decides who may create a project by uploading its first file.
type Claims interface {
	// Claim returns nil when p may create project (normalized), with a
	// note for the audit log ("" for none); an index.ErrForbidden
	// *index.Error that says why and what to do when p may not.
	Claim(ctx context.Context, p index.Principal, project string) (audit string, err error)
}

// Service validates, stores and records uploaded distributions.
type Service struct {
	cat      *index.Catalog
	store    storage.Store
	cfg      Config
	tempDir  string
	log      *slog.Logger
	auth     Authenticator
	onUpload func(size int64, identical bool)
	claims   Claims
	locks    keyedMutex
	slots    chan struct{} // upload slots of the HTTP handler; nil: no cap
}

// New returns the upload service. It returns an error when cfg is invalid,
// a required dependency is missing, or the temporary folder cannot be
// created.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Catalog == nil || deps.Store == nil || deps.TempDir == "" {
		return nil, errors.New("upload.New: Catalog, Store and TempDir are required")
	}
	if err := os.MkdirAll(deps.TempDir, 0o755); err != nil {
		return nil, fmt.Errorf("upload temp dir: %w", err)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cat: deps.Catalog, store: deps.Store, cfg: cfg, tempDir: deps.TempDir, log: log,
		auth: deps.Auth, onUpload: deps.OnUpload, claims: deps.Claims, slots: slots(cfg.MaxConcurrent)}, nil
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

// Received is what a client sent for one upload, whatever the transport.
type Received struct {
	// Fields holds the form fields other than the file, each with its
	// values in the order sent. Empty values and distutils' "UNKNOWN"
	// filler mean "absent" and are left out.
	Fields map[string][]string
	// Filename is the file's name exactly as the client sent it (never
	// reduced to a base name: "../x.whl" must be refused, not cleaned).
	Filename string
	// Content is the file, spooled with Spool; nil when none was sent.
	// Add does not close it.
	Content *Spooled
	// RemoteAddr is the client's address, for the audit log.
	RemoteAddr string
}

func (r Received) get(name string) string {
	v := r.Fields[name]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Result is an accepted upload.
type Result struct {
	File index.File
	// Identical reports a retried upload: a file of that name and those
	// bytes was already recorded, and nothing was written.
	Identical bool
}

// CheckScope returns a *ForbiddenError when p's credential may not upload
// at all. Add checks it first; a transport may call it before reading the
// body, so that a weak credential learns it at once.
func CheckScope(p index.Principal) error {
	if p.Scope < index.ScopeUpload {
		return &ForbiddenError{Reason: fmt.Sprintf("This token's scope (%s) does not allow uploads", p.Scope)}
	}
	return nil
}

// Add validates the upload rcv made by p, stores its blobs and records the
// file, so that it is visible exactly when its row commits. Uploading the
// same bytes under a taken filename again succeeds without a second copy
// (Result.Identical); other bytes are never recorded under it.
//
// Add returns an *InvalidError (matching ErrInvalid) for what the client
// sent, a *ForbiddenError when p may not upload to the project, an
// *ExistsError for other bytes under a taken filename, a *StorageError
// when the store fails, and the catalog's errors as they are.
func (s *Service) Add(ctx context.Context, p index.Principal, rcv Received) (Result, error) {
	if err := CheckScope(p); err != nil {
		return Result{}, err
	}
	nf, meta, err := s.validate(rcv)
	if err != nil {
		return Result{}, err
	}
	nf.UploadedBy = p.User
	nf.RemoteAddr = rcv.RemoteAddr
	project := pep503.Normalize(nf.Project)
	// Owners may upload; so may admins and tokens limited to this project
	// (an admin granted that). The catalog checks ownership atomically
	// again when it records the file.
	nf.UploaderID = p.UserID
	nf.AnyProject = p.Admin || len(p.Projects) > 0
	if err := s.cat.AuthorizeUpload(ctx, p, project); err != nil {
		return Result{}, forbidden(err)
	}
	claim, err := s.claim(ctx, p, project)
	if err != nil {
		return Result{}, forbidden(err)
	}

	// A retried upload of the same bytes succeeds without a second copy;
	// other bytes under a taken name never replace the file.
	if old, err := s.cat.File(ctx, nf.Filename); err == nil {
		if old.SHA256 == nf.SHA256 {
			s.counted(nf.Size, true)
			return Result{File: old, Identical: true}, nil
		}
		return Result{}, &ExistsError{Existing: old}
	} else if !errors.Is(err, index.ErrNotFound) {
		return Result{}, err
	}

	f, err := s.storeAndRecord(ctx, rcv.Content, &nf, meta)
	if err != nil {
		return Result{}, err
	}
	if claim != "" {
		ev := index.Event{Actor: p.User, Action: "claim project", Project: project, Version: nf.Version,
			Filename: nf.Filename, RemoteAddr: rcv.RemoteAddr, Detail: claim}
		if err := s.cat.Audit(context.WithoutCancel(ctx), ev); err != nil {
			s.log.Error("auditing a project claim", "project", project, "err", err)
		}
	}
	s.log.Info("uploaded", "file", nf.Filename, "size", nf.Size, "user", p.User)
	s.counted(nf.Size, false)
	return Result{File: f}, nil
}

// claim asks Claims about the first upload of a project, and returns its
// audit note.
func (s *Service) claim(ctx context.Context, p index.Principal, project string) (string, error) {
	if s.claims == nil {
		return "", nil
	}
	if _, err := s.cat.ProjectSerial(ctx, project); !errors.Is(err, index.ErrNotFound) {
		return "", err // exists (nil): not a claim
	}
	return s.claims.Claim(ctx, p, project)
}

// forbidden turns the catalog's and Claims' ErrForbidden *index.Error into
// a *ForbiddenError; other errors are returned as they are.
func forbidden(err error) error {
	var ie *index.Error
	if errors.As(err, &ie) && errors.Is(err, index.ErrForbidden) {
		return &ForbiddenError{Reason: ie.Msg}
	}
	return err
}

func (s *Service) counted(size int64, identical bool) {
	if s.onUpload != nil {
		s.onUpload(size, identical)
	}
}

// storeAndRecord puts the blobs and records the row, under a per-blob lock
// so that a failed upload's cleanup cannot remove a blob that a concurrent
// upload of the same bytes has just recorded.
func (s *Service) storeAndRecord(ctx context.Context, tmp *Spooled, nf *index.NewFile, meta []byte) (index.File, error) {
	keys := []string{nf.BlobKey}
	if nf.MetadataKey != "" {
		keys = append(keys, nf.MetadataKey)
	}
	unlock := s.locks.lock(keys...)
	defer unlock()

	var created []string
	if _, err := s.store.Stat(ctx, nf.BlobKey); errors.Is(err, storage.ErrNotExist) {
		if _, err := tmp.f.Seek(0, io.SeekStart); err != nil {
			return index.File{}, err
		}
		if err := s.store.Put(ctx, nf.BlobKey, storage.TempFile{File: tmp.f}, tmp.size); err != nil {
			return index.File{}, &StorageError{Err: err}
		}
		created = append(created, nf.BlobKey)
	} else if err != nil {
		return index.File{}, &StorageError{Err: err}
	}
	if nf.MetadataKey != "" {
		if _, err := s.store.Stat(ctx, nf.MetadataKey); errors.Is(err, storage.ErrNotExist) {
			if err := s.store.Put(ctx, nf.MetadataKey, bytes.NewReader(meta), int64(len(meta))); err != nil {
				s.cleanup(created)
				return index.File{}, &StorageError{Err: err}
			}
			created = append(created, nf.MetadataKey)
		} else if err != nil {
			s.cleanup(created)
			return index.File{}, &StorageError{Err: err}
		}
	}
	f, _, err := s.cat.AddFile(ctx, *nf)
	if err != nil {
		s.cleanup(created)
		if errors.Is(err, index.ErrExists) {
			if o, ferr := s.cat.File(ctx, nf.Filename); ferr == nil {
				return index.File{}, &ExistsError{Existing: o}
			}
		}
		return index.File{}, err
	}
	// A blob that already existed was not written again; an admin delete
	// or prune that ran just before our row committed may have removed it
	// (deleters check for references and delete under the catalog's write
	// lock, so they cannot run after the commit). Put it back if so: the
	// temporary file and the metadata are still at hand.
	if _, err := s.store.Stat(ctx, nf.BlobKey); errors.Is(err, storage.ErrNotExist) {
		if _, err := tmp.f.Seek(0, io.SeekStart); err == nil {
			if err := s.store.Put(context.WithoutCancel(ctx), nf.BlobKey, tmp.f, tmp.size); err != nil {
				s.log.Error("restoring a blob removed during upload failed; run pyindex fsck", "key", nf.BlobKey, "err", err)
			}
		}
	}
	if nf.MetadataKey != "" {
		if _, err := s.store.Stat(ctx, nf.MetadataKey); errors.Is(err, storage.ErrNotExist) {
			if err := s.store.Put(context.WithoutCancel(ctx), nf.MetadataKey, bytes.NewReader(meta), int64(len(meta))); err != nil {
				s.log.Error("restoring a metadata blob removed during upload failed; run pyindex fsck", "key", nf.MetadataKey, "err", err)
			}
		}
	}
	return f, nil
}

// cleanup removes blobs this upload created and no row references. It runs
// with the blob locks held and on a fresh context: the request's may be gone.
func (s *Service) cleanup(keys []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		if ref, err := s.cat.BlobReferenced(ctx, k); err != nil || ref {
			continue
		}
		if err := s.store.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotExist) {
			s.log.Warn("could not remove blob of failed upload; fsck will reclaim it", "key", k, "err", err)
		}
	}
}
