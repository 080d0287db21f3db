package index

import "errors"

// Sentinel errors returned (wrapped) by Catalog methods. Callers test them
// with errors.Is; the HTTP layer alone turns them into status codes.
var (
	// ErrNotFound: the project, release, file or user does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a unique thing (a filename, a user name) is already taken.
	ErrExists = errors.New("already exists")
	// ErrForbidden: the caller is known but may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: the input is malformed (bad name, version, argument).
	ErrInvalid = errors.New("invalid")
	// ErrBusy: the database stayed locked past the busy timeout.
	ErrBusy = errors.New("catalog busy")
	// ErrFull: the disk holding the catalog is full.
	ErrFull = errors.New("catalog disk full")
	// ErrSchemaTooNew: the catalog was written by a newer pyindex.
	ErrSchemaTooNew = errors.New("catalog schema is newer than this pyindex")
)
