// Package generic serves generic files: versioned archives that are not
// Python distributions (vendor DLL bundles, application zips), uploaded
// with an HTTP PUT (curl -T) to /generic/NAME/VERSION/FILE and downloaded
// from the same URL, or from /generic/NAME/latest/FILE, which redirects to
// the newest version that has the file.
//
// An upload goes the way of a package file: the body is spooled to a
// temporary file while it is hashed (upload.Service.SpoolBody: memory stays
// flat whatever the size), an X-Checksum-Sha256 header is checked, the blob
// is stored under its content address, and only then is the row recorded
// (index.Catalog.AddGenericFile), so a file is visible exactly when its row
// commits and a crash leaves at most an orphan blob for fsck. The same
// bytes again change nothing; other bytes under a taken name are refused.
//
// Browsing, deletes and retention are the admin API's (index/admin).
package generic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/upload"
)

// Deps are what the generic files' service needs.
type Deps struct {
	Catalog    *index.Catalog        // required
	Store      storage.Store         // required
	Upload     *upload.Service       // required: spools bodies and stores blobs under its limits
	Auth       *auth.Service         // required by Register
	Log        *slog.Logger          // nil: slog.Default()
	BaseURL    string                // index.base_url; "" takes the request's host
	Registerer prometheus.Registerer // nil registers no metric
}

// Service uploads and serves generic files.
type Service struct {
	cat     *index.Catalog
	store   storage.Store
	up      *upload.Service
	auth    *auth.Service
	log     *slog.Logger
	base    *url.URL // nil without BaseURL
	prefix  string   // path of BaseURL without the trailing slash
	metrics metrics
}

// New returns the service over deps. It returns an error when a required
// dependency is missing or BaseURL is not an absolute http(s) URL.
func New(deps Deps) (*Service, error) {
	if deps.Catalog == nil || deps.Store == nil || deps.Upload == nil {
		return nil, errors.New("generic.New: Catalog, Store and Upload are required")
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Service{cat: deps.Catalog, store: deps.Store, up: deps.Upload, auth: deps.Auth, log: log,
		metrics: newMetrics(deps.Registerer)}
	if deps.BaseURL != "" {
		u, err := url.Parse(deps.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("generic.New: base URL %q is not an absolute http(s) URL", deps.BaseURL)
		}
		s.base, s.prefix = u, strings.TrimSuffix(u.Path, "/")
	}
	return s, nil
}

// Upload is one generic file a client sent.
type Upload struct {
	Path    Path
	Content *upload.Spooled // the body, spooled; Add does not close it
	// Checksum is the hex SHA-256 the client declared (X-Checksum-Sha256),
	// "" for none.
	Checksum   string
	RemoteAddr string
}

// Result is an accepted upload.
type Result struct {
	File index.GenericFile
	// Identical reports a retried upload: the file was recorded with these
	// bytes already, and nothing changed.
	Identical bool
}

// ErrChecksum is matched by the error of an upload whose bytes do not
// have the SHA-256 the client declared.
var ErrChecksum = errors.New("checksum mismatch")

// Add records the upload u made by p: it checks p's scope and its right to
// the name (index.Catalog.AuthorizeGeneric), the declared checksum, and that
// no other bytes are recorded under the name, then stores the blob and
// records the file. Its errors match index's kinds: ErrForbidden for a
// credential that may not upload there (an *upload.ForbiddenError for its
// scope), ErrInvalid (matching ErrChecksum
// too) for a checksum mismatch, ErrExists for other bytes under a taken
// name; and upload.StoreBlob's (a *upload.StorageError).
func (s *Service) Add(ctx context.Context, p index.Principal, u Upload) (Result, error) {
	if err := upload.CheckScope(p); err != nil {
		return Result{}, err
	}
	if err := s.cat.AuthorizeGeneric(ctx, p, u.Path.Name); err != nil {
		return Result{}, err
	}
	sum := u.Content.SHA256()
	if u.Checksum != "" && !strings.EqualFold(u.Checksum, sum) {
		return Result{}, &index.Error{Kind: index.ErrInvalid, Err: ErrChecksum,
			Msg: fmt.Sprintf("X-Checksum-Sha256 is %s but the body's SHA-256 is %s; nothing was stored", strings.ToLower(u.Checksum), sum)}
	}
	old, err := s.cat.GenericFile(ctx, u.Path.Name, u.Path.Version, u.Path.Filename)
	switch {
	case err == nil && old.SHA256 == sum:
		s.metrics.uploaded(old.Size, true)
		return Result{File: old, Identical: true}, nil
	case err == nil:
		return Result{}, existsError(old)
	case !errors.Is(err, index.ErrNotFound):
		return Result{}, err
	}
	var res Result
	err = s.up.StoreBlob(ctx, u.Content, func(ctx context.Context, key string) error {
		f, existed, err := s.cat.AddGenericFile(ctx, index.NewGenericFile{
			Name: u.Path.DisplayName, Version: u.Path.Version, Filename: u.Path.Filename,
			Size: u.Content.Size(), SHA256: sum, BlobKey: key, UploadedBy: p.User, RemoteAddr: u.RemoteAddr,
			UploaderID: p.UserID, AnyName: p.Admin || len(p.Projects) > 0,
		})
		res = Result{File: f, Identical: existed}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	s.metrics.uploaded(res.File.Size, res.Identical)
	if !res.Identical {
		s.log.Info("generic file uploaded", "name", res.File.Name, "version", res.File.Version,
			"file", res.File.Filename, "size", res.File.Size, "user", p.User)
	}
	return res, nil
}

func existsError(old index.GenericFile) error {
	return index.Errorf(index.ErrExists, "File already exists ('%s' of %s %s, with sha256 '%s'). A file is never replaced: upload a new version instead",
		old.Filename, old.Name, old.Version, old.SHA256)
}

// URL returns the absolute URL of a generic file path: below BaseURL, or
// on scheme://host when there is none.
func (s *Service) URL(scheme, host string, p Path) string {
	if s.base != nil {
		return s.base.Scheme + "://" + s.base.Host + s.prefix + p.URLPath()
	}
	return scheme + "://" + host + p.URLPath()
}
