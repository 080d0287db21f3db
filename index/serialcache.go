package index

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pyindex/pyindex/index/sqlitewatch"
)

// serialCacheMax bounds the remembered project serials; past it the cache
// starts over.
const serialCacheMax = 1 << 17

// serialCache remembers the global serial and project serials (which key
// the page cache) between requests, and forgets them all whenever the
// database changes. On PostgreSQL it learns of changes from package
// pgwatch (NOTIFY, a poll, and this process's own commits at once). On
// SQLite it learns of them from PRAGMA data_version on a
// connection of its own: the value changes whenever any other connection,
// in this process or another (the CLI, a second replica), has committed, so
// a change committed before a request starts is seen by that request,
// exactly as with a query per request.
//
// The check is a few memory loads when it can be: the WAL-index header
// (package sqlitewatch) is read first, and the pragma runs only when
// the header moved since the last pragma began. The pragma checks are
// grouped: a lookup waits for a check that started after
// the lookup did, and every lookup waiting at that moment shares it. Under
// load one cgo call then answers many requests, and none of them can be
// served a value older than what a query of its own would have returned.
//
// https://www.sqlite.org/pragma.html#pragma_data_version
type serialCache struct {
	check changeWatch

	mu       sync.Mutex
	gen      uint64 // the check the cached values belong to
	version  int64
	global   int64            // -1: unknown
	projects map[string]int64 // -1: not a hosted project
}

// changeWatch tells whether the catalog changed: sqlitewatch.Watch on
// SQLite, pgwatch.Watch on PostgreSQL. Current returns a version that
// changes after every commit and the number of the check that read it.
type changeWatch interface {
	Current() (version int64, gen uint64, err error)
	Close() error
}

// newSerialCache watches the database file at path on a connection of
// its own, opened with dsn.
func newSerialCache(dsn, path string) (*serialCache, error) {
	w, err := sqlitewatch.Open(dsn, path)
	if err != nil {
		return nil, err
	}
	return watchSerials(w), nil
}

// watchSerials returns a serial cache fed by w.
func watchSerials(w changeWatch) *serialCache {
	return &serialCache{check: w, version: -1, global: -1, projects: map[string]int64{}}
}

func (sc *serialCache) close() error { return sc.check.Close() }

// sync checks data_version and forgets everything when it changed. It
// returns the check the cached values now belong to. Call without mu held.
func (sc *serialCache) sync() (uint64, error) {
	v, gen, err := sc.check.Current()
	if err != nil {
		return 0, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	// A later check may have been applied already by another request:
	// its values are at least as new as this one's, so keep them.
	if gen > sc.gen {
		if v != sc.version || len(sc.projects) >= serialCacheMax {
			sc.version, sc.global = v, -1
			clear(sc.projects)
		}
		sc.gen = gen
	}
	return sc.gen, nil
}

// lookup returns the cached serial of project ("" for the global serial)
// and the check generation to pass to store after a miss.
func (sc *serialCache) lookup(project string) (serial int64, hit bool, gen uint64, err error) {
	if _, err = sc.sync(); err != nil {
		return 0, false, 0, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	gen = sc.gen
	if project == "" {
		return sc.global, sc.global >= 0, gen, nil
	}
	s, ok := sc.projects[project]
	return s, ok, gen, nil
}

// store remembers a serial read from the database after lookup returned
// gen, unless a later check has been applied meanwhile (then the value may
// already be stale, and keeping it could hide a change). A value read after
// check gen started is at least as new as that check, so it is never older
// than what a query would return.
func (sc *serialCache) store(gen uint64, project string, serial int64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if gen != sc.gen {
		return
	}
	if project == "" {
		sc.global = serial
		return
	}
	sc.projects[project] = serial
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
	s, hit, gen, err := c.serials.lookup(project)
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
		c.serials.store(gen, project, s)
	case errors.Is(err, ErrNotFound):
		c.serials.store(gen, project, -1)
	}
	return s, err
}
