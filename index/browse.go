package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// ProjectHistory returns a project and its releases, oldest first by PEP
// 440, read from one snapshot, without their files or metadata (each
// Release.Files and Release.Metadata is empty): a project page with
// thousands of releases reads the files of a release (ReleaseFiles) and
// its metadata (ReleaseMetadata) only when one is shown. It returns
// ErrNotFound for an unknown project.
func (c *Catalog) ProjectHistory(ctx context.Context, name string) (Project, []*Release, error) {
	var p Project
	var rels []*Release
	err := c.read(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = readProject(ctx, tx, name); err != nil {
			return err
		}
		var created int64
		rows, err := tx.QueryContext(ctx, `SELECT id, version, canonical, yanked, yanked_reason, created_at
			FROM releases WHERE project_id = ?`, p.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &Release{ProjectID: p.ID}
			if err := rows.Scan(&r.ID, &r.Version, &r.Canonical, &r.Yanked, &r.YankedReason, &created); err != nil {
				return err
			}
			r.CreatedAt = time.UnixMicro(created).UTC()
			r.parsed, _ = pep440.Parse(r.Version)
			rels = append(rels, r)
		}
		return rows.Err()
	})
	if err != nil {
		return Project{}, nil, err
	}
	SortReleases(rels)
	return p, rels, nil
}

// ReleaseFiles returns the files of one release of project (any spelling
// of its version) by filename, and ErrNotFound when there is no such
// release.
func (c *Catalog) ReleaseFiles(ctx context.Context, project, version string) ([]File, error) {
	var out []File
	err := c.read(ctx, func(tx *sql.Tx) error {
		r, err := releaseByVersion(ctx, tx, project, version)
		if err != nil {
			return err
		}
		out, err = filesWhere(ctx, tx, `f.release_id = ?`, r.ID)
		return err
	})
	return out, err
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

// KnownProjects returns which of names (normalized) this index has, as a
// hosted project or a mirrored page: a page links the dependencies it
// has. At most 500 names are looked up; more is ErrInvalid.
func (c *Catalog) KnownProjects(ctx context.Context, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(names) == 0 {
		return out, nil
	}
	if len(names) > 500 {
		return nil, Errorf(ErrInvalid, "at most 500 names at once")
	}
	args := make([]any, 0, 2*len(names))
	for _, n := range names {
		args = append(args, n)
	}
	args = append(args, args...)
	in := `(?` + strings.Repeat(", ?", len(names)-1) + `)`
	rows, err := c.r.QueryContext(ctx, `SELECT name FROM projects WHERE name IN `+in+
		` UNION SELECT name FROM mirror_projects WHERE name IN `+in, args...)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, formatError(err)
		}
		out[n] = true
	}
	return out, formatError(rows.Err())
}
