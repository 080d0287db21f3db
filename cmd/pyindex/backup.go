package main

import (
	"archive/tar"
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

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// A backup is laid out like a data folder, as a folder or a tar file:
//
//	pyindex-backup.json   the manifest (backupManifest)
//	catalog.db            a consistent copy of the catalog (VACUUM INTO)
//	files/<key>           the blobs the copy references (filesystem backend)
//
// so a backup folder can also be served directly with --data.
const (
	backupManifestName = "pyindex-backup.json"
	backupCatalogName  = "catalog.db"
	backupFilesDir     = "files"
)

// backupManifest describes a backup.
type backupManifest struct {
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

func newBackupCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "backup OUT",
		Short: "Take a consistent copy of the catalog and files while the server runs",
		Long: `Write a consistent online backup to OUT: a new (or empty) folder, or a
file whose name ends in .tar. The catalog is copied from one snapshot with
SQLite's VACUUM INTO, so uploads go on meanwhile. With the filesystem
backend, the files that snapshot references are copied too (hard-linked
when OUT is on the same filesystem: blobs never change once written).

With the s3 backend only the catalog is copied: back the bucket up by the
store's own means (versioning, replication, snapshots), and take the
catalog backup after the bucket's, or keep deleted objects long enough,
so that every file the catalog lists is in the bucket backup.

A backup folder is laid out like a data folder. Put it back with
pyindex restore.`,
		Example: `  pyindex backup /backups/pyindex-$(date +%F)
  pyindex backup /backups/pyindex-$(date +%F).tar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			return backup(cmd.Context(), cfg, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

func newRestoreCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore IN --data DIR",
		Short: "Put a backup (folder or .tar) back into an empty data folder",
		Long: `Restore the backup IN (a folder or a .tar file written by pyindex backup)
into the data folder: the catalog, and the backup's files into the
configured store. The data folder must be empty (or absent) unless --force
is given, which replaces its catalog and adds the files. Stop the server
first. A catalog from an older pyindex is migrated when the server starts;
one from a newer pyindex is refused.`,
		Example: `  pyindex restore /backups/pyindex-2026-01-31.tar --data /var/lib/pyindex`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			return restore(cmd.Context(), cfg, args[0], force, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "restore into a data folder that is not empty, replacing its catalog")
	return cmd
}

// backup writes the backup of the server configured by cfg to out.
func backup(ctx context.Context, cfg Config, out string, stdout, stderr io.Writer) error {
	if _, err := os.Stat(catalogPath(cfg)); err != nil {
		return fmt.Errorf("no catalog to back up: %w", err)
	}
	asTar := strings.HasSuffix(out, ".tar")
	var work string // where the catalog copy is written
	if asTar {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s already exists", out)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(out), ".pyindex-backup-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		work = tmp
	} else {
		if err := emptyDir(out); err != nil {
			return err
		}
		work = out
	}

	cat, store, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	copyPath := filepath.Join(work, backupCatalogName)
	if err := cat.Backup(ctx, copyPath); err != nil {
		return err
	}
	// The blobs to copy are those the snapshot references.
	snap, err := index.Open(ctx, copyPath)
	if err != nil {
		return fmt.Errorf("reading the catalog copy: %w", err)
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
		return fmt.Errorf("reading the catalog copy: %w", err)
	}
	man := backupManifest{Version: Version(), Created: time.Now().UTC(), Serial: stats.Serial,
		Projects: stats.Projects, Files: stats.Files, Backend: cfg.Storage.Backend}
	pather, local := storage.As[storage.Pather](store)
	if !local {
		keys = nil
	}

	var dst backupWriter
	if asTar {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
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
			return err
		}
	} else {
		dst = &dirBackup{root: out}
	}

	var missing []string
	var deleted, linked int
	var size int64
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		src, err := pather.Path(key)
		if err != nil {
			return err
		}
		n, link, err := dst.addBlob(key, src)
		if errors.Is(err, fs.ErrNotExist) {
			// Deleted since the snapshot (pruned, say) is harmless: the
			// restored catalog then lists a file whose blob is gone, as
			// fsck would report. Still referenced means it was lost.
			if ref, rerr := cat.BlobReferenced(ctx, key); rerr == nil && !ref {
				deleted++
			} else {
				missing = append(missing, key)
			}
			continue
		}
		if err != nil {
			return err
		}
		man.Blobs++
		size += n
		if link {
			linked++
		}
	}
	if err := dst.finish(man); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "backup %s: catalog at serial %d (%d projects, %d files)", out, man.Serial, man.Projects, man.Files)
	if local {
		fmt.Fprintf(stdout, ", %d blobs (%s", man.Blobs, humanBytes(size))
		if linked > 0 {
			fmt.Fprintf(stdout, ", %d hard-linked", linked)
		}
		fmt.Fprint(stdout, ")")
	}
	fmt.Fprintln(stdout)
	if !local {
		fmt.Fprintf(stderr, "storage backend %s: files are not copied; back the bucket up by its own means (versioning, replication)\n", cfg.Storage.Backend)
	}
	if deleted > 0 {
		fmt.Fprintf(stderr, "note: %d files were deleted while the backup ran; the backup lists them without content\n", deleted)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d blobs the catalog references are missing from the store (first: %s); the backup lacks them: run pyindex fsck", len(missing), missing[0])
	}
	return nil
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
	finish(backupManifest) error
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

func (d *dirBackup) finish(man backupManifest) error {
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(d.root, backupManifestName), append(b, '\n'))
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

func (t *tarBackup) finish(man backupManifest) error {
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

func writeFileSync(name string, b []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// restore puts the backup in into the data folder of cfg.
func restore(ctx context.Context, cfg Config, in string, force bool, stdout, stderr io.Writer) error {
	fi, err := os.Stat(in)
	if err != nil {
		return err
	}
	if !force {
		for _, dir := range []string{cfg.Data, filesPath(cfg)} {
			if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
				return fmt.Errorf("the data folder %s is not empty: restore into an empty folder, or pass --force to replace its catalog", dir)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	var src backupReader
	if fi.IsDir() {
		// Refuse an unfinished backup folder before writing anything; a
		// tar file's manifest comes last and is checked at the end.
		_, errCat := os.Stat(filepath.Join(in, backupCatalogName))
		if _, err := os.Stat(filepath.Join(in, backupManifestName)); err != nil && errCat == nil {
			return fmt.Errorf("restore %s: no %s: the backup is incomplete (it did not finish)", in, backupManifestName)
		}
		src = &dirRestore{root: in}
	} else {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		src = &tarRestore{tr: tar.NewReader(f)}
	}

	tmpCatalog := catalogPath(cfg) + ".restoring"
	defer os.Remove(tmpCatalog)
	var man *backupManifest
	var gotCatalog bool
	var blobs int
	var size int64
	err = src.each(func(name string, size0 int64, r io.Reader) error {
		switch {
		case name == backupManifestName:
			var m backupManifest
			if err := json.NewDecoder(r).Decode(&m); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			man = &m
		case name == backupCatalogName:
			f, err := os.OpenFile(tmpCatalog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
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
			if err := f.Close(); err != nil {
				return err
			}
			gotCatalog = true
		case strings.HasPrefix(name, backupFilesDir+"/"):
			key := strings.TrimPrefix(name, backupFilesDir+"/")
			if !storage.ValidKey(key) {
				return fmt.Errorf("backup entry %q is not a valid blob key", name)
			}
			if err := store.Put(ctx, key, r, size0); err != nil {
				return err
			}
			blobs++
			size += size0
		default:
			fmt.Fprintf(stderr, "ignoring %s\n", name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore %s: %w (files already restored stay; rerun with --force)", in, err)
	}
	if !gotCatalog {
		return fmt.Errorf("restore %s: no %s in it: not a pyindex backup", in, backupCatalogName)
	}
	// The manifest is written last: without it the backup did not finish.
	if man == nil {
		return fmt.Errorf("restore %s: no %s: the backup is incomplete (it did not finish)", in, backupManifestName)
	}
	if blobs != man.Blobs {
		return fmt.Errorf("restore %s: it holds %d files, its manifest says %d: the backup is damaged", in, blobs, man.Blobs)
	}
	// Replace the catalog (and any WAL of an old one, under --force).
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(catalogPath(cfg) + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmpCatalog, catalogPath(cfg)); err != nil {
		return err
	}
	// Open it as the server will: this applies the migrations of a newer
	// pyindex and refuses a catalog from a newer one.
	cat, err := openCatalog(ctx, cfg)
	if err != nil {
		return fmt.Errorf("the restored catalog: %w", err)
	}
	defer cat.Close()
	stats, err := cat.Stats(ctx)
	if err != nil {
		return err
	}
	var missing int
	if err := cat.BlobKeys(ctx, func(k string) error {
		if _, err := store.Stat(ctx, k); errors.Is(err, storage.ErrNotExist) {
			missing++
		} else if err != nil {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s: catalog at serial %d (%d projects, %d files), %d blobs (%s)\n",
		in, cfg.Data, stats.Serial, stats.Projects, stats.Files, blobs, humanBytes(size))
	fmt.Fprintf(stdout, "backup taken %s by pyindex %s\n", man.Created.Format(time.RFC3339), man.Version)
	if missing > 0 {
		fmt.Fprintf(stderr, "warning: %d files the catalog lists are not in the %s store", missing, cfg.Storage.Backend)
		if cfg.Storage.Backend != "fs" {
			fmt.Fprint(stderr, " (restore the bucket from its own backup)")
		}
		fmt.Fprintln(stderr, "; pyindex fsck lists them")
	}
	return nil
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
