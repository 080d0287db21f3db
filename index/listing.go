package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/pep440"
)

// ProjectListing is one hosted project of the project list: its latest
// release (by PEP 440: the newest final release not yanked, else the
// newest release not yanked, else the newest, as PyPI picks) and that
// release's summary.
type ProjectListing struct {
	Name        string // normalized
	DisplayName string
	LastSerial  int64
	LastUpload  time.Time // zero when the project has no file
	Latest      string    // the latest release's version; "" without releases
	Summary     string

	latestID int64
	latestV  pep440.Version
	rank     int
}

// LatestRank orders the kinds of release for "the latest release": a
// final release (not a pre-release or dev build) that is not yanked
// ranks 2, any other release not yanked 1, a yanked one 0. The latest is
// the newest release of the highest rank.
func LatestRank(v pep440.Version, yanked bool) int {
	switch {
	case !yanked && !v.IsPrerelease():
		return 2
	case !yanked:
		return 1
	}
	return 0
}

// ProjectListings returns, from one snapshot, the global serial, how many
// hosted projects there are, and, for the projects whose last serial is
// above since, their latest release, its summary and their last upload
// time (changed, sorted by name; all projects when since is 0). A caller
// keeping a list refreshes it with the serial of its previous call: only
// what changed is read again. When count is not what the caller's list
// and the new projects among changed add up to, projects were deleted,
// and ProjectNames says which remain. Only the latest release's metadata
// is read.
func (c *Catalog) ProjectListings(ctx context.Context, since int64) (changed []ProjectListing, count int, serial int64, err error) {
	err = c.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT value FROM serial WHERE id = 1), (SELECT COUNT(*) FROM projects)`).
			Scan(&serial, &count); err != nil {
			return err
		}
		byID := map[int64]int{}
		rows, err := tx.QueryContext(ctx, `SELECT p.id, p.name, p.display_name, p.last_serial,
				(SELECT COALESCE(MAX(f.upload_time), 0) FROM files f WHERE f.project_id = p.id)
			FROM projects p WHERE p.last_serial > ?`, since) // sorted below: ORDER BY name made SQLite scan every project in name order rather than use projects_last_serial
		if err != nil {
			return err
		}
		for rows.Next() {
			var l ProjectListing
			var id, last int64
			if err := rows.Scan(&id, &l.Name, &l.DisplayName, &l.LastSerial, &last); err != nil {
				rows.Close()
				return err
			}
			if last != 0 {
				l.LastUpload = time.UnixMicro(last).UTC()
			}
			l.rank = -1
			byID[id] = len(changed)
			changed = append(changed, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Driven by the projects (index projects_last_serial), so that one
		// changed project reads its releases only.
		rows, err = tx.QueryContext(ctx, `SELECT r.id, r.project_id, r.version, r.yanked
			FROM releases r WHERE r.project_id IN (SELECT id FROM projects WHERE last_serial > ?)`, since)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, pid int64
			var version string
			var yanked bool
			if err := rows.Scan(&id, &pid, &version, &yanked); err != nil {
				rows.Close()
				return err
			}
			i, ok := byID[pid]
			v, perr := pep440.Parse(version)
			if !ok || perr != nil {
				continue
			}
			l := &changed[i]
			if rk := LatestRank(v, yanked); rk > l.rank || (rk == l.rank && pep440.Compare(v, l.latestV) > 0) {
				l.Latest, l.latestID, l.latestV, l.rank = version, id, v, rk
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return latestSummaries(ctx, tx, changed)
	})
	slices.SortFunc(changed, func(a, b ProjectListing) int { return strings.Compare(a.Name, b.Name) })
	return changed, count, serial, err
}

// latestSummaries reads the summary of each listing's latest release, a
// few hundred releases a query.
func latestSummaries(ctx context.Context, tx *sql.Tx, ls []ProjectListing) error {
	at := map[int64]int{}
	var ids []any
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		q := `SELECT id, metadata FROM releases WHERE id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		rows, err := tx.QueryContext(ctx, q, ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var md string
			if err := rows.Scan(&id, &md); err != nil {
				return err
			}
			var m struct {
				Summary string `json:"summary"`
			}
			_ = json.Unmarshal([]byte(md), &m) // unreadable metadata: no summary
			ls[at[id]].Summary = m.Summary
		}
		ids = ids[:0]
		return rows.Err()
	}
	for i := range ls {
		if ls[i].latestID == 0 {
			continue
		}
		at[ls[i].latestID] = i
		ids = append(ids, ls[i].latestID)
		if len(ids) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
