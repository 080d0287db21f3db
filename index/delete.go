package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Removal describes what a delete or a prune removed from the catalog.
type Removal struct {
	// Files are the deleted file rows.
	Files []File
	// Bytes is the total size of Files.
	Bytes int64
	// Blobs are the storage keys (files and PEP 658 metadata) the deleted
	// rows referenced. Another row may still reference a key (blobs are
	// content-addressed), so delete each only when BlobReferenced says it
	// is free, and only after the catalog change committed: admin.Service does.
	Blobs []string
}

func (r *Removal) add(files []File) {
	seen := map[string]bool{}
	for _, k := range r.Blobs {
		seen[k] = true
	}
	for _, f := range files {
		r.Files = append(r.Files, f)
		r.Bytes += f.Size
		for _, k := range []string{f.BlobKey, f.MetadataKey} {
			if k != "" && !seen[k] {
				seen[k] = true
				r.Blobs = append(r.Blobs, k)
			}
		}
	}
}

func filesWhere(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]File, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+fileColumns+fileJoins+`WHERE `+where+` ORDER BY f.filename`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteProjectRows deletes a project's rows (the project, its releases,
// files and owners) in one transaction that bumps the serial and writes an
// audit entry. The blobs are left to the caller (see Removal.Blobs). It
// returns ErrNotFound for an unknown project.
func (c *Catalog) DeleteProjectRows(ctx context.Context, project string, who Actor) (Removal, error) {
	name := pep503.Normalize(project)
	var rm Removal
	err := c.write(ctx, func(tx *sql.Tx) error {
		id, err := projectID(ctx, tx, name)
		if err != nil {
			return err
		}
		files, err := filesWhere(ctx, tx, `f.project_id = ?`, id)
		if err != nil {
			return err
		}
		rm.add(files)
		if _, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := c.bumpSerial(ctx, tx, name); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "delete", Project: name,
			RemoteAddr: who.RemoteAddr, Detail: fmt.Sprintf("project: %d files, %d bytes", len(files), rm.Bytes)})
	})
	return rm, err
}

// DeleteReleaseRows deletes the rows of a release (any spelling of its
// version) and of its files; the blobs are left to the caller (see
// Removal.Blobs). The project stays, even with no release left, so that
// its name stays hosted. It returns ErrNotFound for an unknown project or
// release.
func (c *Catalog) DeleteReleaseRows(ctx context.Context, project, version string, who Actor) (Removal, error) {
	var rm Removal
	err := c.write(ctx, func(tx *sql.Tx) error {
		rel, err := releaseByVersion(ctx, tx, project, version)
		if err != nil {
			return err
		}
		files, err := filesWhere(ctx, tx, `f.release_id = ?`, rel.ID)
		if err != nil {
			return err
		}
		rm.add(files)
		if _, err := tx.ExecContext(ctx, `DELETE FROM releases WHERE id = ?`, rel.ID); err != nil {
			return err
		}
		if err := c.touchProjects(ctx, tx, rel.ProjectID); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "delete", Project: pep503.Normalize(project),
			Version: rel.Version, RemoteAddr: who.RemoteAddr, Detail: fmt.Sprintf("release: %d files, %d bytes", len(files), rm.Bytes)})
	})
	return rm, err
}

// DeleteFileRows deletes the row of one file of a project (the blobs are
// left to the caller, see Removal.Blobs); when version is not empty the
// file must also belong to that release. A release left without files is
// deleted with it. It returns ErrNotFound when no such file exists.
func (c *Catalog) DeleteFileRows(ctx context.Context, project, version, filename string, who Actor) (Removal, error) {
	name := pep503.Normalize(project)
	var rm Removal
	err := c.write(ctx, func(tx *sql.Tx) error {
		f, err := fileByName(ctx, tx, filename)
		if errors.Is(err, ErrNotFound) || (err == nil && f.Project != name) {
			return fmt.Errorf("%w: file %s of %s", ErrNotFound, filename, name)
		}
		if err != nil {
			return err
		}
		if version != "" {
			v, err := pep440.Parse(version)
			if err != nil {
				return Errorf(ErrInvalid, "version %q", version)
			}
			if pep440.Canonical(f.Version) != v.Canonical() {
				return fmt.Errorf("%w: file %s of %s %s", ErrNotFound, filename, name, version)
			}
		}
		rm.add([]File{f})
		if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE id = ?`, f.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM releases WHERE id = ? AND NOT EXISTS (SELECT 1 FROM files WHERE release_id = ?)`,
			f.ReleaseID, f.ReleaseID); err != nil {
			return err
		}
		if err := c.touchProjects(ctx, tx, f.ProjectID); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "delete", Project: name,
			Version: f.Version, Filename: f.Filename, RemoteAddr: who.RemoteAddr, Detail: fmt.Sprintf("file: %d bytes", f.Size)})
	})
	return rm, err
}
