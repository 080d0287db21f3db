package index

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// Actor is who makes a change, for the audit log: a user name (or
// "cli:NAME", "retention") and the client address when there is one.
type Actor struct {
	Name       string
	RemoteAddr string
}

// Event is one audit-log entry.
type Event struct {
	ID         int64     `json:"-"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Project    string    `json:"project"`
	Version    string    `json:"version"`
	Filename   string    `json:"filename"`
	RemoteAddr string    `json:"remote_addr"`
	Detail     string    `json:"detail,omitempty"`
}

func audit(ctx context.Context, tx *sql.Tx, now int64, e Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, project, version, filename, remote_addr, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, now, e.Actor, e.Action, e.Project, e.Version, e.Filename, e.RemoteAddr, e.Detail)
	return err
}

// Audit records an event that happened outside the catalog's own methods
// (for example a failed storage check) in the audit log.
func (c *Catalog) Audit(ctx context.Context, e Event) error {
	return c.write(ctx, func(tx *sql.Tx) error { return audit(ctx, tx, c.now().UnixMicro(), e) })
}

// AuditQuery filters AuditEvents. Empty fields match everything.
type AuditQuery struct {
	Project string
	Actor   string
	Action  string
	Limit   int // default 100, at most 1000
}

// AuditEvents returns matching events, newest first.
func (c *Catalog) AuditEvents(ctx context.Context, q AuditQuery) ([]Event, error) {
	var where []string
	var args []any
	if q.Project != "" {
		where = append(where, "project = ?")
		args = append(args, q.Project)
	}
	if q.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, q.Actor)
	}
	if q.Action != "" {
		where = append(where, "action = ?")
		args = append(args, q.Action)
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	query := `SELECT id, at, actor, action, project, version, filename, remote_addr, detail FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, q.Limit)
	rows, err := c.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Project, &e.Version, &e.Filename, &e.RemoteAddr, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
