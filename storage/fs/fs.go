// Package fs is the filesystem backend of storage.Store: one regular file per
// key under a root directory, written atomically (temp file in the same
// directory, fsync, rename, fsync of the directory).
package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pyindex/pyindex/storage"
)

// tempPrefix starts the name of every file Put has not committed yet. List
// never reports such files and CleanTemp removes stale ones; keys with a
// segment that starts with it are rejected, so the two never collide.
const tempPrefix = ".tmp-"

const (
	dirMode  = 0o755
	fileMode = 0o644
)

// FS stores blobs as files under a root directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type FS struct {
	root string
	// wrapTemp, when set by tests, wraps the temp file's writer (to
	// simulate a full disk).
	wrapTemp func(io.Writer) io.Writer
}

var (
	_ storage.Store  = (*FS)(nil)
	_ storage.Pather = (*FS)(nil)
)

// New returns a store rooted at root, creating the directory if needed.
func New(root string) (*FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs: root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("fs: create root: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("fs: root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("fs: root %s is not a directory", abs)
	}
	return &FS{root: abs}, nil
}

// Root returns the absolute root directory.
func (f *FS) Root() string { return f.root }

// Path returns the absolute name of the file that holds key, for backup and
// fsck tools. It does not check that the file exists. It returns
// storage.ErrInvalidKey for a key storage.ValidKey rejects or one with a
// segment starting with ".tmp-".
func (f *FS) Path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("fs: %w: %q", storage.ErrInvalidKey, key)
	}
	return filepath.Join(f.root, filepath.FromSlash(key)), nil
}

func validKey(key string) bool {
	if !storage.ValidKey(key) {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return false
		}
	}
	return true
}

// Put writes exactly size bytes from r to key, replacing any previous blob
// atomically. With size >= 0, a reader yielding fewer or more bytes fails
// with storage.ErrSizeMismatch; a negative size stores whatever r yields.
// A full disk or exceeded quota returns an error wrapping storage.ErrNoSpace
// (and the native syscall.Errno). Invalid keys return storage.ErrInvalidKey;
// a cancelled ctx returns ctx.Err(). On any error before the final rename
// nothing becomes visible and the temporary file is removed (only a failed
// fsync of the directory is reported after the blob became visible); a crash
// leaves at most a ".tmp-" file, which List ignores and CleanTemp reclaims.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	p, err := f.Path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	if tf, ok := r.(storage.TempFile); ok && size >= 0 && f.wrapTemp == nil {
		// The caller's temporary file is linked into place, not copied
		// (adopt.go); failing that, it is copied as below.
		if err := f.adopt(ctx, p, tf.File, size); !errors.Is(err, errCannotAdopt) {
			if err != nil {
				return fmt.Errorf("fs: put %s: %w", key, err)
			}
			return nil
		}
	}
	dir := filepath.Dir(p)
	tmp, err := f.createTemp(dir)
	if err != nil {
		return fmt.Errorf("fs: put %s: %w", key, noSpace(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	src := io.Reader(ctxReader{ctx, r})
	if size >= 0 {
		// Read one byte more than announced, to notice a long reader
		// without reading an unbounded stream.
		src = io.LimitReader(src, size+1)
	}
	// A plain io.Writer wrapper hides os.File.ReadFrom, so a read error is
	// never confused with a write error and ENOSPC surfaces from Write.
	var w io.Writer = tmp
	if f.wrapTemp != nil {
		w = f.wrapTemp(tmp)
	}
	n, err := io.Copy(writerOnly{w}, src)
	if err != nil {
		return fmt.Errorf("fs: put %s: %w", key, noSpace(err))
	}
	if size >= 0 && n != size {
		return fmt.Errorf("fs: put %s: %w: got %s bytes, want %d", key, storage.ErrSizeMismatch, countString(n, size), size)
	}
	if err := tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fs: put %s: sync: %w", key, noSpace(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fs: put %s: close: %w", key, noSpace(err))
	}
	// Last chance to honour cancellation before the blob becomes visible.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	// The rename is done: from here on the blob is stored, so an error
	// syncing the directory is reported but must not remove anything.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fs: put %s: sync dir: %w", key, noSpace(err))
	}
	return nil
}

func countString(n, size int64) string {
	if n > size {
		return "more"
	}
	return fmt.Sprint(n)
}

// createTemp creates a temporary file in dir, creating dir first. A
// concurrent Delete may remove a just-created empty dir, so it retries.
func (f *FS) createTemp(dir string) (*os.File, error) {
	var err error
	for range 5 {
		if err = os.MkdirAll(dir, dirMode); err != nil {
			return nil, err
		}
		var tmp *os.File
		tmp, err = os.CreateTemp(dir, tempPrefix+"*")
		if err == nil {
			return tmp, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

// Open opens the blob. The returned reader is an *os.File, so
// http.ServeContent can use sendfile. It returns storage.ErrNotExist when
// the key is absent, storage.ErrInvalidKey for a bad key, and any other
// error (permission, I/O) as itself.
func (f *FS) Open(ctx context.Context, key string) (io.ReadSeekCloser, storage.Info, error) {
	p, err := f.Path(key)
	if err != nil {
		return nil, storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.Info{}, fmt.Errorf("fs: open %s: %w", key, err)
	}
	file, err := os.Open(p)
	if err != nil {
		return nil, storage.Info{}, mapErr("open", key, err)
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, storage.Info{}, fmt.Errorf("fs: open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		file.Close()
		return nil, storage.Info{}, fmt.Errorf("fs: open %s: %w", key, storage.ErrNotExist)
	}
	return file, info(key, fi), nil
}

// Stat returns the blob's Info, storage.ErrNotExist when the key is absent,
// or storage.ErrInvalidKey for a bad key. Other errors come back as
// themselves.
func (f *FS) Stat(ctx context.Context, key string) (storage.Info, error) {
	p, err := f.Path(key)
	if err != nil {
		return storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, fmt.Errorf("fs: stat %s: %w", key, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return storage.Info{}, mapErr("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.Info{}, fmt.Errorf("fs: stat %s: %w", key, storage.ErrNotExist)
	}
	return info(key, fi), nil
}

// Delete removes the blob and then, best effort, the directories it leaves
// empty. It returns storage.ErrNotExist when the key is absent and
// storage.ErrInvalidKey for a bad key; other errors come back as themselves.
func (f *FS) Delete(ctx context.Context, key string) error {
	p, err := f.Path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: delete %s: %w", key, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return mapErr("delete", key, err)
	}
	if fi.IsDir() {
		// A key prefix, not a key: never remove directories here.
		return fmt.Errorf("fs: delete %s: %w", key, storage.ErrNotExist)
	}
	if err := os.Remove(p); err != nil {
		return mapErr("delete", key, err)
	}
	for dir := filepath.Dir(p); dir != f.root && strings.HasPrefix(dir, f.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty, or raced with a Put: stop.
			break
		}
	}
	return nil
}

// List calls fn for every blob whose key starts with prefix (which need not
// end at a "/"), directory by directory (not strictly in key order). Temporary files are skipped. An error
// from fn stops the walk and is returned as is; a cancelled ctx returns
// ctx.Err(); a prefix that could never match a valid key returns
// storage.ErrInvalidKey.
func (f *FS) List(ctx context.Context, prefix string, fn func(storage.Info) error) error {
	start := f.root
	if prefix != "" {
		if !storage.ValidKey(strings.TrimSuffix(prefix, "/")) {
			return fmt.Errorf("fs: list: %w: prefix %q", storage.ErrInvalidKey, prefix)
		}
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			start = filepath.Join(f.root, filepath.FromSlash(prefix[:i]))
		}
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				// The start does not exist, or a directory vanished
				// under a concurrent Delete: nothing to list there.
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(f.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		}
		if err != nil {
			return err
		}
		return callback{fn(info(key, fi))}.orNil()
	})
	var cb callback
	if errors.As(err, &cb) {
		return cb.err
	}
	if err != nil {
		return fmt.Errorf("fs: list %q: %w", prefix, err)
	}
	return nil
}

// callback carries an error returned by List's fn through WalkDir, so that
// List returns it unwrapped and never mistakes it for fs.SkipDir/SkipAll.
type callback struct{ err error }

func (c callback) Error() string { return c.err.Error() }

func (c callback) orNil() error {
	if c.err == nil {
		return nil
	}
	return c
}

// CleanTemp removes the temporary files that interrupted Puts (a crash, a
// kill) left behind, if they were last modified more than olderThan ago, and
// returns how many it removed. Call it at start-up; a small olderThan (even
// zero) is safe only while no other process is writing to the same root.
func (f *FS) CleanTemp(olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if fi.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("fs: clean temp files: %w", err)
	}
	return n, nil
}

func info(key string, fi os.FileInfo) storage.Info {
	return storage.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
}

// mapErr translates a missing file into storage.ErrNotExist. ENOTDIR counts
// as missing too: "a/b" cannot exist when "a" is a file. Every other error
// (EACCES, EIO, ...) is returned as itself so an outage is never mistaken for
// a missing blob.
func mapErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("fs: %s %s: %w", op, key, storage.ErrNotExist)
	}
	return fmt.Errorf("fs: %s %s: %w", op, key, err)
}

// noSpace adds storage.ErrNoSpace to the chain of a full-disk error.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", storage.ErrNoSpace, err)
	}
	return err
}

// syncDir fsyncs a directory so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some filesystems and platforms cannot fsync a directory; the rename
	// itself has happened, so that is not a failure.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

type writerOnly struct{ io.Writer }

// ctxReader stops a copy when its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
