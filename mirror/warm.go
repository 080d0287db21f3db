package mirror

import (
	"context"
	"errors"
	"time"

	"github.com/pyindex/pyindex/index"
)

// The warm paths (a page within its TTL, a file already cached) serve from
// memory what they would otherwise read from the catalog on every request.
// Everything kept is keyed by the project's change token
// (index.Catalog.ProjectChangeToken), which changes once anything about the
// project (its mirrored page, which files have a cached copy, a hosted
// project of the name) is committed, by this process or another, and not
// when other projects change: an entry is used only while the token it was
// read under is still the current one, so a request never sees older data
// than a query of its own would have returned. The token is always taken
// before the reads it keys, never after: data read later is at least as new
// as the token, and a commit in between changes the token anyway.
//
// When the catalog has no change token (its serial cache is off), nothing
// is served from these caches and every request reads the catalog, as
// before they existed.

// maxWarmProjects, maxWarmFiles and maxNegative bound the warm caches and
// the remembered upstream 404s.
const (
	maxWarmProjects = 2048
	maxWarmFiles    = 8192
	maxNegative     = 100000
)

// projectEntry is what the page path knows of a cached project. It is
// never changed once shared; a newer copy replaces it.
type projectEntry struct {
	// state is the project (without files) as read under token; ok false:
	// read without a token, never a hit by itself.
	state index.MirrorProject
	token int64
	ok    bool
	// p is the decoded page with its files, at p.Serial (at least
	// state.Serial). It may come from an older entry of the same serial:
	// the page's content is the same, though which files have a cached
	// copy (BlobKey) may not be, so the file path never uses it.
	p *index.MirrorProject
	// page is the index's view of p (nil until built); it shows the right
	// files for any time in [from, until), until zero meaning forever (the
	// min_age cooldown hides files by time).
	page        *index.Page
	from, until time.Time
}

// fileEntry is a file of a cached page, as read under token (the project
// not hosted, or merged, at that time).
// fileKey names a file of a cached page as read at one change token: an
// entry of an older token is never asked for again, and ages out.
type fileKey struct {
	token             int64
	project, filename string
}

// token returns the project's change token, and false when there is none.
func (m *Mirror) token(project string) (int64, bool) {
	t, err := m.cat.ProjectChangeToken(project)
	return t, err == nil
}

// fresh reports whether a cached project's page is served without asking
// the upstream.
func (m *Mirror) fresh(st *index.MirrorProject) bool {
	return m.cfg.Offline || m.now().Sub(st.FetchedAt) < m.cfg.TTL
}

// warmProject returns the entry of name when it was read under tok.
func (m *Mirror) warmProject(name string, tok int64) *projectEntry {
	e, _ := m.warmProjects.Get(name)
	if e == nil || !e.ok || e.token != tok {
		return nil
	}
	return e
}

// load returns the entry of a cached project whose state st was just read
// (under tok when ok), decoding its page from the catalog unless the
// previous entry has the same serial, and remembers it.
func (m *Mirror) load(ctx context.Context, st index.MirrorProject, tok int64, ok bool) (*projectEntry, error) {
	old, _ := m.warmProjects.Get(st.Name)
	e := &projectEntry{state: st, token: tok, ok: ok}
	if old != nil && old.p.Serial == st.Serial {
		e.p, e.page, e.from, e.until = old.p, old.page, old.from, old.until
	} else {
		p, err := m.readPage(ctx, st.Name)
		if err != nil {
			return nil, err
		}
		e.p = p
	}
	m.putProject(e)
	return e, nil
}

// pageOf returns the index's view of a fresh entry's page, built once for
// as long as the cooldown shows the same files.
func (m *Mirror) pageOf(e *projectEntry) *index.Page {
	now := m.now()
	if e.page != nil && !now.Before(e.from) && (e.until.IsZero() || now.Before(e.until)) {
		return e.page
	}
	pg, until := m.page(e.p, false)
	ne := *e
	// The cooldown's cutoff was taken during the build: the files shown
	// stay right from then on (the clock is read again, never earlier).
	ne.page, ne.from, ne.until = pg, m.now(), until
	m.warmProjects.Update(e.state.Name, func(cur *projectEntry, _ bool) (*projectEntry, bool) {
		return &ne, cur == e // else replaced or dropped meanwhile
	})
	return pg
}

// putProject remembers e, unless a newer entry of the same project took
// its place meanwhile.
func (m *Mirror) putProject(e *projectEntry) {
	m.warmProjects.Update(e.state.Name, func(cur *projectEntry, ok bool) (*projectEntry, bool) {
		return e, !ok || cur.p.Serial <= e.p.Serial
	})
}

// lookupFile returns the file of a cached page that the file path serves,
// and false when there is none to serve: no cached page lists it, or a
// hosted project has the name (and is not merged). Found files are kept
// under the change token.
func (m *Mirror) lookupFile(ctx context.Context, project, filename string) (index.MirrorFile, bool, error) {
	tok, ok := m.token(project)
	key := fileKey{tok, project, filename}
	if ok {
		if f, hit := m.warmFiles.Get(key); hit {
			return f, true, nil
		}
	}
	// A hosted name never serves upstream files unless merged.
	if hosted, err := m.Hosted(ctx, project); err != nil || hosted {
		return index.MirrorFile{}, false, err
	}
	m.reads.Add(1)
	f, err := m.cat.MirrorFile(ctx, project, filename)
	if errors.Is(err, index.ErrNotFound) {
		return f, false, nil
	}
	if err != nil {
		return f, false, err
	}
	if ok {
		m.warmFiles.Put(key, f)
	}
	return f, true, nil
}

// readState and readPage read the catalog for the page path, counting the
// reads (tests check that warm requests make none).
func (m *Mirror) readState(ctx context.Context, name string) (index.MirrorProject, error) {
	m.reads.Add(1)
	return m.cat.MirrorProjectState(ctx, name)
}

func (m *Mirror) readPage(ctx context.Context, name string) (*index.MirrorProject, error) {
	m.reads.Add(1)
	return m.cat.MirrorPage(ctx, name)
}
