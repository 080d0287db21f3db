package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// MirrorProject is a project page cached from the upstream by the mirror.
type MirrorProject struct {
	Name string // PEP 503 normalized
	// Serial is the catalog serial of the last change to the page's
	// content: a new upstream page, or a file whose cached copy added its
	// size or its extracted metadata.
	Serial         int64
	UpstreamSerial int64 // the upstream's X-PyPI-Last-Serial; 0 unknown
	ETag           string
	LastModified   string
	PageURL        string // final URL of the upstream page
	// Upstream is the simple-API root the page came from (the mirror's
	// origin, MirrorUpstream); "" unknown (cached before it was
	// recorded, or imported). PutMirrorPage refuses a page of another
	// upstream than the recorded one.
	Upstream  string
	Versions  []string
	FetchedAt time.Time // last answer from the upstream (200 or 304)
	ChangedAt time.Time
	Files     []MirrorFile // in upstream page order; only from MirrorPage
}

// MirrorFile is one file of a cached upstream page.
type MirrorFile struct {
	Filename       string
	URL            string // absolute upstream URL, no fragment
	Hashes         map[string]string
	RequiresPython string
	Size           int64     // 0: unknown until cached
	UploadTime     time.Time // zero: the upstream did not say
	FirstSeen      time.Time // when the mirror first listed it
	Yanked         bool
	YankedReason   string
	// UpstreamMetadata is the sha256 of the upstream's PEP 658 metadata
	// file, "" when the upstream offers none (with a hash).
	UpstreamMetadata string
	// The cached copy: BlobKey is "" until the file is fetched.
	BlobKey        string
	SHA256         string
	MetadataKey    string
	MetadataSHA256 string
	CachedAt       time.Time
}

// MirrorSummary describes one cached project for the admin API.
type MirrorSummary struct {
	Name           string    `json:"name"`
	Serial         int64     `json:"serial"`
	UpstreamSerial int64     `json:"upstream_serial"`
	Upstream       string    `json:"upstream"` // "" unknown
	Files          int       `json:"files"`
	CachedFiles    int       `json:"cached_files"`
	CachedBytes    int64     `json:"cached_bytes"`
	FetchedAt      time.Time `json:"last_refresh"`
	ChangedAt      time.Time `json:"last_change"`
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

const mirrorProjectCols = `id, name, serial, upstream_serial, etag, last_modified, page_url, versions, fetched_at, changed_at, upstream`

func scanMirrorProject(row interface{ Scan(...any) error }) (int64, MirrorProject, error) {
	var (
		id       int64
		p        MirrorProject
		versions string
		fa, ca   int64
	)
	err := row.Scan(&id, &p.Name, &p.Serial, &p.UpstreamSerial, &p.ETag, &p.LastModified, &p.PageURL, &versions, &fa, &ca, &p.Upstream)
	if err != nil {
		return 0, p, err
	}
	p.FetchedAt, p.ChangedAt = fromMicros(fa), fromMicros(ca)
	if err := json.Unmarshal([]byte(versions), &p.Versions); err != nil {
		return 0, p, fmt.Errorf("mirror project %s: versions: %w", p.Name, err)
	}
	return id, p, nil
}

// MirrorProjectState returns a cached project without its files: enough to
// tell whether an in-memory copy is current (Serial) and fresh
// (FetchedAt). It returns ErrNotFound when the project is not cached.
func (c *Catalog) MirrorProjectState(ctx context.Context, name string) (MirrorProject, error) {
	_, p, err := scanMirrorProject(c.r.QueryRowContext(ctx, `SELECT `+mirrorProjectCols+` FROM mirror_projects WHERE name = ?`, name))
	return p, formatError(err)
}

const mirrorFileCols = `filename, url, hashes, requires_python, size, upload_time, first_seen, yanked, yanked_reason,
	upstream_metadata, blob_key, sha256, metadata_key, metadata_sha256, cached_at`

func scanMirrorFile(row interface{ Scan(...any) error }) (MirrorFile, error) {
	var (
		f              MirrorFile
		hashes         string
		ut, fs, cached int64
	)
	err := row.Scan(&f.Filename, &f.URL, &hashes, &f.RequiresPython, &f.Size, &ut, &fs, &f.Yanked, &f.YankedReason,
		&f.UpstreamMetadata, &f.BlobKey, &f.SHA256, &f.MetadataKey, &f.MetadataSHA256, &cached)
	if err != nil {
		return f, err
	}
	f.UploadTime, f.FirstSeen, f.CachedAt = fromMicros(ut), fromMicros(fs), fromMicros(cached)
	if err := json.Unmarshal([]byte(hashes), &f.Hashes); err != nil {
		return f, fmt.Errorf("mirror file %s: hashes: %w", f.Filename, err)
	}
	return f, nil
}

// MirrorPage returns a cached project with its files, or ErrNotFound.
func (c *Catalog) MirrorPage(ctx context.Context, name string) (*MirrorProject, error) {
	var out *MirrorProject
	err := c.read(ctx, func(tx *sql.Tx) error {
		id, p, err := scanMirrorProject(tx.QueryRowContext(ctx, `SELECT `+mirrorProjectCols+` FROM mirror_projects WHERE name = ?`, name))
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+mirrorFileCols+` FROM mirror_files WHERE project_id = ? ORDER BY position`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanMirrorFile(rows)
			if err != nil {
				return err
			}
			p.Files = append(p.Files, f)
		}
		out = &p
		return rows.Err()
	})
	return out, err
}

// MirrorFile returns one file of a cached project, or ErrNotFound.
func (c *Catalog) MirrorFile(ctx context.Context, project, filename string) (MirrorFile, error) {
	f, err := scanMirrorFile(c.r.QueryRowContext(ctx, `SELECT `+mirrorFileCols+` FROM mirror_files
		WHERE project_id = (SELECT id FROM mirror_projects WHERE name = ?) AND filename = ?`, project, filename))
	return f, formatError(err)
}

// PutMirrorPage stores a page freshly fetched from the upstream, replacing
// the cached one. Files that keep their name (and sha256, when both are
// known) keep their cached copy and first-seen time; the others start
// uncached. It bumps the catalog serial, which becomes the page's Serial,
// and returns it with the blob keys no longer referenced by any hosted or
// mirrored file (the caller deletes them from the store).
//
// A page of an upstream (p.Upstream not "") records it as the mirror's
// origin when none is; a page of another upstream than the recorded one is
// refused with an *UpstreamChangedError (pages of two indexes never mix).
// An imported page (p.Upstream "") is not checked.
func (c *Catalog) PutMirrorPage(ctx context.Context, p *MirrorProject) (serial int64, orphans []string, err error) {
	versions, err := json.Marshal(nonNilStrings(p.Versions))
	if err != nil {
		return 0, nil, err
	}
	now := c.now()
	err = c.write(ctx, func(tx *sql.Tx) error {
		if p.Upstream != "" {
			if err := claimOrigin(ctx, tx, p.Upstream, now); err != nil {
				return err
			}
		}
		serial, err = c.bumpSerial(ctx, tx, p.Name)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO mirror_projects
			(name, serial, upstream_serial, etag, last_modified, page_url, versions, fetched_at, changed_at, upstream)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET serial = excluded.serial, upstream_serial = excluded.upstream_serial,
				etag = excluded.etag, last_modified = excluded.last_modified, page_url = excluded.page_url,
				versions = excluded.versions, fetched_at = excluded.fetched_at, changed_at = excluded.changed_at,
				upstream = excluded.upstream
			RETURNING id`,
			p.Name, serial, p.UpstreamSerial, p.ETag, p.LastModified, p.PageURL, string(versions),
			micros(p.FetchedAt), now.UnixMicro(), p.Upstream).Scan(&id)
		if err != nil {
			return err
		}
		old := map[string]MirrorFile{}
		rows, err := tx.QueryContext(ctx, `SELECT `+mirrorFileCols+` FROM mirror_files WHERE project_id = ?`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			f, err := scanMirrorFile(rows)
			if err != nil {
				rows.Close()
				return err
			}
			old[f.Filename] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mirror_files WHERE project_id = ?`, id); err != nil {
			return err
		}
		var dropped []string
		seen := map[string]bool{}
		for i, f := range p.Files {
			if seen[f.Filename] {
				continue // a page listing one name twice keeps the first
			}
			seen[f.Filename] = true
			f.FirstSeen = now
			f.BlobKey, f.SHA256, f.MetadataKey, f.MetadataSHA256, f.CachedAt = "", "", "", "", time.Time{}
			if o, ok := old[f.Filename]; ok {
				f.FirstSeen = o.FirstSeen
				if o.BlobKey != "" && (f.Hashes["sha256"] == "" || f.Hashes["sha256"] == o.SHA256) {
					f.BlobKey, f.SHA256, f.MetadataKey, f.MetadataSHA256, f.CachedAt = o.BlobKey, o.SHA256, o.MetadataKey, o.MetadataSHA256, o.CachedAt
					if f.Size == 0 {
						f.Size = o.Size
					}
				} else {
					dropped = append(dropped, o.BlobKey, o.MetadataKey)
				}
				delete(old, f.Filename)
			}
			if err := insertMirrorFile(ctx, tx, id, i, f); err != nil {
				return err
			}
		}
		for _, o := range old {
			dropped = append(dropped, o.BlobKey, o.MetadataKey)
		}
		orphans, err = unreferenced(ctx, tx, dropped)
		return err
	})
	return serial, orphans, err
}

func insertMirrorFile(ctx context.Context, tx *sql.Tx, projectID int64, pos int, f MirrorFile) error {
	hashes, err := json.Marshal(f.Hashes)
	if err != nil {
		return err
	}
	if f.Hashes == nil {
		hashes = []byte("{}")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO mirror_files (project_id, position, filename, url, hashes,
		requires_python, size, upload_time, first_seen, yanked, yanked_reason, upstream_metadata,
		blob_key, sha256, metadata_key, metadata_sha256, cached_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		projectID, pos, f.Filename, f.URL, string(hashes), f.RequiresPython, f.Size, micros(f.UploadTime),
		micros(f.FirstSeen), f.Yanked, f.YankedReason, f.UpstreamMetadata, f.BlobKey, f.SHA256,
		f.MetadataKey, f.MetadataSHA256, micros(f.CachedAt))
	return err
}

// unreferenced returns the keys of keys (empty ones ignored) that no hosted,
// mirrored or generic file references any more.
func unreferenced(ctx context.Context, tx *sql.Tx, keys []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		var n int
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM files WHERE blob_key = ?1 OR metadata_key = ?1) +
			(SELECT COUNT(*) FROM mirror_files WHERE blob_key = ?1 OR metadata_key = ?1) +
			(SELECT COUNT(*) FROM generic_files WHERE blob_key = ?1)`, k).Scan(&n)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			out = append(out, k)
		}
	}
	return out, nil
}

// TouchMirrorProject records that the upstream answered for a cached
// project without a new page (304 Not Modified, or a stale answer that was
// refused), so that it counts as fresh again. The ETag and Last-Modified
// validators are replaced when not empty. It returns ErrNotFound when the
// project is not cached.
func (c *Catalog) TouchMirrorProject(ctx context.Context, name string, fetchedAt time.Time, etag, lastModified string) error {
	return c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mirror_projects SET fetched_at = ?1,
			etag = CASE WHEN ?2 = '' THEN etag ELSE ?2 END,
			last_modified = CASE WHEN ?3 = '' THEN last_modified ELSE ?3 END
			WHERE name = ?4`, micros(fetchedAt), etag, lastModified, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return c.recordChange(ctx, tx, 0, name) // no new serial, a new state
	})
}

// UpdateMirrorFile changes one file of a cached project: fn gets the
// current row and edits it in place (typically to record the cached copy).
// When a field shown on the page changed (size, metadata), the catalog
// serial is bumped and becomes the project's Serial. It returns the updated
// file and the blob keys that became unreferenced, or ErrNotFound.
func (c *Catalog) UpdateMirrorFile(ctx context.Context, project, filename string, fn func(*MirrorFile)) (MirrorFile, []string, error) {
	var (
		out     MirrorFile
		orphans []string
	)
	err := c.write(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM mirror_projects WHERE name = ?`, project).Scan(&id); err != nil {
			return err
		}
		old, err := scanMirrorFile(tx.QueryRowContext(ctx, `SELECT `+mirrorFileCols+` FROM mirror_files WHERE project_id = ? AND filename = ?`, id, filename))
		if err != nil {
			return err
		}
		f := old
		f.Hashes = maps.Clone(old.Hashes)
		fn(&f)
		f.Filename = old.Filename
		hashes, err := json.Marshal(f.Hashes)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mirror_files SET hashes = ?, size = ?, blob_key = ?, sha256 = ?,
			metadata_key = ?, metadata_sha256 = ?, cached_at = ? WHERE project_id = ? AND filename = ?`,
			string(hashes), f.Size, f.BlobKey, f.SHA256, f.MetadataKey, f.MetadataSHA256, micros(f.CachedAt), id, filename); err != nil {
			return err
		}
		if f.Size != old.Size || f.MetadataSHA256 != old.MetadataSHA256 || !maps.Equal(f.Hashes, old.Hashes) {
			serial, err := c.bumpSerial(ctx, tx, project)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE mirror_projects SET serial = ?, changed_at = ? WHERE id = ?`, serial, c.now().UnixMicro(), id); err != nil {
				return err
			}
		} else if err := c.recordChange(ctx, tx, 0, project); err != nil { // which files have a cached copy
			return err
		}
		var dropped []string
		if old.BlobKey != f.BlobKey {
			dropped = append(dropped, old.BlobKey)
		}
		if old.MetadataKey != f.MetadataKey {
			dropped = append(dropped, old.MetadataKey)
		}
		orphans, err = unreferenced(ctx, tx, dropped)
		out = f
		return err
	})
	return out, orphans, err
}

// MirrorProjects lists the cached projects by name.
func (c *Catalog) MirrorProjects(ctx context.Context) ([]MirrorSummary, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT p.name, p.serial, p.upstream_serial, p.upstream, p.fetched_at, p.changed_at,
		COUNT(f.id), COALESCE(SUM(CASE WHEN f.blob_key != '' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN f.blob_key != '' THEN f.size ELSE 0 END), 0)
		FROM mirror_projects p LEFT JOIN mirror_files f ON f.project_id = p.id
		GROUP BY p.id ORDER BY p.name`)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	out := []MirrorSummary{}
	for rows.Next() {
		var (
			s      MirrorSummary
			fa, ca int64
		)
		if err := rows.Scan(&s.Name, &s.Serial, &s.UpstreamSerial, &s.Upstream, &fa, &ca, &s.Files, &s.CachedFiles, &s.CachedBytes); err != nil {
			return nil, formatError(err)
		}
		s.FetchedAt, s.ChangedAt = fromMicros(fa), fromMicros(ca)
		out = append(out, s)
	}
	return out, formatError(rows.Err())
}

// DeleteMirrorProject drops a cached project and its files from the
// catalog. It returns the blob keys no longer referenced by any hosted or
// mirrored file (the caller deletes them from the store), or ErrNotFound.
func (c *Catalog) DeleteMirrorProject(ctx context.Context, name string) ([]string, error) {
	var orphans []string
	err := c.write(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM mirror_projects WHERE name = ?`, name).Scan(&id); err != nil {
			return err
		}
		var keys []string
		rows, err := tx.QueryContext(ctx, `SELECT blob_key, metadata_key FROM mirror_files WHERE project_id = ?`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b, m string
			if err := rows.Scan(&b, &m); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, b, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mirror_projects WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := c.bumpSerial(ctx, tx, name); err != nil {
			return err
		}
		orphans, err = unreferenced(ctx, tx, keys)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return orphans, err
}

// nonNilStrings returns s, or an empty slice for nil (JSON [] not null).
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// IndexName is one project of the root index (/simple/): hosted, or
// mirrored.
type IndexName struct {
	ProjectName
	// Mirrored is set for an upstream project whose page the mirror has
	// cached (no hosted project has its name); its DisplayName is its
	// normalized name and its LastSerial the cached page's serial.
	Mirrored bool
}

// IndexNames returns the projects of the root index sorted by normalized
// name, and the global serial of the same snapshot: every hosted project
// and, when mirrored is set, every cached upstream project that no hosted
// project hides (a hosted name always wins, merged or not).
func (c *Catalog) IndexNames(ctx context.Context, mirrored bool) ([]IndexName, int64, error) {
	var out []IndexName
	var serial int64
	query := `SELECT name, display_name, last_serial, 0 FROM projects`
	if mirrored {
		query += ` UNION ALL SELECT m.name, m.name, m.serial, 1 FROM mirror_projects m
			WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.name = m.name)`
	}
	query += ` ORDER BY 1`
	err := c.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT value FROM serial WHERE id = 1`).Scan(&serial); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n IndexName
			var m int
			if err := rows.Scan(&n.Name, &n.DisplayName, &n.LastSerial, &m); err != nil {
				return err
			}
			n.Mirrored = m == 1
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, serial, err
}
