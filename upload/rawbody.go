package upload

import (
	"context"
	"errors"
	"io"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/storage"
)

// What other write paths share with the legacy upload API: a request body
// that is the file itself (PUT /generic/..., package generic) is spooled
// under the same limits (upload.max_file_size, body_timeout, min_rate,
// max_concurrent), its errors answered by the same table, and its blob
// stored under the same per-blob lock.

// SpoolBody spools the body of c's request, which is the file itself, as
// Spool does (to a temporary file, hashed in the same pass, never held in
// memory), under upload.body_timeout and upload.min_rate. A declared
// Content-Length over MaxFileSize is refused before anything is read. Its
// errors are Spool's (a *TooLargeError over MaxFileSize), a stall or a
// client too slow, and an interrupted body; HTTPError answers them all.
// The caller closes the result.
func (s *Service) SpoolBody(c echo.Context) (*Spooled, error) {
	req := c.Request()
	if req.ContentLength > int64(s.cfg.MaxFileSize) {
		return nil, &TooLargeError{Field: "content", Limit: s.cfg.MaxFileSize}
	}
	body := newIdleBody(c.Response(), s.watchBody(c, req.Body), s.cfg.BodyTimeout)
	f, err := s.Spool(body)
	var re *ReadError
	if errors.As(err, &re) {
		return nil, bodyFailure(c, bodyError(re.Err, s.cfg))
	}
	return f, err
}

// SHA256 returns the file's hex SHA-256 digest.
func (f *Spooled) SHA256() string { return f.sha256 }

// Throttle is the legacy upload API's cap on uploads in progress
// (upload.max_concurrent) as echo middleware: beyond it a client gets 503
// with Retry-After at once.
func (s *Service) Throttle(next echo.HandlerFunc) echo.HandlerFunc { return s.limit(next) }

// HTTPError maps the errors of an upload (Spool, SpoolBody, StoreBlob,
// Throttle, and the typed errors of errors.go) to an *echo.HTTPError with
// a one-line message, by the table the legacy upload API uses. Errors it
// does not know (the catalog's) are returned as they are, for the server's
// error handler.
func HTTPError(c echo.Context, err error) error { return httpError(c, err) }

// StoreBlob stores tmp's bytes under their content address
// (storage.Key of the SHA-256) unless a blob is there already, then calls
// record, which makes the file visible (a catalog row). It holds the
// blob's lock meanwhile (the one Add holds), so that a failed upload's
// cleanup never removes a blob a concurrent upload of the same bytes has
// just recorded. When record fails, a blob this call created and no row
// references is removed; when it succeeds and the blob vanished meanwhile
// (an admin delete of the last other file with those bytes), it is put
// back. It returns a *StorageError when the store fails, and record's
// error as it is.
func (s *Service) StoreBlob(ctx context.Context, tmp *Spooled, record func(ctx context.Context, key string) error) error {
	key := storage.Key(tmp.sha256)
	unlock := s.locks.lock(key)
	defer unlock()
	var created []string
	if _, err := s.store.Stat(ctx, key); errors.Is(err, storage.ErrNotExist) {
		if _, err := tmp.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := s.store.Put(ctx, key, storage.TempFile{File: tmp.f}, tmp.size); err != nil {
			return &StorageError{Err: err}
		}
		created = append(created, key)
	} else if err != nil {
		return &StorageError{Err: err}
	}
	if err := record(ctx, key); err != nil {
		s.cleanup(created)
		return err
	}
	if _, err := s.store.Stat(ctx, key); errors.Is(err, storage.ErrNotExist) {
		if _, err := tmp.f.Seek(0, io.SeekStart); err == nil {
			if err := s.store.Put(context.WithoutCancel(ctx), key, tmp.f, tmp.size); err != nil {
				s.log.Error("restoring a blob removed during upload failed; run pyindex fsck", "key", key, "err", err)
			}
		}
	}
	return nil
}
