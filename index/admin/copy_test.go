package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

// TestCopyBlobsCorruptSource checks that a blob whose bytes do not match
// its content address is reported and not left at the destination.
func TestCopyBlobsCorruptSource(t *testing.T) {
	ctx := context.Background()
	src := indextest.Store(t)
	dst := indextest.Store(t)
	good := []byte("good bytes")
	if err := storage.PutBytes(ctx, src, storage.Key(indextest.Sum(good).SHA256), good); err != nil {
		t.Fatal(err)
	}
	badKey := storage.Key(indextest.Sum([]byte("what it should hold")).SHA256)
	if err := storage.PutBytes(ctx, src, badKey, []byte("what it holds")); err != nil {
		t.Fatal(err)
	}
	var failed []admin.BlobCopy
	st, err := admin.CopyBlobs(ctx, src, dst, admin.CopyOptions{Jobs: 2}, func(c admin.BlobCopy) {
		if c.Err != nil {
			failed = append(failed, c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Copied != 1 || st.Failed != 1 || len(failed) != 1 || failed[0].Key != badKey ||
		!strings.HasPrefix(failed[0].Err.Error(), "the source blob is corrupt") {
		t.Errorf("stats %+v, failures: %+v", st, failed)
	}
	if _, err := dst.Stat(ctx, badKey); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("corrupt blob left at the destination: %v", err)
	}
	// A cancelled copy stops with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := admin.CopyBlobs(cctx, src, dst, admin.CopyOptions{Jobs: 1}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled copy: %v", err)
	}
}
