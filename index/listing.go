package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// ListedRelease is one release as the web interface's project list needs
// it: enough to pick the latest release and show its summary.
type ListedRelease struct {
	Version string // normalized
	Yanked  bool
	Summary string
}

// ProjectListing is one hosted project of the project list.
type ProjectListing struct {
	Name        string // normalized
	DisplayName string
	LastSerial  int64
	LastUpload  time.Time // zero when the project has no file
	Releases    []ListedRelease
}

// ProjectListings returns, from one snapshot, every hosted project's
// name and last serial (sorted by name) and the global serial; and, for
// the projects whose last serial is above since, their releases and last
// upload time (changed; all of them when since is 0). A caller keeping a
// list refreshes it with the serial of its previous call: only what
// changed is read again, and projects absent from names were deleted.
func (c *Catalog) ProjectListings(ctx context.Context, since int64) (names []ProjectName, changed []ProjectListing, serial int64, err error) {
	err = c.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT value FROM serial WHERE id = 1`).Scan(&serial); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, display_name, last_serial FROM projects ORDER BY name`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var p ProjectName
			if err := rows.Scan(&p.Name, &p.DisplayName, &p.LastSerial); err != nil {
				rows.Close()
				return err
			}
			names = append(names, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		byName := map[string]int{}
		rows, err = tx.QueryContext(ctx, `SELECT p.name, p.display_name, p.last_serial,
				(SELECT COALESCE(MAX(f.upload_time), 0) FROM files f WHERE f.project_id = p.id)
			FROM projects p WHERE p.last_serial > ? ORDER BY p.name`, since)
		if err != nil {
			return err
		}
		for rows.Next() {
			var l ProjectListing
			var last int64
			if err := rows.Scan(&l.Name, &l.DisplayName, &l.LastSerial, &last); err != nil {
				rows.Close()
				return err
			}
			if last != 0 {
				l.LastUpload = time.UnixMicro(last).UTC()
			}
			byName[l.Name] = len(changed)
			changed = append(changed, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT p.name, r.version, r.yanked, r.metadata
			FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.last_serial > ?`, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name, md string
			var r ListedRelease
			if err := rows.Scan(&name, &r.Version, &r.Yanked, &md); err != nil {
				return err
			}
			var m struct {
				Summary string `json:"summary"`
			}
			_ = json.Unmarshal([]byte(md), &m) // a release without readable metadata has no summary
			r.Summary = m.Summary
			if i, ok := byName[name]; ok {
				changed[i].Releases = append(changed[i].Releases, r)
			}
		}
		return rows.Err()
	})
	return names, changed, serial, err
}
