package sync_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
	"github.com/pyindex/pyindex/storage"
)

// TestExportImportGeneric carries generic files across the air gap: a full
// export, an import that records them with their bytes verified, a second
// import that changes nothing, an incremental export, and a local file with
// other bytes that an import never replaces.
func TestExportImportGeneric(t *testing.T) {
	ctx := context.Background()
	srcCat, srcStore := indextest.Catalog(t), indextest.Store(t)
	add := func(cat *index.Catalog, store storage.Store, name, version, file, body string) {
		t.Helper()
		key, sum, err := storage.PutContent(ctx, store, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := cat.AddGenericFile(ctx, index.NewGenericFile{Name: name, Version: version, Filename: file,
			Size: int64(len(body)), SHA256: sum, BlobKey: key, UploadedBy: "ci"}); err != nil {
			t.Fatal(err)
		}
	}
	add(srcCat, srcStore, "myapp", "1.0", "myapp.zip", "app 1.0")
	add(srcCat, srcStore, "myapp", "1.1", "myapp.zip", "app 1.1")
	add(srcCat, srcStore, "vendor-dlls", "1.4", "dlls.zip", "dlls")

	var tarball bytes.Buffer
	ex, err := mirrorsync.Export(ctx, srcCat, srcStore, &tarball, 0, "test")
	if err != nil || ex.Generic != 3 || ex.Blobs != 3 {
		t.Fatalf("export: %+v %v", ex, err)
	}
	dstCat, dstStore := indextest.Catalog(t), indextest.Store(t)
	add(dstCat, dstStore, "vendor-dlls", "1.4", "dlls.zip", "other dlls")
	im, err := mirrorsync.Import(ctx, dstCat, dstStore, bytes.NewReader(tarball.Bytes()), "importer")
	if err != nil || im.Generic != 2 || im.Blobs != 3 || len(im.Notes) != 1 || !strings.Contains(im.Notes[0], "other bytes") {
		t.Fatalf("import: %+v %v", im, err)
	}
	f, err := dstCat.LatestGenericFile(ctx, "myapp", "myapp.zip", false)
	if err != nil || f.Version != "1.1" || f.UploadedBy != "ci" {
		t.Fatalf("imported latest: %+v %v", f, err)
	}
	rc, _, err := dstStore.Open(ctx, f.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(rc)
	rc.Close()
	if b.String() != "app 1.1" {
		t.Errorf("imported bytes %q", b.String())
	}
	if kept, _ := dstCat.GenericFile(ctx, "vendor-dlls", "1.4", "dlls.zip"); kept.Size != int64(len("other dlls")) {
		t.Error("an import replaced a local file")
	}
	events, _ := dstCat.AuditEvents(ctx, index.AuditQuery{Action: index.AuditGenericUpload, Actor: "importer"})
	if len(events) != 2 {
		t.Errorf("audit: %+v", events)
	}
	again, err := mirrorsync.Import(ctx, dstCat, dstStore, bytes.NewReader(tarball.Bytes()), "importer")
	if err != nil || again.Generic != 0 || again.Present != 3 {
		t.Errorf("second import: %+v %v", again, err)
	}

	// Incremental: only the packages changed after the first export.
	add(srcCat, srcStore, "myapp", "1.2", "myapp.zip", "app 1.2")
	var inc bytes.Buffer
	ex2, err := mirrorsync.Export(ctx, srcCat, srcStore, &inc, ex.Serial, "test")
	if err != nil || ex2.Generic != 3 { // myapp's three versions; vendor-dlls unchanged
		t.Fatalf("incremental export: %+v %v", ex2, err)
	}
	if im, err := mirrorsync.Import(ctx, dstCat, dstStore, bytes.NewReader(inc.Bytes()), ""); err != nil || im.Generic != 1 {
		t.Errorf("incremental import: %+v %v", im, err)
	}

	// A manifest with a hostile file name is refused before anything is stored.
	// (Same length, so that the tar stays valid.)
	bad := strings.Replace(tarball.String(), `"filename": "dlls.zip"`, `"filename": "../s.zip"`, 1)
	if bad == tarball.String() {
		t.Fatal("the manifest has no dlls.zip entry to spoil")
	}
	emptyStore := indextest.Store(t)
	_, err = mirrorsync.Import(ctx, indextest.Catalog(t), emptyStore, strings.NewReader(bad), "")
	if err == nil || !strings.Contains(err.Error(), "file name") {
		t.Errorf("a hostile generic file name: %v", err)
	}
	n := 0
	emptyStore.List(ctx, "", func(storage.Info) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d blobs stored from a refused archive", n)
	}
}
