package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/storage"
)

// copySummary parses the summary line of pyindex storage copy.
var copySummary = regexp.MustCompile(`: (\d+) blobs (?:copied|to copy) \([^)]*\), (\d+) already present, (\d+) failed`)

func copyCounts(t *testing.T, out string) (copied, present, failed int) {
	t.Helper()
	m := copySummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in:\n%s", out)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return n(m[1]), n(m[2]), n(m[3])
}

// blobs returns every key and its bytes in a store.
func blobs(t *testing.T, s storage.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if err := s.List(context.Background(), "", func(fi storage.Info) error {
		out[fi.Key] = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for k := range out {
		out[k] = readBlob(t, s, k)
	}
	return out
}

func sameBlobs(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d blobs, want %d", what, len(got), len(want))
	}
	for k, b := range want {
		if !bytes.Equal(got[k], b) {
			t.Errorf("%s: blob %s differs (%d bytes, want %d)", what, k, len(got[k]), len(b))
		}
	}
}

// TestStorageCopy moves a filesystem store to MinIO, interrupted halfway
// and resumed, and back to a new folder.
func TestStorageCopy(t *testing.T) {
	ctx := context.Background()
	s3b := s3Backend(t)
	srcCfg, srcTOML := fsBackend().config(t)
	srcConf := writeConfig(t, srcTOML)
	src, err := openStore(ctx, srcCfg)
	if err != nil {
		t.Fatal(err)
	}
	// Content-addressed blobs of several sizes, one larger than a part
	// (5MiB would do; keep the default 16MiB part size and write 17MiB).
	for i := range 12 {
		size := 100 * (i + 1)
		if i == 0 {
			size = 17 << 20
		}
		b := bytes.Repeat([]byte{byte('a' + i)}, size)
		if err := storage.PutBytes(ctx, src, storage.Key(sum(b)), b); err != nil {
			t.Fatal(err)
		}
	}
	// A key that is not content-addressed is copied too.
	if err := storage.PutBytes(ctx, src, "other/notes.txt", []byte("kept as is")); err != nil {
		t.Fatal(err)
	}
	want := blobs(t, src)

	dstCfg, dstTOML := s3b.config(t)
	dstConf := writeConfig(t, dstTOML)
	dst, err := openStore(ctx, dstCfg)
	if err != nil {
		t.Fatal(err)
	}

	// The same store is refused.
	if _, _, err := cli(t, "storage", "copy", "--config", srcConf, "--to", srcConf); err == nil || !strings.Contains(err.Error(), "describes the store being copied") {
		t.Errorf("copy onto itself: %v", err)
	}

	// A dry run copies nothing.
	out, _, err := cli(t, "storage", "copy", "--config", srcConf, "--to", dstConf, "--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if c, p, f := copyCounts(t, out); c != len(want) || p != 0 || f != 0 {
		t.Errorf("dry run: %d to copy, %d present, %d failed; want %d, 0, 0", c, p, f, len(want))
	}
	if got := blobs(t, dst); len(got) != 0 {
		t.Errorf("dry run stored %d blobs", len(got))
	}

	// An interrupted copy: half the blobs made it; one more was being
	// written under another size (a stale or foreign object), which the
	// resumed copy must replace.
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	half := keys[:len(keys)/2]
	for _, k := range half {
		if err := storage.PutBytes(ctx, dst, k, want[k]); err != nil {
			t.Fatal(err)
		}
	}
	stale := keys[len(keys)-1]
	if err := storage.PutBytes(ctx, dst, stale, []byte("short")); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, "storage", "copy", "--config", srcConf, "--to", dstConf)
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	if c, p, f := copyCounts(t, out); c != len(keys)-len(half) || p != len(half) || f != 0 {
		t.Errorf("resumed copy: %d copied, %d present, %d failed; want %d, %d, 0\n%s", c, p, f, len(keys)-len(half), len(half), out)
	}
	sameBlobs(t, "fs -> s3", blobs(t, dst), want)

	// Running it again copies nothing.
	out, _, err = cli(t, "storage", "copy", "--config", srcConf, "--to", dstConf)
	if c, p, _ := copyCounts(t, out); err != nil || c != 0 || p != len(keys) {
		t.Errorf("second run: %v, %d copied, %d present\n%s", err, c, p, out)
	}

	// And back from S3 to a new folder.
	backCfg, backTOML := fsBackend().config(t)
	backConf := writeConfig(t, backTOML)
	out, _, err = cli(t, "storage", "copy", "--config", dstConf, "--to", backConf, "-v")
	if err != nil {
		t.Fatalf("copy back: %v\n%s", err, out)
	}
	if c, _, _ := copyCounts(t, out); c != len(keys) || !strings.Contains(out, "copied "+keys[0]) {
		t.Errorf("copy back: %d copied, want %d\n%s", c, len(keys), out)
	}
	back, err := openStore(ctx, backCfg)
	if err != nil {
		t.Fatal(err)
	}
	sameBlobs(t, "s3 -> fs", blobs(t, back), want)
}
