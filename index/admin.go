package index

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Actor is who makes a change, for the audit log: a user name (or
// "cli:NAME", "retention") and the client address when there is one.
type Actor struct {
	Name       string
	RemoteAddr string
}

// ProjectQuery selects and pages ListProjects.
type ProjectQuery struct {
	// Q keeps projects whose normalized name contains Q (normalized the
	// same way); empty keeps every project.
	Q string
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Cursor is the Next of the previous page; empty starts at the first.
	Cursor string
}

// ProjectSummary is one project with its aggregate counts.
type ProjectSummary struct {
	Name        string     `json:"name"`
	DisplayName string     `json:"display_name"`
	Releases    int        `json:"releases"`
	Files       int        `json:"files"`
	Size        int64      `json:"size"`
	LastUpload  *time.Time `json:"last_upload"`
}

// ListProjects returns one page of projects sorted by normalized name, and
// the cursor of the next page ("" after the last). It returns ErrInvalid
// for a cursor it did not issue.
func (c *Catalog) ListProjects(ctx context.Context, q ProjectQuery) ([]ProjectSummary, string, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	after := ""
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || !utf8.Valid(b) {
			return nil, "", Errorf(ErrInvalid, "cursor")
		}
		after = string(b)
	}
	like := "%"
	if s := strings.TrimSpace(q.Q); s != "" {
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		like = "%" + r.Replace(pep503.Normalize(s)) + "%"
	}
	out := []ProjectSummary{}
	err := c.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.name, p.display_name,
				(SELECT COUNT(*) FROM releases r WHERE r.project_id = p.id),
				COUNT(f.id), COALESCE(SUM(f.size), 0), COALESCE(MAX(f.upload_time), 0)
			FROM projects p LEFT JOIN files f ON f.project_id = p.id
			WHERE p.name > ? AND p.name LIKE ? ESCAPE '\'
			GROUP BY p.id ORDER BY p.name LIMIT ?`, after, like, q.Limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s ProjectSummary
			var last int64
			if err := rows.Scan(&s.Name, &s.DisplayName, &s.Releases, &s.Files, &s.Size, &last); err != nil {
				return err
			}
			if last != 0 {
				t := time.UnixMicro(last).UTC()
				s.LastUpload = &t
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Name))
	}
	return out, next, nil
}

// MaxYankReason bounds a yank reason, which every simple page of the
// project carries.
const MaxYankReason = 1000

// Yank marks a release yanked (PEP 592) with reason, which may be empty;
// yanking a yanked release replaces its reason. The serial and the
// project's last serial are bumped, so the simple pages show the change at
// once. It returns ErrNotFound for an unknown project or release and
// ErrInvalid for a malformed version or an over-long reason.
//
// https://peps.python.org/pep-0592/
func (c *Catalog) Yank(ctx context.Context, project, version, reason string, who Actor) (Release, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > MaxYankReason || !utf8.ValidString(reason) {
		return Release{}, Errorf(ErrInvalid, "the reason must be valid UTF-8 of at most %d bytes", MaxYankReason)
	}
	return c.setYanked(ctx, project, version, true, reason, who)
}

// Unyank clears a release's yanked mark and reason. Errors are those of
// Yank.
func (c *Catalog) Unyank(ctx context.Context, project, version string, who Actor) (Release, error) {
	return c.setYanked(ctx, project, version, false, "", who)
}

func (c *Catalog) setYanked(ctx context.Context, project, version string, yanked bool, reason string, who Actor) (Release, error) {
	var rel Release
	err := c.write(ctx, func(tx *sql.Tx) error {
		var err error
		rel, err = releaseByVersion(ctx, tx, project, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE releases SET yanked = ?, yanked_reason = ? WHERE id = ?`, yanked, reason, rel.ID); err != nil {
			return err
		}
		rel.Yanked, rel.YankedReason = yanked, reason
		now := c.now().UnixMicro()
		if err := touchProjects(ctx, tx, rel.ProjectID); err != nil {
			return err
		}
		action := "unyank"
		if yanked {
			action = "yank"
		}
		return audit(ctx, tx, now, Event{Actor: who.Name, Action: action, Project: pep503.Normalize(project),
			Version: rel.Version, RemoteAddr: who.RemoteAddr, Detail: reason})
	})
	return rel, err
}

// releaseByVersion finds a project's release by any spelling of its
// version (1.0 and 1.0.0 are one release).
func releaseByVersion(ctx context.Context, tx *sql.Tx, project, version string) (Release, error) {
	v, err := pep440.Parse(version)
	if err != nil {
		return Release{}, Errorf(ErrInvalid, "version %q", version)
	}
	name := pep503.Normalize(project)
	var r Release
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT r.id, r.project_id, r.version, r.canonical, r.yanked, r.yanked_reason, r.created_at
		FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.name = ? AND r.canonical = ?`,
		name, v.Canonical()).Scan(&r.ID, &r.ProjectID, &r.Version, &r.Canonical, &r.Yanked, &r.YankedReason, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if _, perr := projectID(ctx, tx, name); perr != nil {
			return Release{}, perr
		}
		return Release{}, fmt.Errorf("%w: release %s of %s", ErrNotFound, version, name)
	}
	if err != nil {
		return Release{}, err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.parsed, _ = pep440.Parse(r.Version)
	return r, nil
}

func projectID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM projects WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: project %s", ErrNotFound, name)
	}
	return id, err
}

// touchProjects bumps the global serial once and makes it the last serial
// of every given project (the page cache is keyed by it).
func touchProjects(ctx context.Context, tx *sql.Tx, ids ...int64) error {
	serial, err := bumpSerial(ctx, tx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE projects SET last_serial = ? WHERE id = ?`, serial, id); err != nil {
			return err
		}
	}
	return nil
}

// Removal describes what a delete or a prune removed from the catalog.
type Removal struct {
	// Files are the deleted file rows.
	Files []File
	// Bytes is the total size of Files.
	Bytes int64
	// Blobs are the storage keys (files and PEP 658 metadata) the deleted
	// rows referenced. Another row may still reference a key (blobs are
	// content-addressed), so delete each only when BlobReferenced says it
	// is free, and only after the catalog change committed: Admin does.
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

// DeleteProject deletes a project with its releases, files and owners, in
// one transaction that bumps the serial and writes an audit entry. The
// blobs are left to the caller (see Removal.Blobs). It returns ErrNotFound
// for an unknown project.
func (c *Catalog) DeleteProject(ctx context.Context, project string, who Actor) (Removal, error) {
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
		if _, err := bumpSerial(ctx, tx); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "delete", Project: name,
			RemoteAddr: who.RemoteAddr, Detail: fmt.Sprintf("project: %d files, %d bytes", len(files), rm.Bytes)})
	})
	return rm, err
}

// DeleteRelease deletes a release (any spelling of its version) with its
// files. The project stays, even with no release left, so that its name
// stays hosted. It returns ErrNotFound for an unknown project or release.
func (c *Catalog) DeleteRelease(ctx context.Context, project, version string, who Actor) (Removal, error) {
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
		if err := touchProjects(ctx, tx, rel.ProjectID); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "delete", Project: pep503.Normalize(project),
			Version: rel.Version, RemoteAddr: who.RemoteAddr, Detail: fmt.Sprintf("release: %d files, %d bytes", len(files), rm.Bytes)})
	})
	return rm, err
}

// DeleteFile deletes one file of a project; when version is not empty the
// file must also belong to that release. A release left without files is
// deleted with it. It returns ErrNotFound when no such file exists.
func (c *Catalog) DeleteFile(ctx context.Context, project, version, filename string, who Actor) (Removal, error) {
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
		if err := touchProjects(ctx, tx, f.ProjectID); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: "delete", Project: name,
			Version: f.Version, Filename: f.Filename, RemoteAddr: who.RemoteAddr, Detail: fmt.Sprintf("file: %d bytes", f.Size)})
	})
	return rm, err
}

// DeleteBlobIfUnreferenced calls del (which deletes the blob at key) unless
// a file row (hosted or mirrored) references key as its file or metadata blob, and reports
// whether it did. It holds the catalog's write lock meanwhile, so no row
// referencing key can be committed between the check and the deletion.
func (c *Catalog) DeleteBlobIfUnreferenced(ctx context.Context, key string, del func(context.Context) error) (bool, error) {
	deleted := false
	err := c.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE blob_key = ?1 OR metadata_key = ?1) OR EXISTS (SELECT 1 FROM mirror_files WHERE blob_key = ?1 OR metadata_key = ?1)`, key).Scan(&n); err != nil {
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
