package index

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"slices"
	"time"
)

// The change log (table change_log, migration 0010) tells every process
// which projects each write transaction changed, so that its caches
// forget those and keep the rest (serialcache.go). A write that bumps the
// serial records one row per project it changed (bumpSerial,
// touchProjects); a write that changes what a cache keeps of a project
// without a new serial (a mirrored page revalidated, a mirrored file
// cached) records a row with serial 0 (recordChange). Writes that change
// nothing a cache keeps (users, tokens, sessions, owners, webhooks, dev
// numbers, the audit log alone) record nothing: auth decisions read the
// catalog every time.
//
// Readers check the log against the serial: every bump must have its rows,
// in order, without a gap. A write that moves the serial without rows (a
// bulk import), a row for "" (anything may have changed), rows pruned
// before a process read them, or a log that went back (a restored backup)
// make the reader forget everything, as every commit did before the log.
const (
	// changeLogKeep is how many rows writers keep; changeLogPruneEvery how
	// often (in rows) they delete older ones.
	changeLogKeep       = 2048
	changeLogPruneEvery = 128
	// changeLogRead is the most rows a reader applies one by one; past it
	// it forgets everything.
	changeLogRead = 1024
)

// changeRow is a row of the change log.
type changeRow struct {
	id, serial int64
	project    string
	origin, at int64
}

// changeLog is what a reader found: the global serial and the last row's
// id, read from one snapshot with the rows after the reader's last
// (changeLogRead+1 at most).
type changeLog struct {
	serial, last int64
	rows         []changeRow
}

// newOrigin returns a random number naming one opened catalog in the log.
func newOrigin() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return time.Now().UnixNano()
	}
	return int64(binary.BigEndian.Uint64(b[:]) >> 1)
}

// bumpSerial increments the global serial, records that the transaction
// changed each of projects at the new serial (none: anything may have
// changed), and returns the new value.
func (c *Catalog) bumpSerial(ctx context.Context, tx *sql.Tx, projects ...string) (int64, error) {
	var s int64
	if err := tx.QueryRowContext(ctx, `UPDATE serial SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&s); err != nil {
		return 0, err
	}
	if len(projects) == 0 {
		projects = []string{""}
	}
	for _, p := range projects {
		if err := c.recordChange(ctx, tx, s, p); err != nil {
			return 0, err
		}
	}
	return s, nil
}

// touchProjects bumps the global serial once and makes it the last serial
// of every given project (the page cache is keyed by it).
func (c *Catalog) touchProjects(ctx context.Context, tx *sql.Tx, ids ...int64) error {
	var serial int64
	if err := tx.QueryRowContext(ctx, `UPDATE serial SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&serial); err != nil {
		return err
	}
	if len(ids) == 0 {
		return c.recordChange(ctx, tx, serial, "")
	}
	for _, id := range ids {
		var name string
		if err := tx.QueryRowContext(ctx, `UPDATE projects SET last_serial = ? WHERE id = ? RETURNING name`, serial, id).Scan(&name); err != nil {
			return err
		}
		if err := c.recordChange(ctx, tx, serial, name); err != nil {
			return err
		}
	}
	return nil
}

// recordChange adds a row to the change log: the transaction changed
// project ("": anything may have changed) at serial (0: without bumping
// it). Writers run one at a time on both engines, so MAX(id) + 1 numbers
// the rows without a gap, in commit order.
func (c *Catalog) recordChange(ctx context.Context, tx *sql.Tx, serial int64, project string) error {
	var id int64
	// The commit time is the real clock's (SetClock's is for page
	// content): readers measure propagation with it.
	if err := tx.QueryRowContext(ctx, `INSERT INTO change_log (id, serial, project, origin, at)
		SELECT COALESCE(MAX(id), 0) + 1, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM change_log
		RETURNING id`, serial, project, c.origin, time.Now().UnixMicro()).Scan(&id); err != nil {
		return err
	}
	if id%changeLogPruneEvery == 0 {
		_, err := tx.ExecContext(ctx, `DELETE FROM change_log WHERE id <= ?`, id-changeLogKeep)
		return err
	}
	return nil
}

// readChangeLog reads the global serial, the log's last id and the rows
// after id after, in one statement (one snapshot on both engines, and one
// round trip): its first row (id 0) carries the serial and the last id.
func (c *Catalog) readChangeLog(ctx context.Context, after int64) (changeLog, error) {
	var l changeLog
	limit := changeLogRead + 1
	if after < 0 {
		limit = 0 // unknown: everything is forgotten anyway
	}
	rows, err := c.r.QueryContext(ctx, `SELECT 0, (SELECT value FROM serial WHERE id = 1), '', 0, (SELECT COALESCE(MAX(id), 0) FROM change_log)
		UNION ALL SELECT * FROM (SELECT id, serial, project, origin, at FROM change_log WHERE id > ? ORDER BY id LIMIT ?) AS after_rows`,
		after, limit)
	if err != nil {
		return l, formatError(err)
	}
	defer rows.Close()
	header := false
	for rows.Next() {
		var r changeRow
		if err := rows.Scan(&r.id, &r.serial, &r.project, &r.origin, &r.at); err != nil {
			return l, formatError(err)
		}
		if r.id == 0 {
			l.serial, l.last, header = r.serial, r.at, true
			continue
		}
		l.rows = append(l.rows, r)
	}
	if err := rows.Err(); err != nil {
		return l, formatError(err)
	}
	if !header {
		return l, errors.New("change log: no header row")
	}
	// UNION ALL keeps no order by itself.
	slices.SortFunc(l.rows, func(a, b changeRow) int { return cmp.Compare(a.id, b.id) })
	return l, nil
}
