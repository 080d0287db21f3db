// Package storage defines the blob store that holds distribution files and
// their extracted metadata. Backends live in sub-packages (storage/fs,
// storage/s3); every backend passes the compliance suite in
// storage/storagetest.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotExist is returned (possibly wrapped) by Open, Stat and Delete when
// the key is absent. Backends translate their native not-found errors into
// it; every other failure is returned as itself so that an outage is never
// mistaken for a cache miss.
var ErrNotExist = errors.New("storage: key does not exist")

// ErrInvalidKey is returned when a key is empty, absolute, or contains "..",
// backslashes, NUL or other control characters.
var ErrInvalidKey = errors.New("storage: invalid key")

// Info describes one stored blob.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is a flat key/value blob store. Keys are slash-separated relative
// paths such as "sha256/ab/cd/abcd...". All methods are safe for concurrent
// use.
type Store interface {
	// Put stores exactly size bytes read from r under key. It is atomic: a
	// reader sees either the previous blob or the complete new one, never a
	// partial write. If r yields fewer or more than size bytes, Put fails
	// and stores nothing. A negative size means "unknown".
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns a reader over the blob and its Info, or ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error)
	// Stat returns the blob's Info, or ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the blob. Deleting an absent key returns ErrNotExist.
	Delete(ctx context.Context, key string) error
	// List calls fn for every blob whose key starts with prefix, in no
	// particular order. An error from fn stops the walk and is returned.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// ValidKey reports whether key is acceptable to every backend: non-empty,
// relative, slash-separated, with no empty, "." or ".." segment and no
// backslash or control character.
func ValidKey(key string) bool {
	if key == "" || len(key) > 1024 || key[0] == '/' || key[len(key)-1] == '/' {
		return false
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) {
			c := key[i]
			if c < 0x20 || c == 0x7f || c == '\\' {
				return false
			}
			if c != '/' {
				continue
			}
		}
		seg := key[start:i]
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		start = i + 1
	}
	return true
}
