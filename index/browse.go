package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// ProjectReleases is ProjectDetail without the releases' metadata (each
// Release.Metadata is empty): a project page with thousands of releases
// reads their metadata only when one is shown (ReleaseMetadata). It
// returns ErrNotFound for an unknown project.
func (c *Catalog) ProjectReleases(ctx context.Context, name string) (Project, []*Release, error) {
	var p Project
	var rels []*Release
	err := c.read(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, name, display_name, created_at, last_serial FROM projects WHERE name = ?`,
			name).Scan(&p.ID, &p.Name, &p.DisplayName, &created, &p.LastSerial)
		if err != nil {
			return err
		}
		p.CreatedAt = time.UnixMicro(created).UTC()
		rows, err := tx.QueryContext(ctx, `SELECT id, version, canonical, yanked, yanked_reason, created_at
			FROM releases WHERE project_id = ?`, p.ID)
		if err != nil {
			return err
		}
		byID := map[int64]*Release{}
		for rows.Next() {
			r := &Release{ProjectID: p.ID}
			if err := rows.Scan(&r.ID, &r.Version, &r.Canonical, &r.Yanked, &r.YankedReason, &created); err != nil {
				rows.Close()
				return err
			}
			r.CreatedAt = time.UnixMicro(created).UTC()
			r.parsed, _ = pep440.Parse(r.Version)
			rels = append(rels, r)
			byID[r.ID] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+fileColumns+fileJoins+`WHERE f.project_id = ? ORDER BY f.filename`, p.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFile(rows)
			if err != nil {
				return err
			}
			if r := byID[f.ReleaseID]; r != nil {
				r.Files = append(r.Files, f)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return Project{}, nil, err
	}
	SortReleases(rels)
	return p, rels, nil
}

// ReleaseMetadata returns the core metadata recorded for a release (any
// spelling of its version), or ErrNotFound.
func (c *Catalog) ReleaseMetadata(ctx context.Context, project, version string) (dist.Metadata, error) {
	v, err := pep440.Parse(version)
	if err != nil {
		return dist.Metadata{}, Errorf(ErrInvalid, "version %q", version)
	}
	var md string
	err = c.r.QueryRowContext(ctx, `SELECT r.metadata FROM releases r JOIN projects p ON p.id = r.project_id
		WHERE p.name = ? AND r.canonical = ?`, pep503.Normalize(project), v.Canonical()).Scan(&md)
	if err != nil {
		return dist.Metadata{}, formatError(err)
	}
	var m dist.Metadata
	if err := json.Unmarshal([]byte(md), &m); err != nil {
		return dist.Metadata{}, fmt.Errorf("release %s %s metadata: %w", project, version, err)
	}
	return m, nil
}
