package fs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/storagetest"
)

func newFS(t *testing.T) *FS {
	t.Helper()
	f, err := New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCompliance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newFS(t) })
}

func TestOpenReturnsFile(t *testing.T) {
	f := newFS(t)
	if err := storage.PutBytes(t.Context(), f, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	rc, _, err := f.Open(t.Context(), "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File (sendfile)", rc)
	}
}

func TestPath(t *testing.T) {
	f := newFS(t)
	p, err := f.Path("sha256/ab/cd/abcd")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(f.Root(), "sha256", "ab", "cd", "abcd"); p != want {
		t.Errorf("Path = %q, want %q", p, want)
	}
	for _, key := range []string{"../x", "", "a/.tmp-123", ".tmp-x/y"} {
		if _, err := f.Path(key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Path(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	var s storage.Store = f
	if _, ok := s.(storage.Pather); !ok {
		t.Error("*FS does not implement storage.Pather")
	}
}

// A crash mid-Put leaves a temp file behind: List must not show it, and
// CleanTemp must remove it once it is old enough.
func TestTempFiles(t *testing.T) {
	f := newFS(t)
	ctx := t.Context()
	if err := storage.PutBytes(ctx, f, "sha256/ab/blob", []byte("x")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.Root(), "sha256", "ab")
	stale := filepath.Join(dir, tempPrefix+"123")
	fresh := filepath.Join(dir, tempPrefix+"456")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	var listed []string
	if err := f.List(ctx, "", func(fi storage.Info) error {
		listed = append(listed, fi.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != "sha256/ab/blob" {
		t.Errorf("List = %q, want only the committed blob", listed)
	}
	if _, err := f.Stat(ctx, "sha256/ab/"+tempPrefix+"123"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Stat of a temp file = %v, want ErrInvalidKey", err)
	}

	n, err := f.CleanTemp(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("CleanTemp(1h) removed %d files, want 1", n)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
	if n, err := f.CleanTemp(0); err != nil || n != 1 {
		t.Errorf("CleanTemp(0) = %d, %v; want 1, nil", n, err)
	}
	if _, err := f.Stat(ctx, "sha256/ab/blob"); err != nil {
		t.Errorf("CleanTemp touched a blob: %v", err)
	}
}

// Failed Puts must not leave temp files around.
func TestFailedPutLeavesNoTempFile(t *testing.T) {
	f := newFS(t)
	ctx := t.Context()
	_ = f.Put(ctx, "a/b/c", strings.NewReader("short"), 100)
	_ = f.Put(ctx, "a/b/c", strings.NewReader("too long"), 1)
	if n, err := f.CleanTemp(0); err != nil || n != 0 {
		t.Errorf("CleanTemp after failed Puts = %d, %v; want 0, nil", n, err)
	}
}

func TestDeleteRemovesEmptyDirs(t *testing.T) {
	f := newFS(t)
	ctx := t.Context()
	for _, key := range []string{"sha256/ab/cd/1", "sha256/ab/ef/2"} {
		if err := storage.PutBytes(ctx, f, key, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Delete(ctx, "sha256/ab/cd/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.Root(), "sha256", "ab", "cd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir sha256/ab/cd not removed: %v", err)
	}
	if err := f.Delete(ctx, "sha256/ab/ef/2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.Root(), "sha256")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir sha256 not removed: %v", err)
	}
	if _, err := os.Stat(f.Root()); err != nil {
		t.Errorf("root removed: %v", err)
	}
}

// fullWriter fails like a write to a full disk, after limit bytes.
type fullWriter struct {
	w     io.Writer
	limit int
}

func (fw *fullWriter) Write(p []byte) (int, error) {
	if len(p) > fw.limit {
		n, _ := fw.w.Write(p[:fw.limit])
		fw.limit = 0
		return n, &os.PathError{Op: "write", Path: "tmp", Err: syscall.ENOSPC}
	}
	fw.limit -= len(p)
	return fw.w.Write(p)
}

func TestPutNoSpace(t *testing.T) {
	f := newFS(t)
	f.wrapTemp = func(w io.Writer) io.Writer { return &fullWriter{w: w, limit: 1000} }
	data := bytes.Repeat([]byte("x"), 100_000)
	err := f.Put(t.Context(), "full/disk", bytes.NewReader(data), int64(len(data)))
	if !errors.Is(err, storage.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk = %v, want ErrNoSpace wrapping ENOSPC", err)
	}
	if _, err := f.Stat(t.Context(), "full/disk"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat after failed Put = %v, want ErrNotExist", err)
	}
	if n, err := f.CleanTemp(0); err != nil || n != 0 {
		t.Errorf("CleanTemp after failed Put = %d, %v; want 0, nil", n, err)
	}
}

// TestPutDevFull writes through the real kernel ENOSPC path of /dev/full.
func TestPutDevFull(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/dev/full is Linux-only")
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	f := newFS(t)
	f.wrapTemp = func(io.Writer) io.Writer { return full }
	err = f.Put(t.Context(), "full/dev", strings.NewReader("data"), 4)
	if !errors.Is(err, storage.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put = %v, want ErrNoSpace wrapping ENOSPC", err)
	}
}

func TestPermissionErrorIsNotNotExist(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs Unix permissions and a non-root user")
	}
	f := newFS(t)
	ctx := t.Context()
	if err := storage.PutBytes(ctx, f, "locked/blob", []byte("x")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.Root(), "locked")
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	_, err := f.Stat(ctx, "locked/blob")
	if err == nil || errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat in an unreadable dir = %v, want a permission error, not ErrNotExist", err)
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("Stat in an unreadable dir = %v, want os.ErrPermission in the chain", err)
	}
}

func TestNewRootIsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(p); err == nil {
		t.Error("New on a regular file succeeded")
	}
}
