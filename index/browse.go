package index

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// ProjectReleases is ProjectDetail without the releases' metadata (each
// Release.Metadata is empty): a project page with thousands of releases
// reads their metadata only when one is shown (ReleaseMetadata). It
// returns ErrNotFound for an unknown project.
func (c *Catalog) ProjectReleases(ctx context.Context, name string) (Project, []*Release, error) {
	return c.projectReleases(ctx, name, false)
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
