package simple

import (
	"context"
	"slices"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep440"
)

// Upstream is what the read side needs from a mirror of another index: the
// pages of projects that are not hosted here. The mirror package satisfies
// it; cmd wires the two, so this package never imports the mirror.
type Upstream interface {
	// Page returns the page of a project from the upstream (fresh or
	// cached), with file URLs already pointing at this server. Page.Serial
	// must change whenever the content changes: rendered pages are cached
	// under it. It returns ErrNotFound when the upstream has no such
	// project, and an *UpstreamError when the upstream cannot be reached
	// and nothing is cached.
	Page(ctx context.Context, name string) (*index.Page, error)
	// Merge reports whether a hosted project's page should also show the
	// upstream's files (an explicit opt-in: by default a hosted name hides
	// the upstream project entirely, against dependency confusion).
	Merge(name string) bool
}

// WarmUpstream is an Upstream that can also answer from memory alone;
// the fast lane serves warm mirrored pages through it (an InMemory request).
type WarmUpstream interface {
	Upstream
	// WarmPage returns what Page would, when it is already in memory and
	// fresh, without a query or a request upstream; false otherwise.
	WarmPage(name string) (*index.Page, bool)
}

// mergePages returns the hosted page with the upstream files whose names
// the hosted page does not already have, and the union of versions.
func mergePages(hosted, up *index.Page) *index.Page {
	out := &index.Page{Name: hosted.Name, Serial: hosted.Serial}
	have := map[string]bool{}
	for _, f := range hosted.Files {
		have[f.Filename] = true
	}
	out.Files = append(out.Files, hosted.Files...)
	for _, f := range up.Files {
		if !have[f.Filename] {
			out.Files = append(out.Files, f)
		}
	}
	seen := map[string]bool{}
	for _, v := range append(append([]string{}, hosted.Versions...), up.Versions...) {
		if !seen[v] {
			seen[v] = true
			out.Versions = append(out.Versions, v)
		}
	}
	slices.SortStableFunc(out.Versions, func(a, b string) int {
		va, ea := pep440.Parse(a)
		vb, eb := pep440.Parse(b)
		switch {
		case ea != nil && eb != nil:
			return 0
		case ea != nil: // legacy versions sort first, as on PyPI
			return -1
		case eb != nil:
			return 1
		}
		return pep440.Compare(va, vb)
	})
	return out
}
