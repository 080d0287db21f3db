// Package storage defines the blob store that holds distribution files and
// their extracted metadata. Backends live in sub-packages (storage/fs,
// storage/s3); every backend passes the compliance suite in
// storage/storagetest. Blobs are content-addressed (Key); WithMetrics adds
// Prometheus metrics to any Store, and the optional Presigner and Pather
// interfaces expose what only some backends can do.
package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"strings"
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

// ErrSizeMismatch is returned (wrapped) by Put when the reader yields fewer
// or more bytes than the size the caller declared. Nothing is stored.
var ErrSizeMismatch = errors.New("storage: size mismatch")

// ErrNoSpace is returned (wrapped) by Put when the backend is out of space:
// a full disk (ENOSPC) or exceeded quota for the filesystem backend, a full
// or over-quota bucket for S3. Nothing is stored. The native error stays in
// the chain, so errors.Is(err, syscall.ENOSPC) also holds on a full disk.
var ErrNoSpace = errors.New("storage: no space left")

// Info describes one stored blob.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is a flat key/value blob store. Keys are slash-separated relative
// paths such as "sha256/ab/cd/abcd..." (see Key and ValidKey). All methods
// are safe for concurrent use. Every method returns an error wrapping
// ErrInvalidKey for a key (or List prefix) that ValidKey rejects, and one
// wrapping ctx.Err() when ctx is done before the operation completes. Errors
// are wrapped with the key; test them with errors.Is.
type Store interface {
	// Put stores exactly size bytes read from r under key. It is atomic: a
	// reader sees either the previous blob or the complete new one, never a
	// partial write. If r yields fewer or more than size bytes, Put fails
	// with ErrSizeMismatch and stores nothing. A negative size means
	// "unknown". A read error from r fails Put (the error is wrapped) and
	// stores nothing; a full backend returns ErrNoSpace.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns a reader over the blob and its Info, or ErrNotExist.
	// The reader supports Seek, so it can be handed to http.ServeContent
	// (Range requests); the caller must Close it.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, Info, error)
	// Stat returns the blob's Info, or ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the blob. Deleting an absent key returns ErrNotExist.
	Delete(ctx context.Context, key string) error
	// List calls fn for every blob whose key starts with prefix, in no
	// particular order. An error from fn stops the walk and is returned.
	// The prefix need not end at a "/": "sha256/a" matches
	// "sha256/ab/...".
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

// Presigner is implemented by stores that can hand out a time-limited URL
// from which a client downloads a blob directly (the S3 backend). The HTTP
// layer type-asserts a Store to it and redirects instead of streaming:
//
//	if p, ok := store.(storage.Presigner); ok {
//		u, err := p.PresignedGetURL(ctx, key, filename)
//		switch {
//		case err == nil:
//			return c.Redirect(http.StatusFound, u.String())
//		case !errors.Is(err, errors.ErrUnsupported):
//			return err
//		} // else: redirects are switched off; stream the blob.
//	}
type Presigner interface {
	// PresignedGetURL returns a URL for key whose response carries
	// Content-Disposition with filename (when not empty). It does not check
	// that key exists. It returns ErrInvalidKey for a bad key, and an error
	// wrapping errors.ErrUnsupported when presigned downloads are disabled.
	PresignedGetURL(ctx context.Context, key, filename string) (*url.URL, error)
}

// Pather is implemented by stores that keep each blob in a local file (the
// filesystem backend), for backup and fsck tools.
type Pather interface {
	// Path returns the absolute file name that holds key, or
	// ErrInvalidKey. It does not check that the file exists.
	Path(key string) (string, error)
}

// Key returns the content-addressed key of a blob whose SHA-256 digest is
// sha256hex: "sha256/ab/cd/abcd...". The digest must be 64 hexadecimal
// digits in either case; the key always uses lower case. For any other input
// Key returns "", which every Store method rejects with ErrInvalidKey, so a
// malformed client-supplied digest can never turn into a path.
func Key(sha256hex string) string {
	if len(sha256hex) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(sha256hex); err != nil {
		return ""
	}
	h := strings.ToLower(sha256hex)
	return "sha256/" + h[0:2] + "/" + h[2:4] + "/" + h
}

// PutBytes stores b under key. It is meant for small objects such as
// extracted metadata; stream anything large through Store.Put. It returns
// what Put returns (ErrInvalidKey, ErrNoSpace, a context error, ...).
func PutBytes(ctx context.Context, s Store, key string, b []byte) error {
	return s.Put(ctx, key, bytes.NewReader(b), int64(len(b)))
}

// PutContent stores b under its content address, Key of its SHA-256, and
// returns that key and the hex digest. Like PutBytes it is meant for small
// objects; errors are PutBytes's.
func PutContent(ctx context.Context, s Store, b []byte) (key, sha256hex string, err error) {
	sum := sha256.Sum256(b)
	sha256hex = hex.EncodeToString(sum[:])
	key = Key(sha256hex)
	return key, sha256hex, PutBytes(ctx, s, key, b)
}
