// Package dist parses Python distribution filenames, inspects wheel and sdist
// archives, and parses the core metadata found inside them.
//
// It is used by the upload endpoint to check an uploaded file before anything
// is stored, and by the mirror to make sense of upstream files. Everything
// here treats its input as hostile: archives are read with bounded
// decompression, member paths are never used to touch the filesystem, and no
// function panics on malformed input.
//
// Every rejection of client input is an *InvalidError, which matches
// ErrInvalid under errors.Is. Errors from the underlying io.ReaderAt are
// returned wrapped but otherwise as they are, so that a storage failure is
// never mistaken for a bad upload.
package dist

import (
	"errors"
	"strings"
)

// ErrInvalid is matched (with errors.Is) by every error that reports an
// invalid filename, archive or metadata file.
var ErrInvalid = errors.New("invalid distribution")

// InvalidError reports why a distribution was refused. Field names the part
// at fault ("filename", "name", "version", "archive", "metadata", ...), and
// Reason is a one-line human-readable explanation fit to show to the client.
//
// Functions in this package return it as *InvalidError.
type InvalidError struct {
	Field  string
	Reason string
	// Err is the underlying error, if any (for example zip.ErrFormat). It is
	// reachable through errors.Unwrap but is not part of Error().
	Err error
}

// Error returns "<field>: <reason>" (or just the reason if Field is empty)
// on a single line: control characters are replaced with spaces.
func (e *InvalidError) Error() string {
	msg := e.Reason
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return oneLine(msg)
}

// Is reports whether target is ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the underlying error, if any.
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(field, reason string) *InvalidError {
	return &InvalidError{Field: field, Reason: reason}
}

// oneLine replaces control characters so that a message built from hostile
// input cannot span lines or carry terminal escapes.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// Kind is the kind of a distribution file.
type Kind int

// The kinds of distribution that can be uploaded.
const (
	Wheel Kind = iota + 1 // a binary wheel (.whl)
	Sdist                 // a source distribution (.tar.gz or .zip)
)

// String returns "bdist_wheel" or "sdist", the values of the upload form's
// filetype field.
func (k Kind) String() string {
	switch k {
	case Wheel:
		return "bdist_wheel"
	case Sdist:
		return "sdist"
	}
	return "unknown"
}
