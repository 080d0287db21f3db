package admin

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// A backup is laid out like a data folder, as a folder or a tar file:
//
//	pyindex-backup.json   the manifest (BackupManifest)
//	catalog.db            a consistent copy of the catalog (VACUUM INTO)
//	files/<key>           the blobs the copy references (filesystem backend)
//
// so a backup folder can also be served directly as a data folder.
const (
	backupManifestName = "pyindex-backup.json"
	backupCatalogName  = "catalog.db"
	backupFilesDir     = "files"
)

// BackupManifest describes a backup.
type BackupManifest struct {
	Version  string    `json:"pyindex_version"`
	Created  time.Time `json:"created"`
	Serial   int64     `json:"serial"`
	Projects int64     `json:"projects"`
	Files    int64     `json:"files"`
	// Backend is the storage backend of the server backed up; Blobs is how
	// many blobs the backup holds (0 for s3, whose bucket is backed up by
	// its own means).
	Backend string `json:"backend"`
	Blobs   int    `json:"blobs"`
}

// BackupConfig says where a backup goes and what its manifest records.
type BackupConfig struct {
	// Out is a new (or empty) folder, or a file whose name ends in .tar.
	Out string
	// Version is the pyindex version recorded in the manifest.
	Version string
	// Backend is the storage backend recorded in the manifest.
	Backend string
}

// BackupResult says what Backup wrote.
type BackupResult struct {
	Manifest BackupManifest
	// FilesCopied is false when the store has no local files to copy
	// (s3): the backup then holds the catalog only.
	FilesCopied bool
	Bytes       int64 // size of the blobs copied
	Linked      int   // blobs hard-linked rather than copied
	// Deleted counts blobs deleted since the catalog snapshot (pruned,
	// say): harmless, the restored catalog lists those files without
	// content, as fsck would report.
	Deleted int
	// Missing lists blobs the catalog still references but the store
	// lacks: lost, and absent from the backup.
	Missing []string
}

// CheckBackupTarget checks that out can receive a backup: a .tar file that
// does not exist yet, or a folder that is empty or absent (it is created).
// Backup checks the same; calling this first fails before the catalog and
// the store are opened.
func CheckBackupTarget(out string) error {
	for _, ext := range []string{".tar.gz", ".tgz", ".gz", ".zip", ".tar.zst", ".tar.xz", ".tar.bz2"} {
		if strings.HasSuffix(strings.ToLower(out), ext) {
			return fmt.Errorf("%s: a backup is a folder or an uncompressed .tar file, not %s; name it %s and compress it afterwards if you like",
				out, ext, strings.TrimSuffix(out[:len(out)-len(ext)], ".tar")+".tar")
		}
	}
	if strings.HasSuffix(out, ".tar") {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s already exists", out)
		}
		return nil
	}
	return emptyDir(out)
}

// Backup writes a consistent online backup of cat and store to cfg.Out:
// the catalog copied from one snapshot (Catalog.Backup), and, when the
// store keeps its blobs in local files (storage.Pather), the blobs that
// snapshot references (hard-linked into a folder on the same filesystem).
// The manifest is written last, so a backup without one did not finish. A
// tar file left unfinished is removed. Blobs the catalog references but
// the store lacks are listed in the result, not returned as an error.
func Backup(ctx context.Context, cfg BackupConfig, cat *index.Catalog, store storage.Store) (*BackupResult, error) {
	out := cfg.Out
	if err := CheckBackupTarget(out); err != nil {
		return nil, err
	}
	asTar := strings.HasSuffix(out, ".tar")
	work := out // where the catalog copy is written
	if asTar {
		tmp, err := os.MkdirTemp(filepath.Dir(out), ".pyindex-backup-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}

	copyPath := filepath.Join(work, backupCatalogName)
	if err := cat.Backup(ctx, copyPath); err != nil {
		return nil, err
	}
	// The blobs to copy are those the snapshot references.
	snap, err := index.Open(ctx, copyPath)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog copy: %w", err)
	}
	stats, err := snap.Stats(ctx)
	var keys []string
	if err == nil {
		err = snap.BlobKeys(ctx, func(k string) error { keys = append(keys, k); return nil })
	}
	if cerr := snap.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading the catalog copy: %w", err)
	}
	res := &BackupResult{Manifest: BackupManifest{Version: cfg.Version, Created: time.Now().UTC(), Serial: stats.Serial,
		Projects: stats.Projects, Files: stats.Files, Backend: cfg.Backend}}
	pather, local := storage.As[storage.Pather](store)
	res.FilesCopied = local
	if !local {
		keys = nil
	}

	var dst backupWriter
	if asTar {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		tw := &tarBackup{f: f, tw: tar.NewWriter(f)}
		dst = tw
		defer func() {
			if tw.f != nil { // not finished: remove the partial file
				tw.f.Close()
				os.Remove(out)
			}
		}()
		if err := tw.addFile(backupCatalogName, copyPath); err != nil {
			return nil, err
		}
	} else {
		dst = &dirBackup{root: out}
	}

	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := pather.Path(key)
		if err != nil {
			return nil, err
		}
		n, link, err := dst.addBlob(key, src)
		if errors.Is(err, fs.ErrNotExist) {
			// Deleted since the snapshot (pruned, say) is harmless: the
			// restored catalog then lists a file whose blob is gone, as
			// fsck would report. Still referenced means it was lost.
			if ref, rerr := cat.BlobReferenced(ctx, key); rerr == nil && !ref {
				res.Deleted++
			} else {
				res.Missing = append(res.Missing, key)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Manifest.Blobs++
		res.Bytes += n
		if link {
			res.Linked++
		}
	}
	if err := dst.finish(res.Manifest); err != nil {
		return nil, err
	}
	return res, nil
}

// emptyDir makes sure dir exists and is empty.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// backupWriter receives the blobs and the manifest of a backup.
type backupWriter interface {
	// addBlob copies the file src as key; it returns its size and whether
	// it was hard-linked. A missing src gives an fs.ErrNotExist error.
	addBlob(key, src string) (int64, bool, error)
	finish(BackupManifest) error
}

// dirBackup writes a backup folder.
type dirBackup struct{ root string }

func (d *dirBackup) addBlob(key, src string) (int64, bool, error) {
	dst := filepath.Join(d.root, backupFilesDir, filepath.FromSlash(key))
	fi, err := os.Stat(src)
	if err != nil {
		return 0, false, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, false, err
	}
	if err := os.Link(src, dst); err == nil {
		return fi.Size(), true, nil
	}
	n, err := copyFile(dst, src)
	return n, false, err
}

func (d *dirBackup) finish(man BackupManifest) error {
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(d.root, backupManifestName), bytes.NewReader(append(b, '\n')), 0o666)
}

// tarBackup writes a backup tar file.
type tarBackup struct {
	f  *os.File
	tw *tar.Writer
}

func (t *tarBackup) addFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := t.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(t.tw, f)
	return err
}

func (t *tarBackup) addBlob(key, src string) (int64, bool, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return 0, false, err
	}
	return fi.Size(), false, t.addFile(path.Join(backupFilesDir, key), src)
}

func (t *tarBackup) finish(man BackupManifest) error {
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := t.tw.WriteHeader(&tar.Header{Name: backupManifestName, Mode: 0o644, Size: int64(len(b)), ModTime: man.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := t.tw.Write(b); err != nil {
		return err
	}
	if err := t.tw.Close(); err != nil {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	err = t.f.Close()
	t.f = nil
	return err
}

// copyFile copies src to dst through a temporary file and a rename, so dst
// is complete or absent.
func copyFile(dst, src string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-copy-")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return n, err
}

// writeFileSync writes what r holds to name (created with perm, or
// truncated) and syncs it to disk.
func writeFileSync(name string, r io.Reader, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
