package index

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
)

// serialCacheMax bounds the remembered project serials; past it the cache
// starts over.
const serialCacheMax = 1 << 17

// serialCache remembers the global serial and project serials (which key
// the page cache) between requests, and forgets them all whenever the
// database changes. It learns of changes from PRAGMA data_version on a
// connection of its own: the value changes whenever any other connection,
// in this process or another (the CLI, a second replica), has committed, so
// a change committed before a request starts is seen by that request,
// exactly as with a query per request.
//
// The check is a few memory loads when it can be: the WAL-index header
// (mapWALHeader) is read first, and the pragma runs only when
// the header moved since the last pragma began. The pragma checks are
// grouped: a lookup waits for a check that started after
// the lookup did, and every lookup waiting at that moment shares it. Under
// load one cgo call then answers many requests, and none of them can be
// served a value older than what a query of its own would have returned.
//
// https://www.sqlite.org/pragma.html#pragma_data_version
type serialCache struct {
	check versionCheck

	mu       sync.Mutex
	gen      uint64 // the check the cached values belong to
	version  int64
	global   int64            // -1: unknown
	projects map[string]int64 // -1: not a hosted project
}

// versionCheck runs PRAGMA data_version on its own connection, one check at
// a time, shared by everyone who asked while it was not yet running.
type versionCheck struct {
	conn    driver.Conn
	stmt    driver.Stmt
	buf     []driver.Value
	wal     *walHeader // the WAL index's header; nil: none
	unmap   func()
	pragmas atomic.Int64 // pragma checks run (for tests)

	mu      sync.Mutex
	cond    sync.Cond
	running bool
	closed  bool
	started uint64 // checks started so far
	done    uint64 // the last check finished
	version int64  // its result
	err     error
	at      walStamp // the WAL-index header read just before that check began
}

// newSerialCache opens its own connection with dsn, to the database file
// at path.
func newSerialCache(dsn, path string) (*serialCache, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, err
	}
	stmt, err := conn.Prepare(`PRAGMA data_version`)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sc := &serialCache{version: -1, global: -1, projects: map[string]int64{}}
	sc.check.conn, sc.check.stmt, sc.check.buf = conn, stmt, make([]driver.Value, 1)
	sc.check.cond.L = &sc.check.mu
	// The first check opens the WAL index, which can then be mapped.
	if _, _, err := sc.check.current(); err != nil {
		sc.close()
		return nil, err
	}
	sc.check.wal, sc.check.unmap = mapWALHeader(path)
	return sc, nil
}

func (sc *serialCache) close() error {
	vc := &sc.check
	vc.mu.Lock()
	for vc.running && !vc.closed {
		vc.cond.Wait()
	}
	if vc.closed {
		vc.mu.Unlock()
		return nil
	}
	vc.running, vc.closed = true, true // for good: nobody queries a closed statement
	vc.mu.Unlock()
	if vc.unmap != nil {
		// Nothing reads the header any more: lookups end with the
		// catalog, and Close runs after the server stopped.
		vc.unmap()
	}
	return errors.Join(vc.stmt.Close(), vc.conn.Close())
}

// current returns data_version as read by a check that started after the
// call, and that check's number (larger numbers are later checks).
func (vc *versionCheck) current() (version int64, gen uint64, err error) {
	var now walStamp
	if vc.wal != nil {
		now = vc.wal.stamp()
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	// Nothing committed since the last check began: its answer stands.
	if vc.wal != nil && vc.done > 0 && vc.err == nil && now == vc.at {
		return vc.version, vc.done, nil
	}
	// A check running now may have read data_version before this call
	// began: only the next one to start will do.
	want := vc.started + 1
	for vc.done < want {
		if vc.closed {
			return 0, 0, errors.New("data_version: catalog closed")
		}
		if vc.running {
			vc.cond.Wait()
			continue
		}
		vc.running = true
		vc.started++
		n := vc.started
		vc.mu.Unlock()
		var at walStamp
		if vc.wal != nil {
			at = vc.wal.stamp()
		}
		v, err := vc.query()
		vc.mu.Lock()
		vc.running = false
		vc.done, vc.version, vc.err, vc.at = n, v, err, at
		vc.cond.Broadcast()
	}
	return vc.version, vc.done, vc.err
}

// query reads data_version. Only one goroutine runs it at a time.
func (vc *versionCheck) query() (int64, error) {
	vc.pragmas.Add(1)
	// A Background context: mattn/go-sqlite3 watches a cancellable
	// context with a goroutine per query.
	rows, err := vc.stmt.(driver.StmtQueryContext).QueryContext(context.Background(), nil)
	if err != nil {
		return 0, err
	}
	err = rows.Next(vc.buf)
	// Closing resets the statement, which ends its read transaction: a
	// connection left inside one would keep seeing an old snapshot.
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("data_version: no row")
		}
		return 0, err
	}
	v, ok := vc.buf[0].(int64)
	if !ok {
		return 0, fmt.Errorf("data_version: unexpected %T", vc.buf[0])
	}
	return v, nil
}

// sync checks data_version and forgets everything when it changed. It
// returns the check the cached values now belong to. Call without mu held.
func (sc *serialCache) sync() (uint64, error) {
	v, gen, err := sc.check.current()
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
	v, _, err := c.serials.check.current()
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
