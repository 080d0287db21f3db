package upload

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"golang.org/x/crypto/blake2b"
)

// Spooled is an uploaded file held in a temporary file while it is checked
// and stored, with its size and digests, computed as it was written.
type Spooled struct {
	f      *os.File
	size   int64
	sha256 string
	md5    string
	blake2 string
}

// Size returns the file's size in bytes.
func (f *Spooled) Size() int64 { return f.size }

// Close removes the temporary file. It may be called on a nil *Spooled.
func (f *Spooled) Close() error {
	if f == nil || f.f == nil {
		return nil
	}
	f.f.Close()
	return os.Remove(f.f.Name())
}

// Spool copies r, the file of an upload, to a temporary file in the
// service's temporary folder, computing sha256, md5 and blake2b-256 in the
// same pass (hashing.go, writeback_linux.go); the whole file is never held
// in memory. The caller closes the result.
//
// Spool returns a *TooLargeError for a file over MaxFileSize, a *ReadError
// when reading r fails, and a *StorageError when the temporary folder is
// full. On error nothing is left behind.
func (s *Service) Spool(r io.Reader) (*Spooled, error) {
	tmp, err := os.CreateTemp(s.tempDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	f := &Spooled{f: tmp}
	if err := s.spool(f, r); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *Service) spool(f *Spooled, r io.Reader) error {
	sh, m := sha256.New(), md5.New()
	b2, _ := blake2b.New256(nil)
	lim := &io.LimitedReader{R: readErrors{r}, N: int64(s.cfg.MaxFileSize) + 1}
	th := newTeeHasher(newWriteback(f.f), sh, m, b2)
	defer th.Close()
	bw := bufio.NewWriterSize(th, spoolBuffer)
	n, err := io.Copy(bw, lim)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		var re *ReadError
		if errors.As(err, &re) {
			return re
		}
		return &StorageError{Temp: true, Err: err}
	}
	if n > int64(s.cfg.MaxFileSize) {
		return &TooLargeError{Field: "content", Limit: s.cfg.MaxFileSize}
	}
	f.size = n
	th.Wait()
	f.sha256, f.md5, f.blake2 = hexSum(sh), hexSum(m), hexSum(b2)
	return nil
}

// readErrors wraps the errors of a reader (but io.EOF) in *ReadError, so
// that a failed read is told apart from a failed write of the same copy.
type readErrors struct{ r io.Reader }

func (r readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &ReadError{Err: err}
	}
	return n, err
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
