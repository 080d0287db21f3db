package upload

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/storage"
)

// The errors of an upload. Add and Spool return them; they say what went
// wrong and never which HTTP status that is: the legacy-upload handler maps
// them in one table (statusOf in handler.go).

// ErrInvalid is matched (with errors.Is) by every *InvalidError.
var ErrInvalid = dist.ErrInvalid

// InvalidError reports an upload refused for what the client sent. Field
// names the form field or part at fault (":action", "name", "version",
// "filetype", "sha256_digest", "content", "filename", "metadata", ...),
// Reason is the one sentence the client is shown, and Err the underlying
// error, if any.
//
// It is index/dist's type, so that a refusal from the archive checks and
// one from the form checks are told apart by Field alone.
type InvalidError = dist.InvalidError

// ErrUnsupported is matched by the *InvalidError of an action of the upload
// API this server does not support: project pre-registration and
// documentation uploads (PyPI answers those 410 Gone).
var ErrUnsupported = errors.New("unsupported upload action")

// invalid returns an *InvalidError for field with a formatted reason.
func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ExistsError reports a file of the same name with other bytes: a file is
// never replaced. It matches index.ErrExists.
type ExistsError struct {
	Existing index.File // the file already recorded under the name
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("File already exists ('%s', with sha256 hash '%s'). A file is never replaced: upload a new version instead",
		e.Existing.Filename, e.Existing.SHA256)
}

// Is reports whether target is index.ErrExists.
func (e *ExistsError) Is(target error) bool { return target == index.ErrExists }

// TooLargeError reports an upload over a configured limit: the file
// (Field "content", limit MaxFileSize) or the form fields together (Field
// "form", limit MaxMetadataSize).
type TooLargeError struct {
	Field string
	Limit storage.Size
}

func (e *TooLargeError) Error() string {
	if e.Field == "form" {
		return "The form fields exceed " + e.Limit.String()
	}
	return "File too large: the limit is " + e.Limit.String()
}

// ForbiddenError reports a valid credential that may not make this upload
// (its scope, its project restriction, or project ownership). It matches
// index.ErrForbidden.
type ForbiddenError struct {
	Reason string // one sentence for the client
}

func (e *ForbiddenError) Error() string { return e.Reason }

// Is reports whether target is index.ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == index.ErrForbidden }

// StorageError reports that the upload could not be written: to the
// temporary file (Temp) or to the store. Nothing was stored.
type StorageError struct {
	Temp bool
	Err  error
}

func (e *StorageError) Error() string {
	if e.Temp {
		return "write temp file: " + e.Err.Error()
	}
	return "store upload: " + e.Err.Error()
}

func (e *StorageError) Unwrap() error { return e.Err }

// NoSpace reports whether the disk or the store is full.
func (e *StorageError) NoSpace() bool {
	return errors.Is(e.Err, syscall.ENOSPC) || errors.Is(e.Err, syscall.EDQUOT) || errors.Is(e.Err, storage.ErrNoSpace)
}

// ReadError reports that reading the file the client sent failed (the
// stream broke, stalled or was cut by a limit); Err is the reader's error.
type ReadError struct {
	Err error
}

func (e *ReadError) Error() string { return "read upload: " + e.Err.Error() }

func (e *ReadError) Unwrap() error { return e.Err }
