package admin

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// RestoreConfig says which backup to restore and where its catalog goes.
type RestoreConfig struct {
	// In is a backup folder or tar file written by Backup.
	In string
	// CatalogPath is the catalog file of the data folder restored into.
	CatalogPath string
}

// RestoreResult says what Restore put back.
type RestoreResult struct {
	Manifest BackupManifest
	Blobs    int   // blobs put into the store
	Bytes    int64 // their size
}

// CheckRestoreTarget checks that the backup in exists and, unless force,
// that the folders a restore writes into (the data folder, the files
// folder) are empty or absent. Call it before opening the store, which may
// create the files folder.
func CheckRestoreTarget(in string, force bool, dirs ...string) error {
	if _, err := os.Stat(in); err != nil {
		return err
	}
	if force {
		return nil
	}
	for _, dir := range dirs {
		if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
			return fmt.Errorf("the data folder %s is not empty: restore into an empty folder, or pass --force to replace its catalog", dir)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Restore puts the backup cfg.In back: its blobs into store, and its
// catalog in place of the one at cfg.CatalogPath (with the WAL of an old
// one removed), but only once every entry was read and the backup found
// whole (the manifest, written last, present; as many blobs as it says).
// ignored, when not nil, is called with each entry that is not part of a
// backup. The caller opens the restored catalog afterwards, as the server
// will, which migrates a catalog from an older pyindex and refuses one
// from a newer.
func Restore(ctx context.Context, cfg RestoreConfig, store storage.Store, ignored func(name string)) (*RestoreResult, error) {
	in := cfg.In
	fi, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	var src backupReader
	if fi.IsDir() {
		// Refuse an unfinished backup folder before writing anything; a
		// tar file's manifest comes last and is checked at the end.
		_, errCat := os.Stat(filepath.Join(in, backupCatalogName))
		if _, err := os.Stat(filepath.Join(in, backupManifestName)); err != nil && errCat == nil {
			return nil, fmt.Errorf("restore %s: no %s: the backup is incomplete (it did not finish)", in, backupManifestName)
		}
		src = &dirRestore{root: in}
	} else {
		f, err := os.Open(in)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src = &tarRestore{tr: tar.NewReader(f)}
	}

	tmpCatalog := cfg.CatalogPath + ".restoring"
	defer os.Remove(tmpCatalog)
	var man *BackupManifest
	var gotCatalog bool
	res := &RestoreResult{}
	err = src.each(func(name string, size int64, r io.Reader) error {
		switch {
		case name == backupManifestName:
			var m BackupManifest
			if err := json.NewDecoder(r).Decode(&m); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			man = &m
		case name == backupCatalogName:
			if err := writeFileSync(tmpCatalog, r, 0o644); err != nil {
				return err
			}
			gotCatalog = true
		case strings.HasPrefix(name, backupFilesDir+"/"):
			key := strings.TrimPrefix(name, backupFilesDir+"/")
			if !storage.ValidKey(key) {
				return fmt.Errorf("backup entry %q is not a valid blob key", name)
			}
			if err := store.Put(ctx, key, r, size); err != nil {
				return err
			}
			res.Blobs++
			res.Bytes += size
		default:
			if ignored != nil {
				ignored(name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w (files already restored stay; rerun with --force)", in, err)
	}
	if !gotCatalog {
		return nil, fmt.Errorf("restore %s: no %s in it: not a pyindex backup", in, backupCatalogName)
	}
	// The manifest is written last: without it the backup did not finish.
	if man == nil {
		return nil, fmt.Errorf("restore %s: no %s: the backup is incomplete (it did not finish)", in, backupManifestName)
	}
	if res.Blobs != man.Blobs {
		return nil, fmt.Errorf("restore %s: it holds %d files, its manifest says %d: the backup is damaged", in, res.Blobs, man.Blobs)
	}
	res.Manifest = *man
	// Replace the catalog (and any WAL of an old one, under --force).
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(cfg.CatalogPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.Rename(tmpCatalog, cfg.CatalogPath); err != nil {
		return nil, err
	}
	return res, nil
}

// MissingBlobs counts the blobs cat references that store lacks, as after
// a restore whose bucket was not restored with it.
func MissingBlobs(ctx context.Context, cat *index.Catalog, store storage.Store) (int, error) {
	var missing int
	err := cat.BlobKeys(ctx, func(k string) error {
		if _, err := store.Stat(ctx, k); errors.Is(err, storage.ErrNotExist) {
			missing++
		} else if err != nil {
			return err
		}
		return nil
	})
	return missing, err
}

// backupReader walks the entries of a backup.
type backupReader interface {
	each(fn func(name string, size int64, r io.Reader) error) error
}

// dirRestore reads a backup folder.
type dirRestore struct{ root string }

func (d *dirRestore) each(fn func(string, int64, io.Reader) error) error {
	for _, name := range []string{backupManifestName, backupCatalogName} {
		if err := d.file(name, fn); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	files := filepath.Join(d.root, backupFilesDir)
	err := filepath.WalkDir(files, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		return d.file(filepath.ToSlash(rel), fn)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a catalog-only backup (s3)
	}
	return err
}

func (d *dirRestore) file(name string, fn func(string, int64, io.Reader) error) error {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return fn(name, fi.Size(), f)
}

// tarRestore reads a backup tar file.
type tarRestore struct{ tr *tar.Reader }

func (t *tarRestore) each(fn func(string, int64, io.Reader) error) error {
	for {
		h, err := t.tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := fn(h.Name, h.Size, t.tr); err != nil {
			return err
		}
	}
}
