package index

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"

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
// exactly as with a query per request. The check costs one step of a
// prepared statement instead of a pooled query (a read of the projects
// table through database/sql).
//
// https://www.sqlite.org/pragma.html#pragma_data_version
type serialCache struct {
	mu       sync.Mutex
	conn     driver.Conn
	stmt     driver.Stmt
	version  int64
	global   int64            // -1: unknown
	projects map[string]int64 // -1: not a hosted project
	buf      []driver.Value
}

// newSerialCache opens its own connection with dsn.
func newSerialCache(dsn string) (*serialCache, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, err
	}
	stmt, err := conn.Prepare(`PRAGMA data_version`)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &serialCache{conn: conn, stmt: stmt, version: -1, global: -1,
		projects: map[string]int64{}, buf: make([]driver.Value, 1)}, nil
}

func (sc *serialCache) close() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return errors.Join(sc.stmt.Close(), sc.conn.Close())
}

// sync reads data_version and forgets everything when it changed. It
// returns the version the cached values belong to. Call with mu held.
func (sc *serialCache) sync() (int64, error) {
	// A Background context: mattn/go-sqlite3 watches a cancellable
	// context with a goroutine per query.
	rows, err := sc.stmt.(driver.StmtQueryContext).QueryContext(context.Background(), nil)
	if err != nil {
		return 0, err
	}
	err = rows.Next(sc.buf)
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
	v, ok := sc.buf[0].(int64)
	if !ok {
		return 0, fmt.Errorf("data_version: unexpected %T", sc.buf[0])
	}
	if v != sc.version || len(sc.projects) >= serialCacheMax {
		sc.version, sc.global = v, -1
		clear(sc.projects)
	}
	return v, nil
}

// lookup returns the cached serial of project ("" for the global serial)
// and the version to pass to store after a miss.
func (sc *serialCache) lookup(project string) (serial int64, hit bool, version int64, err error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	version, err = sc.sync()
	if err != nil {
		return 0, false, 0, err
	}
	if project == "" {
		return sc.global, sc.global >= 0, version, nil
	}
	s, ok := sc.projects[project]
	return s, ok, version, nil
}

// store remembers a serial read from the database after lookup returned
// version, unless the database has changed meanwhile as far as the cache
// knows (then the value may already be stale, and the next lookup would
// drop it anyway). A value read after version was taken is at least as new
// as version, so it is never older than what a query would return.
func (sc *serialCache) store(version int64, project string, serial int64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if version != sc.version {
		return
	}
	if project == "" {
		sc.global = serial
		return
	}
	sc.projects[project] = serial
}

// cachedSerial serves project's serial ("" for the global serial) from
// the cache, calling query on a miss. ErrNotFound answers are cached too.
// Should the cache fail (it never should), it falls back to query.
func (c *Catalog) cachedSerial(project string, query func() (int64, error)) (int64, error) {
	if c.serials == nil {
		return query()
	}
	s, hit, version, err := c.serials.lookup(project)
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
		c.serials.store(version, project, s)
	case errors.Is(err, ErrNotFound):
		c.serials.store(version, project, -1)
	}
	return s, err
}
