package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

// fsckJSON runs pyindex fsck --json with args and decodes the report.
func fsckJSON(t *testing.T, args ...string) (admin.FsckReport, error) {
	t.Helper()
	out, stderr, err := cli(t, append([]string{"fsck", "--json"}, args...)...)
	var rep admin.FsckReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("fsck %v: %v (err %v)\n%s\n%s", args, jerr, err, out, stderr)
	}
	return rep, err
}

// problems summarizes a report as "problem kind filename" lines, sorted by
// key, for comparison.
func problems(rep admin.FsckReport) []string {
	var out []string
	for _, p := range rep.Problems {
		if len(p.Refs) == 0 {
			out = append(out, p.Problem+" "+p.Key)
		}
		for _, r := range p.Refs {
			out = append(out, fmt.Sprintf("%s %s %s", p.Problem, r.Kind, r.Filename))
		}
	}
	return out
}

func TestFsck(t *testing.T) {
	t.Run("fs", func(t *testing.T) {
		testFsck(t, fsBackend())
	})
	t.Run("s3", func(t *testing.T) {
		testFsck(t, s3Backend(t))
	})
}

func testFsck(t *testing.T, b backend) {
	ctx := context.Background()
	cfg, toml := b.config(t)
	conf := writeConfig(t, toml)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cat := indextest.OpenCatalog(t, catalogPath(cfg))
	store, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	core := indextest.SeedDist(t, cat, store, "acme_core-1.0-py3-none-any.whl")
	gone := indextest.SeedDist(t, cat, store, "acme_util-0.1.tar.gz")
	bad := indextest.SeedDist(t, cat, store, "acme_util-0.2-py3-none-any.whl")
	indextest.SeedDist(t, cat, store, "acme_util-0.2.tar.gz")

	// A cached mirror file, whose blob the test deletes too.
	up := []byte("upstream sdist bytes")
	upSum := sum(up)
	upKey := storage.Key(upSum)
	if err := storage.PutBytes(ctx, store, upKey, up); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cat.PutMirrorPage(ctx, &index.MirrorProject{Name: "upstream-pkg", Versions: []string{"1.0"},
		Files: []index.MirrorFile{{Filename: "upstream_pkg-1.0.tar.gz", URL: "http://upstream.invalid/upstream_pkg-1.0.tar.gz",
			Hashes: map[string]string{"sha256": upSum}}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cat.UpdateMirrorFile(ctx, "upstream-pkg", "upstream_pkg-1.0.tar.gz", func(f *index.MirrorFile) {
		f.BlobKey, f.SHA256, f.Size, f.CachedAt = upKey, upSum, int64(len(up)), time.Now()
	}); err != nil {
		t.Fatal(err)
	}

	// A consistent store: no problems, exit status 0.
	out, _, err := cli(t, "fsck", "--verify-hashes", "--config", conf)
	if err != nil || !strings.Contains(out, "no problems") || !strings.Contains(out, "7 references") {
		t.Fatalf("fsck of a consistent store: %v\n%s", err, out)
	}

	// Plant the problems: an orphan, a missing file, a missing metadata
	// blob, a missing mirrored file, and a blob whose bytes changed (same
	// size, so only --verify-hashes sees it).
	orphan := []byte("orphan left by a crash")
	orphanKey := storage.Key(sum(orphan))
	if err := storage.PutBytes(ctx, store, orphanKey, orphan); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{gone.BlobKey, core.MetadataKey, upKey} {
		if err := store.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	corrupt := readBlob(t, store, bad.BlobKey)
	corrupt[len(corrupt)/2] ^= 0xff
	if err := storage.PutBytes(ctx, store, bad.BlobKey, corrupt); err != nil {
		t.Fatal(err)
	}

	// The orphan is fresh: within the default grace period it could be an
	// upload in flight, so it is only counted.
	rep, err := fsckJSON(t, "--config", conf)
	if !errors.Is(err, errFsckProblems) {
		t.Errorf("fsck with problems: err %v, want errFsckProblems", err)
	}
	want := []string{
		"missing metadata acme_core-1.0-py3-none-any.whl",
		"missing file acme_util-0.1.tar.gz",
		"missing mirror-file upstream_pkg-1.0.tar.gz",
	}
	sortByKey(want, map[string]string{
		"missing metadata acme_core-1.0-py3-none-any.whl": core.MetadataKey,
		"missing file acme_util-0.1.tar.gz":               gone.BlobKey,
		"missing mirror-file upstream_pkg-1.0.tar.gz":     upKey,
	})
	if got := problems(rep); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.YoungUnreferenced != 1 {
		t.Errorf("young unreferenced blobs = %d, want 1 (the fresh orphan)", rep.YoungUnreferenced)
	}

	// With no grace the orphan is reported; --verify-hashes finds the
	// changed bytes.
	rep, err = fsckJSON(t, "--config", conf, "--grace", "0s", "--verify-hashes")
	if !errors.Is(err, errFsckProblems) {
		t.Errorf("err %v, want errFsckProblems", err)
	}
	counts := map[string]int{}
	for _, p := range rep.Problems {
		counts[p.Problem]++
		if p.Problem == admin.ProblemCorrupt && (p.Key != bad.BlobKey || !strings.Contains(p.Detail, "sha256 is "+sum(corrupt))) {
			t.Errorf("corrupt problem %+v, want key %s with the actual digest", p, bad.BlobKey)
		}
		if p.Problem == admin.ProblemOrphan && p.Key != orphanKey {
			t.Errorf("orphan %s, want %s", p.Key, orphanKey)
		}
	}
	if counts[admin.ProblemMissing] != 3 || counts[admin.ProblemOrphan] != 1 || counts[admin.ProblemCorrupt] != 1 {
		t.Errorf("problem counts %v, want 3 missing, 1 orphan, 1 corrupt", counts)
	}
	if rep.Verified != 4 { // 7 references to 7 keys, 3 of them missing
		t.Errorf("verified %d blobs, want 4", rep.Verified)
	}

	// The human-readable report names every problem and the files.
	out, _, err = cli(t, "fsck", "--config", conf, "--grace", "0s", "--verify-hashes")
	for _, s := range []string{"missing  " + gone.BlobKey, "file acme_util-0.1.tar.gz (acme-util 0.1)", "orphan   " + orphanKey,
		"corrupt  " + bad.BlobKey, "5 problems (3 missing, 1 orphan, 1 corrupt)"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
	if err == nil {
		t.Error("exit status 0 with problems")
	}

	// Repair.
	serial, _ := cat.Serial(ctx)
	out, _, err = cli(t, "fsck", "--config", conf, "--grace", "0s", "--verify-hashes", "--repair")
	if err != nil {
		t.Fatalf("fsck --repair: %v\n%s", err, out)
	}
	if !strings.Contains(out, "0 left after repair") {
		t.Errorf("repair report:\n%s", out)
	}
	if _, err := store.Stat(ctx, orphanKey); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("orphan still stored: %v", err)
	}
	for _, f := range []index.File{gone, bad} {
		if _, err := cat.File(ctx, f.Filename); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("row of %s with a broken blob: %v, want removed", f.Filename, err)
		}
	}
	// The corrupt wheel's bytes and its metadata blob went with its row.
	for _, key := range []string{bad.BlobKey, bad.MetadataKey} {
		if _, err := store.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("blob %s of the removed row still stored: %v", key, err)
		}
	}
	if f, err := cat.File(ctx, core.Filename); err != nil || f.MetadataKey != "" || f.MetadataSHA256 != "" {
		t.Errorf("%s after repair: %+v, %v; want the row without metadata", core.Filename, f, err)
	}
	if f, err := cat.MirrorFile(ctx, "upstream-pkg", "upstream_pkg-1.0.tar.gz"); err != nil || f.BlobKey != "" {
		t.Errorf("mirror file after repair: %+v, %v; want it uncached", f, err)
	}
	if s, _ := cat.Serial(ctx); s <= serial {
		t.Errorf("serial %d after repair, was %d", s, serial)
	}
	events, err := cat.AuditEvents(ctx, index.AuditQuery{Action: "fsck-repair"})
	if err != nil || len(events) != 4 {
		t.Errorf("audit: %d fsck-repair events (%v), want 4: %+v", len(events), err, events)
	}
	// What is left is consistent.
	out, _, err = cli(t, "fsck", "--config", conf, "--grace", "0s", "--verify-hashes")
	if err != nil || !strings.Contains(out, "no problems") {
		t.Errorf("fsck after repair: %v\n%s", err, out)
	}
}

// sortByKey orders lines as fsck does: by the blob key each stands for.
func sortByKey(lines []string, keys map[string]string) {
	for i := 1; i < len(lines); i++ {
		for j := i; j > 0 && keys[lines[j]] < keys[lines[j-1]]; j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
}
