package fs_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
)

// TestPutTempFile: a storage.TempFile is linked into place (one inode, no
// copy), durable and readable once the caller removes its temp name; one
// that does not qualify is copied or refused as any reader would be.
func TestPutTempFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	temp := func(body string) *os.File {
		t.Helper()
		f, err := os.CreateTemp(dir, "upload-*")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(body)
		f.Seek(0, 0)
		t.Cleanup(func() { f.Close() })
		return f
	}
	read := func(key string) string {
		t.Helper()
		rc, _, err := s.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	f := temp("linked body")
	if err := s.Put(ctx, "a/linked", storage.TempFile{File: f}, 11); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path("a/linked")
	src, _ := os.Stat(f.Name())
	dst, _ := os.Stat(p)
	if !os.SameFile(src, dst) {
		t.Error("the temp file was copied, not linked")
	}
	if dst.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", dst.Mode().Perm())
	}
	os.Remove(f.Name())
	if got := read("a/linked"); got != "linked body" {
		t.Errorf("blob = %q", got)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*")); len(matches) != 0 {
		t.Errorf("temporary names left: %v", matches)
	}

	// Not at offset 0: copied from where it stands.
	f = temp("xxpartial")
	f.Seek(2, 0)
	if err := s.Put(ctx, "a/partial", storage.TempFile{File: f}, 7); err != nil {
		t.Fatal(err)
	}
	if got := read("a/partial"); got != "partial" {
		t.Errorf("blob = %q", got)
	}
	// The wrong size: refused like any reader.
	f = temp("short")
	if err := s.Put(ctx, "a/short", storage.TempFile{File: f}, 99); !errors.Is(err, storage.ErrSizeMismatch) {
		t.Errorf("Put with a wrong size = %v, want ErrSizeMismatch", err)
	}
	if _, err := s.Stat(ctx, "a/short"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("a refused blob exists: %v", err)
	}
	// A cancelled context stores nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "a/cancelled", storage.TempFile{File: temp("x")}, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Put = %v", err)
	}
}
