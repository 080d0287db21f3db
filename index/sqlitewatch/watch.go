// Package sqlitewatch tells, as cheaply as can be, whether a SQLite
// database has changed: by any connection, of this process or another (the
// CLI, a second process on the same file). It reads PRAGMA data_version on
// a connection of its own, and before it the WAL-index header, a few
// memory loads, so that the pragma runs only after a commit. The catalog's
// serial cache is its user.
//
// https://www.sqlite.org/pragma.html#pragma_data_version
package sqlitewatch

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

// Watch runs PRAGMA data_version on its own connection, one check at a
// time, shared by everyone who asked while it was not yet running, and
// skips the pragma while the WAL-index header shows no commit.
type Watch struct {
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

// Open opens the watch's own connection with dsn, to the database file at
// path.
func Open(dsn, path string) (*Watch, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, err
	}
	stmt, err := conn.Prepare(`PRAGMA data_version`)
	if err != nil {
		conn.Close()
		return nil, err
	}
	vc := &Watch{conn: conn, stmt: stmt, buf: make([]driver.Value, 1)}
	vc.cond.L = &vc.mu
	// The first check opens the WAL index, which can then be mapped.
	if _, _, err := vc.Current(); err != nil {
		vc.Close()
		return nil, err
	}
	vc.wal, vc.unmap = mapWALHeader(path)
	return vc, nil
}

// Close ends the watch; Current fails afterwards.
func (vc *Watch) Close() error {
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

// Current returns data_version as read by a check that started after the
// call, and that check's number (larger numbers are later checks).
func (vc *Watch) Current() (version int64, gen uint64, err error) {
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
func (vc *Watch) query() (int64, error) {
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

// Pragmas returns how many times the watch has run PRAGMA data_version
// (tests check that unchanged databases cost none).
func (vc *Watch) Pragmas() int64 { return vc.pragmas.Load() }

// WatchingWAL reports whether the watch reads the WAL-index header.
func (vc *Watch) WatchingWAL() bool { return vc.wal != nil }
