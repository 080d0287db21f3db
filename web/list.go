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
	// Generic is a generic package (its own namespace: a project of the
	// same name may exist, and both are listed).
	Generic bool

	serial int64  // the project's last serial, for hosted projects
	text   string // what a search looks in: lower-cased names and summary
}

// snapshot is the project list at one catalog serial: every project,
// hosted and mirrored, sorted both ways. It is never changed once built.
type snapshot struct {
	serial   int64
	hosted   []*entry // the hosted projects, by name
	byName   []*entry // every project
	byUpload []*entry // newest upload first (then by name); projects with none last
}

// nameOrder is the order of the list by name: a project before a generic
// package of the same name.
func nameOrder(a, b *entry) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return boolInt(a.Generic) - boolInt(b.Generic)
}

// listing keeps the project list in memory, refreshed on the catalog's
// change serial: a change reads again only the projects whose last serial
// moved (index.Catalog.ProjectListings), plus the mirror's list, so a list
// of 100,000 projects is not rebuilt from scratch after every upload.
// Search results are kept per (serial, query, order).
//
// Generic packages join the list here: like the mirror's list, they are
// read whole on every refresh (there are few), and marked.
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
	if s := l.cur.Load(); s != nil && s.serial >= serial {
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

// refresh builds the next snapshot from old (nil: from scratch). Only
// the projects that changed since old are read; they are merged into
// old's sorted lists, so a refresh after one upload costs a pass over the
// lists, not a sort. When projects were deleted, the hosted names are read
// again.
func (l *listing) refresh(ctx context.Context, old *snapshot) (*snapshot, error) {
	var since int64
	if old != nil {
		since = old.serial
	}
	changed, count, serial, err := l.cat.ProjectListings(ctx, since)
	if err != nil {
		return nil, err
	}
	mirrored, err := l.cat.MirrorProjects(ctx)
	if err != nil {
		return nil, err
	}
	generics, err := l.cat.GenericPackages(ctx)
	if err != nil {
		return nil, err
	}
	fresh := make([]*entry, len(changed)) // by name
	byName := make(map[string]*entry, len(changed))
	added := 0
	for i, c := range changed {
		fresh[i] = hostedEntry(c)
		byName[c.Name] = fresh[i]
		if old == nil || findIn(old.hosted, c.Name) == nil {
			added++
		}
	}
	s := &snapshot{serial: serial}
	if old != nil && count == len(old.hosted)+added {
		s.hosted = mergeNames(old.hosted, fresh)
	} else {
		names, _, err := l.cat.ProjectNames(ctx)
		if err != nil {
			return nil, err
		}
		s.hosted = make([]*entry, 0, len(names))
		for _, n := range names {
			e := byName[n.Name]
			if e == nil && old != nil {
				if o := findIn(old.hosted, n.Name); o != nil && o.serial == n.LastSerial {
					e = o
				}
			}
			if e == nil { // changed between the two reads: by name until the next refresh
				e = &entry{Name: n.Name, Display: n.DisplayName, serial: n.LastSerial}
				e.text = searchText(e)
			}
			s.hosted = append(s.hosted, e)
		}
	}
	var mirror []*entry // by name, hosted names left out (a hosted name is never mixed with the upstream's)
	for _, m := range mirrored {
		if findIn(s.hosted, m.Name) != nil {
			continue
		}
		e := &entry{Name: m.Name, Display: m.Name, Mirrored: true, LastUpload: m.ChangedAt}
		e.text = searchText(e)
		mirror = append(mirror, e)
	}
	generic := make([]*entry, 0, len(generics)) // by name
	for _, g := range generics {
		e := &entry{Name: g.Name, Display: g.DisplayName, Latest: g.Latest, Generic: true}
		if g.LastUpload != nil {
			e.LastUpload = *g.LastUpload
		}
		e.text = searchText(e)
		generic = append(generic, e)
	}
	s.byName = merge(mergeNames(s.hosted, mirror), generic, nameOrder)
	if old != nil && len(s.hosted) == len(old.hosted)+added {
		// Old's order without the changed and mirrored entries, merged
		// with those in their order.
		kept := make([]*entry, 0, len(old.byUpload))
		drop := replacedAt(old, changed)
		for i, e := range old.byUpload {
			if e.Mirrored || e.Generic {
				continue
			}
			if drop != nil {
				if len(drop) > 0 && drop[0] == i {
					drop = drop[1:]
					continue
				}
			} else if byName[e.Name] != nil {
				continue
			}
			kept = append(kept, e)
		}
		moved := append(append(slices.Clone(fresh), mirror...), generic...)
		slices.SortFunc(moved, uploadOrder)
		s.byUpload = merge(kept, moved, uploadOrder)
	} else {
		s.byUpload = slices.Clone(s.byName)
		slices.SortFunc(s.byUpload, uploadOrder)
	}
	return s, nil
}

// replacedAt returns the positions in old.byUpload of the entries the
// changed projects replace, in order, found by binary search (so that a
// refresh after one upload does not look up 100,000 names). It returns nil
// when one is not found where its order puts it: the caller then looks up
// every name.
func replacedAt(old *snapshot, changed []index.ProjectListing) []int {
	at := make([]int, 0, len(changed))
	for _, c := range changed {
		o := findIn(old.hosted, c.Name)
		if o == nil {
			continue // a new project
		}
		i, ok := slices.BinarySearchFunc(old.byUpload, o, uploadOrder)
		if !ok || old.byUpload[i] != o {
			return nil
		}
		at = append(at, i)
	}
	slices.Sort(at)
	return at
}

// uploadOrder is the order of the list by last upload: newest first, then
// by name.
func uploadOrder(a, b *entry) int {
	if c := b.LastUpload.Compare(a.LastUpload); c != 0 {
		return c
	}
	return nameOrder(a, b)
}

// findIn finds name in entries sorted by name.
func findIn(entries []*entry, name string) *entry {
	i, ok := slices.BinarySearchFunc(entries, name, func(e *entry, n string) int { return strings.Compare(e.Name, n) })
	if !ok {
		return nil
	}
	return entries[i]
}

// mergeNames merges two lists sorted by name; on a name in both, b's
// entry wins.
func mergeNames(a, b []*entry) []*entry {
	out := make([]*entry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i].Name, b[j].Name); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// merge merges two lists sorted by cmp.
func merge(a, b []*entry, cmp func(a, b *entry) int) []*entry {
	out := make([]*entry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func hostedEntry(p index.ProjectListing) *entry {
	e := &entry{Name: p.Name, Display: p.DisplayName, LastUpload: p.LastUpload, serial: p.LastSerial, Latest: p.Latest, Summary: p.Summary}
	e.text = searchText(e)
	return e
}

func searchText(e *entry) string {
	return strings.ToLower(e.Name + " " + e.Display + " " + e.Summary)
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
