package mirror

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strconv"

	"github.com/pyindex/pyindex/storage"
)

// HashMismatchError is the error of PutVerified for bytes that do not
// match a hash they were given (or are longer than their size).
type HashMismatchError struct {
	// Detail says which hash differed, or the size exceeded.
	Detail string
}

func (e *HashMismatchError) Error() string { return "hash mismatch: " + e.Detail }

// PutVerified stores the size bytes of r under key in store, checked
// against want (hash algorithm to hex digest, as upstream pages give
// them): bytes that do not match are never committed, and the error is
// then a *HashMismatchError. Other errors are the reader's or the store's.
func PutVerified(ctx context.Context, store storage.Store, key string, r io.Reader, want map[string]string, size int64) error {
	v := newVerifier(r, want, size)
	err := store.Put(ctx, key, v, size)
	if v.mismatch != "" {
		return &HashMismatchError{Detail: v.mismatch}
	}
	return err
}

// verifier reads an upstream body, hashing it with every algorithm the
// page gave (and sha256 always). Once the expected size is reached, or at
// EOF, it compares the digests and, on a mismatch, fails the read instead
// of returning the last bytes or EOF, so that the store never commits a
// corrupt blob and a stream of a known size never completes with one.
type verifier struct {
	r        io.Reader
	size     int64 // expected, -1 unknown
	n        int64
	sha256   hash.Hash
	hashes   map[string]hash.Hash
	want     map[string]string
	done     bool
	mismatch string
	readErr  error
}

func newVerifier(r io.Reader, want map[string]string, size int64) *verifier {
	v := &verifier{r: r, size: size, sha256: sha256.New(), hashes: map[string]hash.Hash{}, want: want}
	for alg := range want {
		var h hash.Hash
		switch alg {
		case "sha256":
			h = v.sha256
		case "sha512":
			h = sha512.New()
		case "sha384":
			h = sha512.New384()
		case "sha224":
			h = sha256.New224()
		case "sha1":
			h = sha1.New()
		case "md5":
			h = md5.New()
		default:
			continue
		}
		v.hashes[alg] = h
	}
	return v
}

var errHashMismatch = errors.New("hash mismatch")

func (v *verifier) Read(p []byte) (int, error) {
	if v.mismatch != "" {
		return 0, errHashMismatch
	}
	if v.done {
		return 0, io.EOF
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.n += int64(n)
		v.sha256.Write(p[:n])
		for alg, h := range v.hashes {
			if alg != "sha256" {
				h.Write(p[:n])
			}
		}
		if v.size >= 0 && v.n > v.size {
			v.mismatch = "longer than " + strconv.FormatInt(v.size, 10) + " bytes"
			return 0, errHashMismatch
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		v.readErr = err
		return 0, err
	}
	if errors.Is(err, io.EOF) && v.size >= 0 && v.n < v.size {
		v.readErr = io.ErrUnexpectedEOF
		return 0, v.readErr
	}
	if errors.Is(err, io.EOF) || (v.size >= 0 && v.n == v.size) {
		v.done = true
		if !v.check() {
			return 0, errHashMismatch
		}
	}
	if v.done && n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// check compares the digests; false (and mismatch set) when one differs.
func (v *verifier) check() bool {
	for alg, h := range v.hashes {
		if got := hex.EncodeToString(h.Sum(nil)); got != v.want[alg] {
			v.mismatch = alg + " " + got + ", the page says " + v.want[alg]
			return false
		}
	}
	return true
}
