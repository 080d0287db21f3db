package mirror

import (
	"context"
	"errors"

	"github.com/pyindex/pyindex/index"
)

// What a prefetch (package mirror/sync) asks of the cache: the same
// checks, fetches and verification as the pull-through paths, so that a
// synced file is cached exactly as one a client asked for.

// Offline reports whether the mirror serves only what is cached
// (mirror.offline).
func (m *Mirror) Offline() bool { return m.cfg.Offline }

// Hosted reports whether a project of that (normalized) name is hosted
// here and not in merge_upstream: the mirror never serves its upstream
// files.
func (m *Mirror) Hosted(ctx context.Context, name string) (bool, error) {
	m.reads.Add(1)
	_, err := m.cat.ProjectSerial(ctx, name)
	switch {
	case err == nil:
		return !m.Merge(name), nil
	case errors.Is(err, index.ErrNotFound):
		return false, nil
	}
	return false, err
}

// Refresh asks the upstream for a project's page now, whatever its TTL,
// forgetting a remembered upstream 404. It returns index.ErrNotFound when
// the upstream has no such project, and an *index.UpstreamError when it
// fails.
func (m *Mirror) Refresh(ctx context.Context, name string) error {
	m.clearNegative(name)
	return m.refresh(ctx, name)
}

// Cooling reports whether the cooldown (mirror.min_age) hides f, a file of
// project's cached page.
func (m *Mirror) Cooling(project string, f *index.MirrorFile) bool {
	cutoff, cool := m.cutoff(project)
	return cool && cooling(f, cutoff)
}

// CacheFile downloads a file of project's cached page into the store,
// verified against every hash the page gives, sharing the download with
// concurrent requests for it, and returns the updated row. Bytes already
// stored under the file's sha256 are recorded without a download.
func (m *Mirror) CacheFile(ctx context.Context, project string, f index.MirrorFile) (index.MirrorFile, error) {
	cf, err := m.fetchShared(ctx, project+"/"+f.Filename, false, func(ctx context.Context, sp *spool) (index.MirrorFile, error) {
		cur, err := m.cat.MirrorFile(ctx, project, f.Filename)
		if err != nil {
			return f, err
		}
		return m.fetchLeased(ctx, project, cur, sp)
	}).wait(ctx)
	if err != nil {
		return f, err
	}
	return cf, nil
}
