package index

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pyindex/pyindex/index/pep503"
)

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
