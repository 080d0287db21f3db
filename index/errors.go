package index

import (
	"errors"
	"fmt"
)

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
	// ErrUnavailable: the catalog's database cannot be reached (PostgreSQL
	// is down, restarting, failing over or unreachable); a retry once it
	// is back succeeds.
	ErrUnavailable = errors.New("catalog unavailable")
	// ErrFull: the disk holding the catalog is full.
	ErrFull = errors.New("catalog disk full")
	// ErrSchemaTooNew: the catalog was written by a newer pyindex.
	ErrSchemaTooNew = errors.New("catalog schema is newer than this pyindex")
)

// ErrUnauthenticated: the request carried no credentials, or wrong ones,
// where it needs some. The HTTP layer answers 401 with a Basic challenge.
var ErrUnauthenticated = errors.New("unauthenticated")

// Error is an error whose message is meant for the client: Kind is one of
// the sentinels above (errors.Is matches it), Msg a one-line explanation,
// and Err an underlying cause, if any, which is never shown to the client.
// The HTTP layer takes its status from Kind and its message from Msg.
type Error struct {
	Kind error
	Msg  string
	Err  error
}

// Errorf returns an *Error of kind with a formatted message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Error returns "kind: message", as fmt.Errorf("%w: ...", kind) would.
func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Msg }

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// UpstreamError reports that the upstream failed and nothing usable is
// cached. Status is 502 (bad answer), 503 (unavailable, offline) or 504
// (timed out).
type UpstreamError struct {
	Status int
	Msg    string
	Err    error
}

func (e *UpstreamError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

func (e *UpstreamError) Unwrap() error { return e.Err }
