package sync_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

// TestExportImport carries a sync across an "air gap": export the cache,
// import it into an offline instance with no upstream, which then serves
// exactly the exported files and their metadata.
func TestExportImport(t *testing.T) {
	up := syncUpstream(t)
	src := mirrortest.NewEnv(t, up, "", nil)
	ctx := context.Background()
	rep, err := mirrorsync.Run(ctx, deps(src), mirrorsync.Options{Requirements: reqs(t, "app"), Deps: true,
		Filter: mirrorsync.Filter{Latest: 1, NoPrerelease: true, OnlyBinary: true, Pythons: []string{"3.11"}, Platforms: []string{"manylinux_2_17_x86_64"}}})
	if err != nil || !rep.OK() {
		t.Fatalf("sync: %+v %v", rep, err)
	}
	var tarball bytes.Buffer
	ex, err := mirrorsync.Export(ctx, src.Cat, src.Store, &tarball, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Projects != 2 || ex.Files != 2 || ex.Blobs != 4 { // 2 wheels + their metadata
		t.Errorf("export: %+v", ex)
	}

	dst := mirrortest.NewEnv(t, nil, "", func(c *mirror.Config) { c.Offline = true })
	im, err := mirrorsync.Import(ctx, dst.Cat, dst.Store, bytes.NewReader(tarball.Bytes()), "test")
	if err != nil {
		t.Fatal(err)
	}
	if im.Projects != 2 || im.Files != 2 || im.Blobs != 4 {
		t.Errorf("import: %+v", im)
	}
	p := dst.Page("lib")
	if len(p.Files) != 1 || p.Files[0].Filename != "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl" {
		t.Fatalf("imported page: %+v", p.Files)
	}
	want := mirrortest.Wheel(mirrortest.Meta{Name: "lib", Version: "2.0"}, "cp311-cp311-manylinux_2_17_x86_64")
	if r := dst.Get("/mirror/files/lib/"+want.Filename, nil); r.Status != 200 || !bytes.Equal(r.Body, want.Body) {
		t.Errorf("imported file: %d, %d bytes", r.Status, len(r.Body))
	}
	if r := dst.Get("/mirror/files/app/app-2.0-py3-none-any.whl.metadata", nil); r.Status != 200 || !strings.Contains(string(r.Body), "Requires-Dist: lib>=2") {
		t.Errorf("imported metadata: %d %s", r.Status, r.Body)
	}
	// Importing again changes nothing and stores no blob twice.
	again, err := mirrorsync.Import(ctx, dst.Cat, dst.Store, bytes.NewReader(tarball.Bytes()), "")
	if err != nil || again.Blobs != 0 || again.Present != 4 {
		t.Errorf("second import: %+v %v", again, err)
	}

	// --since: a later sync caching more files of lib (its page unchanged)
	// exports lib only.
	rep, err = mirrorsync.Run(ctx, deps(src), mirrorsync.Options{Requirements: reqs(t, "lib==1.5")})
	if err != nil || rep.Fetched != 1 {
		t.Fatalf("second sync: %+v %v", rep, err)
	}
	var inc bytes.Buffer
	ex2, err := mirrorsync.Export(ctx, src.Cat, src.Store, &inc, ex.Serial, "test")
	if err != nil {
		t.Fatal(err)
	}
	if ex2.Projects != 1 || ex2.Files != 2 || len(ex2.Notes) != 0 {
		t.Errorf("incremental export: %+v", ex2)
	}
	if _, err := mirrorsync.Import(ctx, dst.Cat, dst.Store, &inc, ""); err != nil {
		t.Fatal(err)
	}
	if p := dst.Page("lib"); len(p.Files) != 2 {
		t.Errorf("after the incremental import: %d lib files", len(p.Files))
	}
	// Nothing new since the last export: an empty archive.
	var none bytes.Buffer
	if ex3, err := mirrorsync.Export(ctx, src.Cat, src.Store, &none, ex2.Serial, ""); err != nil || ex3.Projects != 0 {
		t.Errorf("export of nothing new: %+v %v", ex3, err)
	}
}

// TestImportCorrupt refuses an archive whose bytes do not match their
// hash, and records nothing.
func TestImportCorrupt(t *testing.T) {
	up := syncUpstream(t)
	src := mirrortest.NewEnv(t, up, "", nil)
	ctx := context.Background()
	if _, err := mirrorsync.Run(ctx, deps(src), mirrorsync.Options{Requirements: reqs(t, "lib==1.5")}); err != nil {
		t.Fatal(err)
	}
	var tarball bytes.Buffer
	if _, err := mirrorsync.Export(ctx, src.Cat, src.Store, &tarball, 0, ""); err != nil {
		t.Fatal(err)
	}
	// Rewrite the archive with one byte of the wheel changed.
	var bad bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(tarball.Bytes())), tar.NewWriter(&bad)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if strings.HasPrefix(h.Name, "blobs/") && h.Size > 200 {
			b[len(b)/2] ^= 0xff
		}
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	dst := mirrortest.NewEnv(t, nil, "", func(c *mirror.Config) { c.Offline = true })
	if _, err := mirrorsync.Import(ctx, dst.Cat, dst.Store, &bad, ""); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("corrupt import: %v", err)
	}
	if list, _ := dst.Cat.MirrorProjects(ctx); len(list) != 0 {
		t.Errorf("a corrupt import recorded %v", list)
	}
	if _, err := mirrorsync.Import(ctx, dst.Cat, dst.Store, strings.NewReader("not a tar"), ""); err == nil {
		t.Errorf("imported garbage")
	}
}

// TestExportPullThrough exports files the pull-through cache stored for
// pip (no sync): a wheel whose PEP 658 file was never fetched takes it
// from the wheel, so that pip on the other side gets the metadata the page
// advertises.
func TestExportPullThrough(t *testing.T) {
	up := mirrortest.Start(t, false)
	src := mirrortest.NewEnv(t, up, "", nil)
	src.Page("acme-util")
	if r := src.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 {
		t.Fatalf("pull-through: %d", r.Status)
	}
	var tarball bytes.Buffer
	ex, err := mirrorsync.Export(context.Background(), src.Cat, src.Store, &tarball, 0, "")
	if err != nil || ex.Files != 1 || ex.Blobs != 2 || len(ex.Notes) != 0 {
		t.Fatalf("export: %+v %v", ex, err)
	}
	dst := mirrortest.NewEnv(t, nil, "", func(c *mirror.Config) { c.Offline = true })
	if _, err := mirrorsync.Import(context.Background(), dst.Cat, dst.Store, &tarball, ""); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(mirrortest.FilePath("acme_util-0.2-py3-none-any.whl"))
	md, _ := mirrortest.WheelMetadata(want)
	if r := dst.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl.metadata", nil); r.Status != 200 || !bytes.Equal(r.Body, md) {
		t.Errorf("metadata on the other side: %d %q", r.Status, r.Body)
	}
	if p := dst.Page("acme-util"); len(p.Files) != 1 {
		t.Errorf("imported page lists %d files", len(p.Files))
	}
}
