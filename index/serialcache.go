package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index/sqlitewatch"
)

// serialCacheMax bounds the remembered project serials and the projects
// whose changes are remembered; past it the cache starts over.
const serialCacheMax = 1 << 17

// serialCache remembers the global serial and project serials (which key
// the page cache) between requests. When the database changes it reads the
// change log (changelog.go) and forgets only the projects that changed:
// a commit to one project leaves every other project's serial, and every
// cache keyed by a project's change token (ProjectChangeToken), warm. When
// the log cannot tell (a gap, rows pruned, a row for "", too many rows),
// it forgets everything.
//
// It learns that the database changed from a watch. On PostgreSQL that is
// package pgwatch (NOTIFY, a poll, and this process's own commits at
// once), and the cache applies each change as soon as the watch reports
// it. On SQLite it is PRAGMA data_version on a connection of its own
// (package sqlitewatch): the value changes whenever any other connection,
// in this process or another (the CLI, a second replica), has committed,
// so a change committed before a request starts is seen by that request,
// exactly as with a query per request.
//
// The check is a few memory loads when it can be: the WAL-index header
// (package sqlitewatch) is read first, and the pragma runs only when
// the header moved since the last pragma began. The pragma checks are
// grouped: a lookup waits for a check that started after
// the lookup did, and every lookup waiting at that moment shares it. Under
// load one cgo call then answers many requests, and none of them can be
// served a value older than what a query of its own would have returned.
// After a change, one lookup reads the log while the others wait for it.
//
// https://www.sqlite.org/pragma.html#pragma_data_version
type serialCache struct {
	check   changeWatch
	readLog func(ctx context.Context, after int64) (changeLog, error)
	origin  int64                // this catalog's rows of the log
	delay   prometheus.Histogram // propagation of other processes' changes
	stop    chan struct{}        // ends follow (PostgreSQL)
	done    chan struct{}

	applying sync.Mutex // held while the log is read and applied

	mu       sync.Mutex
	gen      uint64           // the check the cached values belong to
	version  int64            // its version
	last     int64            // the change log's last row applied; -1: unknown
	seen     int64            // the global serial as of last
	global   int64            // -1: unknown
	projects map[string]int64 // -1: not a hosted project
	// tick counts the changes applied (a project's, or everything's);
	// base is the tick of the last time everything was forgotten, and
	// changed the tick of each project's last change since.
	tick, base int64
	changed    map[string]int64
	// hits and misses count lookups (SerialLookups).
	hits, misses int64
}

// changeWatch tells whether the catalog changed: sqlitewatch.Watch on
// SQLite, pgwatch.Watch on PostgreSQL. Current returns a version that
// changes after every commit and the number of the check that read it.
type changeWatch interface {
	Current() (version int64, gen uint64, err error)
	Close() error
}

// changeSignal is a watch that tells when it has seen a change
// (pgwatch.Watch): the cache then applies it at once.
type changeSignal interface {
	Changed() <-chan struct{}
}

// propagationBuckets are the propagation histogram's bounds, in seconds.
var propagationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// newSerialCache watches the database file at path on a connection of
// its own, opened with dsn.
func (c *Catalog) newSerialCache(dsn, path string) (*serialCache, error) {
	w, err := sqlitewatch.Open(dsn, path)
	if err != nil {
		return nil, err
	}
	return c.watchSerials(w), nil
}

// watchSerials returns a serial cache of c fed by w.
func (c *Catalog) watchSerials(w changeWatch) *serialCache {
	c.propagation = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:        "pyindex_catalog_change_propagation_seconds",
		Help:        "Time from the commit of a change by another process (replica or CLI) to when this one applied it to its caches.",
		ConstLabels: prometheus.Labels{"engine": c.Engine()}, Buckets: propagationBuckets,
	})
	sc := &serialCache{
		check: w, readLog: c.readChangeLog, origin: c.origin, delay: c.propagation,
		stop: make(chan struct{}), done: make(chan struct{}),
		version: -1, last: -1, seen: -1, global: -1,
		projects: map[string]int64{}, changed: map[string]int64{},
	}
	if s, ok := w.(changeSignal); ok {
		go sc.follow(s)
	} else {
		close(sc.done)
		// Read where the log stands now, so that the first change
		// already forgets only its projects (and is measured).
		sc.sync()
	}
	return sc
}

// follow applies each change as soon as the watch reports it, until close.
func (sc *serialCache) follow(s changeSignal) {
	defer close(sc.done)
	for {
		ch := s.Changed()
		sc.sync() // an error leaves it to the next change or lookup
		select {
		case <-sc.stop:
			return
		case <-ch:
		}
	}
}

func (sc *serialCache) close() error {
	select {
	case <-sc.stop:
	default:
		close(sc.stop)
	}
	<-sc.done
	return sc.check.Close()
}

// syncTimeout bounds one read of the change log. The read takes a
// connection of the read pool like any query: should the pool stay
// exhausted (or the database hang) that long, the lookups waiting for the
// read fail over to queries of their own.
const syncTimeout = 2 * time.Second

// sync brings the cache up to a check of the watch that started after the
// call: when the database changed, it reads the change log and forgets
// what changed. Call without mu held. An error (the database unreachable)
// leaves the cache as it was, to be brought up to date by a later call;
// callers query meanwhile.
func (sc *serialCache) sync() error { return sc.syncThen(nil) }

// syncThen is sync, then calls fn (when not nil) with mu held: in the
// common case (nothing changed) under the same lock as the check.
func (sc *serialCache) syncThen(fn func()) error {
	v, gen, err := sc.check.Current()
	if err != nil {
		return err
	}
	sc.mu.Lock()
	if sc.currentLocked(v, gen) {
		if fn != nil {
			fn()
		}
		sc.mu.Unlock()
		return nil
	}
	sc.mu.Unlock()
	if err := sc.apply(v, gen); err != nil {
		return err
	}
	if fn != nil {
		sc.mu.Lock()
		fn()
		sc.mu.Unlock()
	}
	return nil
}

// apply reads the change log and applies it, bringing the cache up to
// check gen (which read version v) at least.
func (sc *serialCache) apply(v int64, gen uint64) error {
	// One reader of the log at a time; the others wait and share its
	// work when it covers their check.
	sc.applying.Lock()
	defer sc.applying.Unlock()
	if sc.current(v, gen) {
		return nil
	}
	sc.mu.Lock()
	after := sc.last
	sc.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	l, err := sc.readLog(ctx, after)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.applyLog(l)
	if gen > sc.gen {
		sc.gen, sc.version = gen, v
	}
	return nil
}

// current reports whether the cache is as new as check gen, which read
// version v, marking it so when nothing changed since the check applied.
func (sc *serialCache) current(v int64, gen uint64) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.currentLocked(v, gen)
}

// currentLocked is current with mu held.
func (sc *serialCache) currentLocked(v int64, gen uint64) bool {
	// A later check may have been applied already by another request:
	// its values are at least as new as this one's, so keep them.
	if gen <= sc.gen {
		return true
	}
	if v == sc.version && sc.last >= 0 {
		sc.gen = gen
		return true
	}
	return false
}

// applyLog forgets what the log says changed since the last rows
// applied, or everything when it cannot tell. Call with mu held.
func (sc *serialCache) applyLog(l changeLog) {
	now := time.Now()
	for _, r := range l.rows {
		if r.origin != sc.origin {
			sc.delay.Observe(max(0, now.Sub(time.UnixMicro(r.at)).Seconds()))
		}
	}
	if !sc.follows(l) {
		sc.forgetAll()
	} else {
		for _, r := range l.rows {
			sc.tick++
			delete(sc.projects, r.project)
			sc.changed[r.project] = sc.tick
		}
		if len(sc.changed) >= serialCacheMax || len(sc.projects) >= serialCacheMax {
			sc.forgetAll()
		}
	}
	sc.last, sc.seen, sc.global = l.last, l.serial, l.serial
}

// follows reports whether l continues what was applied without a gap:
// its rows are the next ones, each for one project, and their serials
// account for every bump since (a bump has one row per project it changed,
// a change without a bump serial 0).
func (sc *serialCache) follows(l changeLog) bool {
	if sc.last < 0 || l.last < sc.last || len(l.rows) > changeLogRead {
		return false
	}
	if len(l.rows) == 0 {
		return l.last == sc.last && l.serial == sc.seen
	}
	expect, bumped := sc.seen, false
	for i, r := range l.rows {
		if r.id != sc.last+1+int64(i) || r.project == "" {
			return false
		}
		switch {
		case r.serial == 0:
		case r.serial == expect+1:
			expect, bumped = r.serial, true
		case r.serial == expect && bumped: // another project of the same bump
		default:
			return false
		}
	}
	return l.rows[len(l.rows)-1].id == l.last && expect == l.serial
}

// forgetAll forgets every serial and changes every project's token. Call
// with mu held.
func (sc *serialCache) forgetAll() {
	sc.global = -1
	clear(sc.projects)
	clear(sc.changed)
	sc.tick++
	sc.base = sc.tick
}

// lookup returns the cached serial of project ("" for the global serial)
// and the mark to pass to store after a miss.
func (sc *serialCache) lookup(project string) (serial int64, hit bool, mark int64, err error) {
	err = sc.syncThen(func() {
		if project == "" {
			serial, hit = sc.global, sc.global >= 0
		} else {
			serial, hit = sc.projects[project]
		}
		if hit {
			sc.hits++
		} else {
			sc.misses++
		}
		mark = sc.tick
	})
	return serial, hit, mark, err
}

// store remembers a serial read from the database after lookup returned
// mark, unless a change to the project (or to everything) has been
// applied meanwhile: the value may be stale then, and keeping it could
// hide the change. A value read after the lookup is at least as new as
// what the cache had applied, so it is never older than what a query
// would return.
func (sc *serialCache) store(mark int64, project string, serial int64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if project == "" {
		if sc.tick == mark {
			sc.global = serial
		}
		return
	}
	if sc.tokenLocked(project) <= mark {
		sc.projects[project] = serial
	}
}

// tokenLocked returns the tick of project's last change ("": of any
// project). Call with mu held.
func (sc *serialCache) tokenLocked(project string) int64 {
	if project == "" {
		return sc.tick
	}
	if t, ok := sc.changed[project]; ok {
		return t
	}
	return sc.base
}

// token returns the tick of project's last change, as fresh as a query.
func (sc *serialCache) token(project string) (t int64, err error) {
	err = sc.syncThen(func() { t = sc.tokenLocked(project) })
	return t, err
}

// SerialLookups returns how many serial lookups (Serial, ProjectSerial)
// the serial cache answered from memory and how many it passed on to a
// query, since c was opened.
func (c *Catalog) SerialLookups() (hits, misses int64) {
	if c.serials == nil {
		return 0, 0
	}
	c.serials.mu.Lock()
	defer c.serials.mu.Unlock()
	return c.serials.hits, c.serials.misses
}

// ProjectChangeToken returns a number that stays the same as long as
// nothing is committed to project (its files, releases, serial, mirrored
// page or generic files) by this process or any other, and grows once
// something is. It is as fresh as a query made now, so data about the
// project read after the call is at least as new as the token: callers key
// in-memory caches of one project's data with it, which commits to other
// projects leave warm.
//
// All projects' tokens are numbers of one sequence: the token of "" is the
// last change of any project, never smaller than a project's. A value read
// after taking the token of "" is still current while the token of the
// project it turned out to belong to is at most that (simple's file rows,
// whose project is known only once read).
func (c *Catalog) ProjectChangeToken(project string) (int64, error) {
	if c.serials == nil {
		return 0, fmt.Errorf("project change token: no serial cache")
	}
	return c.serials.token(project)
}

// ChangeToken returns a value that stays the same as long as nothing is
// committed to the catalog, by this process or any other, and changes once
// something is. It is as fresh as a query made now: callers use it to key
// in-memory caches of catalog data (the mirror's project states).
func (c *Catalog) ChangeToken() (int64, error) {
	if c.serials == nil {
		return 0, fmt.Errorf("change token: no serial cache")
	}
	v, _, err := c.serials.check.Current()
	return v, err
}

// cachedSerial serves project's serial ("" for the global serial) from
// the cache, calling query on a miss. ErrNotFound answers are cached too.
// Should the cache fail (it never should), it falls back to query.
func (c *Catalog) cachedSerial(project string, query func() (int64, error)) (int64, error) {
	if c.serials == nil {
		return query()
	}
	s, hit, mark, err := c.serials.lookup(project)
	if err != nil {
		return query()
	}
	if hit {
		if s < 0 {
			return 0, fmt.Errorf("%w", ErrNotFound)
		}
		return s, nil
	}
	s, err = query()
	switch {
	case err == nil:
		c.serials.store(mark, project, s)
	case errors.Is(err, ErrNotFound):
		c.serials.store(mark, project, -1)
	}
	return s, err
}
