package web

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/cache"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// entry is one project of the project list.
type entry struct {
	Name       string // normalized
	Display    string
	Summary    string
	Latest     string // the latest release's version; "" for none (or a mirrored project)
	LastUpload time.Time
	Mirrored   bool

	serial int64  // the project's last serial, for hosted projects
	text   string // what a search looks in: lower-cased names and summary
}

// snapshot is the project list at one catalog serial: every project,
// hosted and mirrored, sorted both ways. It is never changed once built.
type snapshot struct {
	serial   int64
	byName   []*entry
	byUpload []*entry // newest upload first; projects with none last, by name
	names    map[string]*entry
}

// listing keeps the project list in memory, refreshed on the catalog's
// change serial: a change reads again only the projects whose last serial
// moved (index.Catalog.ProjectListings), plus the mirror's list, so a list
// of 100,000 projects is not rebuilt from scratch after every upload.
// Search results are kept per (serial, query, order).
//
// Generic packages (once they land) join the list here: one more source
// read in refresh, whose entries are marked like the mirrored ones.
type listing struct {
	cat      *index.Catalog
	mu       sync.Mutex // held while refreshing
	cur      atomic.Pointer[snapshot]
	searches *cache.Map[searchKey, []*entry]
}

type searchKey struct {
	serial int64
	q      string
	order  string
}

func newListing(cat *index.Catalog) *listing {
	return &listing{cat: cat, searches: cache.New[searchKey, []*entry](256)}
}

// snapshot returns the list as of now.
func (l *listing) snapshot(ctx context.Context) (*snapshot, error) {
	serial, err := l.cat.Serial(ctx)
	if err != nil {
		return nil, err
	}
	if s := l.cur.Load(); s != nil && s.serial == serial {
		return s, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.cur.Load(); s != nil && s.serial >= serial {
		return s, nil
	}
	s, err := l.refresh(ctx, l.cur.Load())
	if err != nil {
		return nil, err
	}
	l.cur.Store(s)
	return s, nil
}

// refresh builds the next snapshot from old (nil: from scratch).
func (l *listing) refresh(ctx context.Context, old *snapshot) (*snapshot, error) {
	var since int64
	if old != nil {
		since = old.serial
	}
	names, changed, serial, err := l.cat.ProjectListings(ctx, since)
	if err != nil {
		return nil, err
	}
	mirrored, err := l.cat.MirrorProjects(ctx)
	if err != nil {
		return nil, err
	}
	fresh := make(map[string]*entry, len(changed))
	for _, c := range changed {
		fresh[c.Name] = hostedEntry(c)
	}
	s := &snapshot{serial: serial, names: make(map[string]*entry, len(names)+len(mirrored))}
	s.byName = make([]*entry, 0, len(names)+len(mirrored))
	for _, n := range names {
		e := fresh[n.Name]
		if e == nil && old != nil {
			if o := old.names[n.Name]; o != nil && !o.Mirrored && o.serial == n.LastSerial {
				e = o
			}
		}
		if e == nil { // changed between the two reads; shown by name until the next refresh
			e = &entry{Name: n.Name, Display: n.DisplayName, serial: n.LastSerial}
			e.text = searchText(e)
		}
		s.byName = append(s.byName, e)
		s.names[e.Name] = e
	}
	for _, m := range mirrored {
		if s.names[m.Name] != nil {
			continue // a hosted name is never mixed with the upstream's
		}
		e := &entry{Name: m.Name, Display: m.Name, Mirrored: true, LastUpload: m.ChangedAt}
		e.text = searchText(e)
		s.byName = append(s.byName, e)
		s.names[e.Name] = e
	}
	slices.SortFunc(s.byName, func(a, b *entry) int { return strings.Compare(a.Name, b.Name) })
	s.byUpload = slices.Clone(s.byName)
	slices.SortStableFunc(s.byUpload, func(a, b *entry) int { return b.LastUpload.Compare(a.LastUpload) })
	return s, nil
}

func hostedEntry(p index.ProjectListing) *entry {
	e := &entry{Name: p.Name, Display: p.DisplayName, LastUpload: p.LastUpload, serial: p.LastSerial}
	if r := latestListed(p.Releases); r != nil {
		e.Latest, e.Summary = r.Version, r.Summary
	}
	e.text = searchText(e)
	return e
}

func searchText(e *entry) string {
	return strings.ToLower(e.Name + " " + e.Display + " " + e.Summary)
}

// latestListed picks the latest release as latestRelease does.
func latestListed(rels []index.ListedRelease) *index.ListedRelease {
	var best *index.ListedRelease
	var bestV pep440.Version
	bestRank := -1
	for i := range rels {
		v, err := pep440.Parse(rels[i].Version)
		if err != nil {
			continue
		}
		rank := releaseRank(v, rels[i].Yanked)
		if rank > bestRank || (rank == bestRank && pep440.Compare(v, bestV) > 0) {
			best, bestV, bestRank = &rels[i], v, rank
		}
	}
	return best
}

// releaseRank orders the kinds of release for "latest": a final release
// (not a pre-release or dev build) that is not yanked, then any release
// that is not yanked, then a yanked one (as PyPI picks).
func releaseRank(v pep440.Version, yanked bool) int {
	switch {
	case !yanked && !v.IsPrerelease():
		return 2
	case !yanked:
		return 1
	}
	return 0
}

// search returns the entries matching q (every word in a name or the
// summary; empty: all) in the order asked ("name" or "upload").
func (l *listing) search(s *snapshot, q, order string) []*entry {
	all := s.byName
	if order == "upload" {
		all = s.byUpload
	}
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return all
	}
	key := searchKey{serial: s.serial, q: strings.Join(words, " "), order: order}
	if hit, ok := l.searches.Get(key); ok {
		return hit
	}
	norms := make([]string, len(words))
	for i, w := range words {
		norms[i] = pep503.Normalize(w)
	}
	var out []*entry
	for _, e := range all {
		if matches(e, words, norms) {
			out = append(out, e)
		}
	}
	// Exact name matches first, as a user typing a name expects.
	if len(words) == 1 {
		slices.SortStableFunc(out, func(a, b *entry) int {
			return cmp.Compare(boolInt(b.Name == norms[0]), boolInt(a.Name == norms[0]))
		})
	}
	l.searches.Put(key, out)
	return out
}

func matches(e *entry, words, norms []string) bool {
	for i, w := range words {
		if !strings.Contains(e.text, w) && (norms[i] == "" || !strings.Contains(e.Name, norms[i])) {
			return false
		}
	}
	return true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
