package index

import (
	"context"
	"database/sql"
	"time"
)

// Stats summarizes what the catalog holds, for the home page and the
// catalog gauges of /metrics.
type Stats struct {
	// Serial is the global change serial of the snapshot.
	Serial int64
	// Projects, Releases, Files and Bytes count hosted projects, releases
	// and files, and the files' total size.
	Projects int64
	Releases int64
	Files    int64
	Bytes    int64
	// MirrorProjects counts the upstream projects whose page is cached;
	// MirrorFiles and MirrorBytes the cached upstream files.
	MirrorProjects int64
	MirrorFiles    int64
	MirrorBytes    int64
}

// Stats returns the catalog's counts, from one consistent snapshot. It only
// reads aggregates, so it is cheap enough to run on every scrape.
func (c *Catalog) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	err := c.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT value FROM serial WHERE id = 1),
			(SELECT count(*) FROM projects),
			(SELECT count(*) FROM releases),
			(SELECT count(*) FROM files),
			(SELECT coalesce(sum(size), 0) FROM files),
			(SELECT count(*) FROM mirror_projects),
			(SELECT count(*) FROM mirror_files WHERE blob_key != ''),
			(SELECT coalesce(sum(size), 0) FROM mirror_files WHERE blob_key != '')`).Scan(
			&s.Serial, &s.Projects, &s.Releases, &s.Files, &s.Bytes,
			&s.MirrorProjects, &s.MirrorFiles, &s.MirrorBytes)
	})
	return s, err
}

// RecentFile is one entry of RecentFiles.
type RecentFile struct {
	Project     string // PEP 503 normalized
	DisplayName string
	Version     string
	Filename    string
	Size        int64
	UploadTime  time.Time
}

// RecentFiles returns the n most recently uploaded hosted files, newest
// first.
func (c *Catalog) RecentFiles(ctx context.Context, n int) ([]RecentFile, error) {
	var out []RecentFile
	err := c.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.name, p.display_name, r.version, f.filename, f.size, f.upload_time
			FROM files f JOIN releases r ON r.id = f.release_id JOIN projects p ON p.id = f.project_id
			ORDER BY f.upload_time DESC, f.id DESC LIMIT ?`, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f RecentFile
			var at int64
			if err := rows.Scan(&f.Project, &f.DisplayName, &f.Version, &f.Filename, &f.Size, &at); err != nil {
				return err
			}
			f.UploadTime = time.UnixMicro(at).UTC()
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}
