package admin_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestBackupRestore backs a catalog and its files up to a folder and to a
// tar file, and restores each into a fresh catalog and store (cmd/pyindex's
// TestBackupRestore does the same through the CLI against a running
// server).
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	store := indextest.Store(t)
	whl := indextest.SeedDist(t, cat, store, "acme_util-0.1-py3-none-any.whl")
	indextest.SeedDist(t, cat, store, "acme_util-0.1.tar.gz")

	for _, name := range []string{"folder", "backup.tar"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), name)
			if err := admin.CheckBackupTarget(out); err != nil {
				t.Fatal(err)
			}
			res, err := admin.Backup(ctx, admin.BackupConfig{Out: out, Version: "test", Backend: "fs"}, cat, store)
			if err != nil {
				t.Fatal(err)
			}
			// Two files and the wheel's metadata.
			if !res.FilesCopied || res.Manifest.Blobs != 3 || res.Manifest.Files != 2 || len(res.Missing) != 0 {
				t.Errorf("backup %+v", res)
			}
			if err := admin.CheckBackupTarget(out); err == nil {
				t.Error("a finished backup accepted as the target of another")
			}

			data := t.TempDir()
			catalog := filepath.Join(data, "catalog.db")
			if err := admin.CheckRestoreTarget(out, false, data); err != nil {
				t.Fatal(err)
			}
			to := indextest.Store(t)
			got, err := admin.Restore(ctx, admin.RestoreConfig{In: out, CatalogPath: catalog}, to, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Blobs != 3 || got.Manifest.Version != "test" {
				t.Errorf("restore %+v", got)
			}
			if err := admin.CheckRestoreTarget(out, false, data); err == nil {
				t.Error("restore into a data folder that is not empty allowed without force")
			}
			restored := indextest.OpenSQLite(t, catalog)
			if f, err := restored.File(ctx, whl.Filename); err != nil || f.SHA256 != whl.SHA256 {
				t.Errorf("restored row of %s: %+v, %v", whl.Filename, f, err)
			}
			if n, err := admin.MissingBlobs(ctx, restored, to); err != nil || n != 0 {
				t.Errorf("missing blobs after restore: %d, %v", n, err)
			}
			rc, _, err := to.Open(ctx, whl.BlobKey)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			_, err = b.ReadFrom(rc)
			rc.Close()
			if err != nil || !bytes.Equal(b.Bytes(), indextest.Dist(t, whl.Filename)) {
				t.Errorf("restored blob of %s differs (%v)", whl.Filename, err)
			}
		})
	}
}

// TestBackupRefusesCompressedNames: "pyindex backup x.tar.gz" once wrote a
// folder called x.tar.gz; a name that promises compression is refused.
func TestBackupRefusesCompressedNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x.tar.gz", "x.tgz", "x.zip", "X.TAR.GZ"} {
		out := filepath.Join(dir, name)
		err := admin.CheckBackupTarget(out)
		if err == nil || !strings.Contains(err.Error(), "uncompressed .tar") || !strings.Contains(err.Error(), "x.tar") && !strings.Contains(err.Error(), "X.tar") {
			t.Errorf("CheckBackupTarget(%s) = %v", name, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s was created", name)
		}
	}
	if err := admin.CheckBackupTarget(filepath.Join(dir, "x.tar")); err != nil {
		t.Errorf("x.tar: %v", err)
	}
}
