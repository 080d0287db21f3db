package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// BlobKind says which catalog column references a blob.
type BlobKind string

// The columns that reference blobs.
const (
	BlobFile           BlobKind = "file"            // a hosted file's bytes (files.blob_key)
	BlobMetadata       BlobKind = "metadata"        // its extracted core metadata (files.metadata_key)
	BlobMirrorFile     BlobKind = "mirror-file"     // a cached upstream file (mirror_files.blob_key)
	BlobMirrorMetadata BlobKind = "mirror-metadata" // its metadata (mirror_files.metadata_key)
	BlobGeneric        BlobKind = "generic"         // a generic file's bytes (generic_files.blob_key)
)

// BlobRef is one reference from a catalog row to a blob, with what the
// blob must contain.
type BlobRef struct {
	Kind BlobKind `json:"kind"`
	Key  string   `json:"key"`
	// SHA256 is the hex digest the blob's bytes must have; "" when the
	// catalog does not know it.
	SHA256 string `json:"sha256,omitempty"`
	// Size is the blob's length in bytes, or -1 when the catalog does not
	// record it (metadata blobs; mirror files of unknown size).
	Size     int64  `json:"size"`
	Project  string `json:"project"`
	Version  string `json:"version,omitempty"` // hosted and generic files only
	Filename string `json:"filename"`
	// RowID identifies the row (files.id or mirror_files.id) for
	// RepairBlobRef.
	RowID int64 `json:"-"`
}

// ReferencedBlobs calls fn for every reference from a catalog row to a
// blob: each hosted file and its metadata blob, and each cached mirror
// file and its metadata blob (uncached mirror files reference nothing), and
// each generic file (Project is then the generic package).
// Several rows may reference one key (blobs are content-addressed). It
// reads one snapshot, so fn should be quick: collect the references and do
// slow work (hashing) afterwards. An error from fn stops the walk and is
// returned.
func (c *Catalog) ReferencedBlobs(ctx context.Context, fn func(BlobRef) error) error {
	return c.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT f.id, p.name, r.version, f.filename, f.size, f.sha256, f.blob_key,
				f.metadata_key, f.metadata_sha256
			FROM files f JOIN releases r ON r.id = f.release_id JOIN projects p ON p.id = f.project_id
			ORDER BY f.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				file    = BlobRef{Kind: BlobFile}
				metaKey string
				metaSum string
			)
			if err := rows.Scan(&file.RowID, &file.Project, &file.Version, &file.Filename, &file.Size, &file.SHA256,
				&file.Key, &metaKey, &metaSum); err != nil {
				return err
			}
			if err := fn(file); err != nil {
				return err
			}
			if metaKey != "" {
				meta := file
				meta.Kind, meta.Key, meta.SHA256, meta.Size = BlobMetadata, metaKey, metaSum, -1
				if err := fn(meta); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()

		mrows, err := tx.QueryContext(ctx, `SELECT f.id, p.name, f.filename, f.size, f.sha256, f.blob_key,
				f.metadata_key, f.metadata_sha256
			FROM mirror_files f JOIN mirror_projects p ON p.id = f.project_id
			WHERE f.blob_key != '' OR f.metadata_key != ''
			ORDER BY f.id`)
		if err != nil {
			return err
		}
		defer mrows.Close()
		for mrows.Next() {
			var (
				file    = BlobRef{Kind: BlobMirrorFile}
				metaKey string
				metaSum string
			)
			if err := mrows.Scan(&file.RowID, &file.Project, &file.Filename, &file.Size, &file.SHA256, &file.Key,
				&metaKey, &metaSum); err != nil {
				return err
			}
			if file.Size <= 0 {
				file.Size = -1 // 0 means unknown in mirror_files
			}
			if file.Key != "" {
				if err := fn(file); err != nil {
					return err
				}
			}
			if metaKey != "" {
				meta := file
				meta.Kind, meta.Key, meta.SHA256, meta.Size = BlobMirrorMetadata, metaKey, metaSum, -1
				if err := fn(meta); err != nil {
					return err
				}
			}
		}
		if err := mrows.Err(); err != nil {
			return err
		}
		mrows.Close()
		files, err := genericFilesWhere(ctx, tx, `1 = 1`)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := fn(BlobRef{Kind: BlobGeneric, Key: f.BlobKey, SHA256: f.SHA256, Size: f.Size, Project: f.Name,
				Version: f.Version, Filename: f.Filename, RowID: f.ID}); err != nil {
				return err
			}
		}
		return nil
	})
}

// RepairBlobRef fixes the row behind ref, whose blob is missing or does not
// hold the bytes the row promises (problem says which, for the audit log):
//
//   - BlobFile: the hosted file row is deleted (and its release when it was
//     the last file), so that a fresh upload of the file is accepted.
//   - BlobMetadata: the file keeps its row; its metadata is forgotten, so
//     pages stop announcing PEP 658 metadata for it.
//   - BlobMirrorFile: the cached copy is forgotten (with its metadata): the
//     mirror fetches the file from the upstream again when asked.
//   - BlobMirrorMetadata: the cached metadata is forgotten.
//   - BlobGeneric: the generic file row is deleted (and its version when it
//     was the last file), so that a fresh upload of the file is accepted.
//
// Under the catalog's write lock it first checks that the row still
// references ref.Key, then calls stillBroken (when not nil), which can
// re-check the store: false leaves the row alone. The serial (and the
// project's) is bumped and an "fsck-repair" audit entry written. It reports
// whether it changed the row and returns the keys no row references any
// more (the broken blob itself, a dropped metadata blob), which the caller
// may delete from the store. It returns ErrNotFound when the row no longer
// references ref.Key (it changed since it was read).
func (c *Catalog) RepairBlobRef(ctx context.Context, ref BlobRef, problem string, who Actor,
	stillBroken func(context.Context) (bool, error)) (repaired bool, orphans []string, err error) {
	err = c.write(ctx, func(tx *sql.Tx) error {
		var (
			table, col = "files", "blob_key"
			projectID  int64
			releaseID  int64
			blobKey    string
			metaKey    string
		)
		switch ref.Kind {
		case BlobFile, BlobMetadata:
		case BlobMirrorFile, BlobMirrorMetadata:
			table = "mirror_files"
		case BlobGeneric:
			table = "generic_files"
		default:
			return Errorf(ErrInvalid, "blob kind %q", ref.Kind)
		}
		if ref.Kind == BlobMetadata || ref.Kind == BlobMirrorMetadata {
			col = "metadata_key"
		}
		var q string
		switch table {
		case "files":
			q = `SELECT project_id, release_id, blob_key, metadata_key FROM files WHERE id = ?1 AND ` + col + ` = ?2`
		case "generic_files":
			q = `SELECT package_id, version_id, blob_key, '' FROM generic_files WHERE id = ?1 AND blob_key = ?2`
		default:
			q = `SELECT project_id, 0, blob_key, metadata_key FROM mirror_files WHERE id = ?1 AND ` + col + ` = ?2`
		}
		if err := tx.QueryRowContext(ctx, q, ref.RowID, ref.Key).Scan(&projectID, &releaseID, &blobKey, &metaKey); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %s %s no longer references %s", ErrNotFound, ref.Kind, ref.Filename, ref.Key)
			}
			return err
		}
		if stillBroken != nil {
			broken, err := stillBroken(ctx)
			if err != nil {
				return err
			}
			if !broken {
				return nil
			}
		}
		var (
			dropped []string
			action  string
		)
		switch ref.Kind {
		case BlobFile:
			if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE id = ?`, ref.RowID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM releases WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM files WHERE release_id = ?1)`,
				releaseID); err != nil {
				return err
			}
			if err := c.touchProjects(ctx, tx, projectID); err != nil {
				return err
			}
			dropped, action = []string{blobKey, metaKey}, "file row removed"
		case BlobMetadata:
			if _, err := tx.ExecContext(ctx, `UPDATE files SET metadata_key = '', metadata_sha256 = '' WHERE id = ?`, ref.RowID); err != nil {
				return err
			}
			if err := c.touchProjects(ctx, tx, projectID); err != nil {
				return err
			}
			dropped, action = []string{metaKey}, "metadata forgotten"
		case BlobGeneric:
			if _, err := tx.ExecContext(ctx, `DELETE FROM generic_files WHERE id = ?`, ref.RowID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM generic_versions WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM generic_files WHERE version_id = ?1)`,
				releaseID); err != nil {
				return err
			}
			serial, err := c.bumpSerial(ctx, tx, ref.Project)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE generic_packages SET last_serial = ? WHERE id = ?`, serial, projectID); err != nil {
				return err
			}
			dropped, action = []string{blobKey}, "generic file row removed"
		case BlobMirrorFile, BlobMirrorMetadata:
			set := `metadata_key = '', metadata_sha256 = ''`
			dropped, action = []string{metaKey}, "cached metadata forgotten"
			if ref.Kind == BlobMirrorFile {
				set = `blob_key = '', sha256 = '', cached_at = 0, ` + set
				dropped, action = []string{blobKey, metaKey}, "cached copy forgotten"
			}
			if _, err := tx.ExecContext(ctx, `UPDATE mirror_files SET `+set+` WHERE id = ?`, ref.RowID); err != nil {
				return err
			}
			serial, err := c.bumpSerial(ctx, tx, ref.Project)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE mirror_projects SET serial = ?, changed_at = ? WHERE id = ?`,
				serial, c.now().UnixMicro(), projectID); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "fsck-repair", Project: ref.Project,
			Version: ref.Version, Filename: ref.Filename, RemoteAddr: who.RemoteAddr,
			Detail: fmt.Sprintf("%s blob %s %s: %s", ref.Kind, ref.Key, problem, action)}); err != nil {
			return err
		}
		repaired = true
		orphans, err = unreferenced(ctx, tx, dropped)
		return err
	})
	return repaired, orphans, err
}

// BlobReferenced reports whether any file row, hosted, mirrored or generic, uses
// key as its blob or metadata blob.
func (c *Catalog) BlobReferenced(ctx context.Context, key string) (bool, error) {
	var n int
	err := c.w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE blob_key = ?1 OR metadata_key = ?1) OR EXISTS (SELECT 1 FROM mirror_files WHERE blob_key = ?1 OR metadata_key = ?1) OR EXISTS (SELECT 1 FROM generic_files WHERE blob_key = ?1)`, key).Scan(&n)
	return n == 1, formatError(err)
}

// DeleteBlobIfUnreferenced calls del (which deletes the blob at key) unless
// a file row (hosted, mirrored or generic) references key as its file or metadata blob, and reports
// whether it did. It holds the catalog's write lock meanwhile, so no row
// referencing key can be committed between the check and the deletion.
func (c *Catalog) DeleteBlobIfUnreferenced(ctx context.Context, key string, del func(context.Context) error) (bool, error) {
	deleted := false
	err := c.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE blob_key = ?1 OR metadata_key = ?1) OR EXISTS (SELECT 1 FROM mirror_files WHERE blob_key = ?1 OR metadata_key = ?1) OR EXISTS (SELECT 1 FROM generic_files WHERE blob_key = ?1)`, key).Scan(&n); err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		if err := del(ctx); err != nil {
			return err
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// BlobKeys calls fn once for every blob key the catalog references: hosted
// files and their extracted metadata, cached mirror files and theirs, and
// generic files.
// It reads one snapshot; an error from fn stops the walk and is returned.
func (c *Catalog) BlobKeys(ctx context.Context, fn func(key string) error) error {
	return c.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT blob_key FROM files
			UNION SELECT metadata_key FROM files WHERE metadata_key != ''
			UNION SELECT blob_key FROM mirror_files WHERE blob_key != ''
			UNION SELECT metadata_key FROM mirror_files WHERE metadata_key != ''
			UNION SELECT blob_key FROM generic_files
			ORDER BY 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				return err
			}
			if err := fn(key); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
