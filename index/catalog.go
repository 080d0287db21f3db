// Package index holds the catalog (projects, releases, files, users, audit
// log and the change serial, in SQLite) and the read side over HTTP: the
// simple repository API (PEP 503/691/700/658/714/592), file downloads and the
// PyPI JSON API.
//
// Only this package touches SQL. The write side (upload) and the mirror call
// Catalog methods, which return domain structs and the sentinel errors
// declared in errors.go.
package index

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index/pgwatch"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Catalog is the catalog, on SQLite or on PostgreSQL (engine.go).
//
// On SQLite it keeps two pools: a writer limited to one connection (SQLite
// has a single writer; BEGIN IMMEDIATE takes the lock up front so busy
// waits happen at BEGIN, where the busy timeout applies) and a read-only
// pool for everything else. Several processes (the server, the CLI) may
// open the same file at once.
//
// On PostgreSQL there are the same two pools, and write transactions take
// a single-writer lock on the database (pgBeginWrite), so that every
// invariant that holds on SQLite holds there too, across replicas.
type Catalog struct {
	path string // the SQLite file, or the PostgreSQL URL without password
	pg   bool   // PostgreSQL
	w    *sql.DB
	r    *sql.DB
	now  func() time.Time

	serials *serialCache // nil: every serial lookup queries (serialcache.go)
	origin  int64        // names this catalog's rows of the change log (changelog.go)
	// propagation measures how long other processes' changes took to
	// reach the serial cache (NewChangeCollector).
	propagation prometheus.Histogram
	watch       *pgwatch.Watch // PostgreSQL: the change watch feeding serials
	conns       *pgConnector   // PostgreSQL: the pools' connector (pgdriver.go)
	ops         *opMetrics     // operation latency and errors (opmetrics.go)
}

// Open opens (creating when needed) the catalog at path and applies any
// pending migrations. It refuses a catalog whose schema is newer than this
// binary knows (a downgrade), with ErrSchemaTooNew.
func Open(ctx context.Context, path string) (*Catalog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("catalog directory: %w", err)
	}
	// The pragmas go in the DSN so that every pooled connection gets them.
	common := "_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL"
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path)}
	w, err := sql.Open("sqlite3", u.String()+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	c := &Catalog{path: path, w: w, now: time.Now, origin: newOrigin(), ops: newOpMetrics("sqlite")}
	if err := c.migrate(ctx, c.write, nil); err != nil {
		w.Close()
		return nil, err
	}
	readDSN := u.String() + "?" + common + "&_txlock=deferred&mode=ro"
	r, err := sql.Open("sqlite3", readDSN)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(16)
	r.SetMaxIdleConns(16)
	c.r = r
	if err := r.PingContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	if c.serials, err = c.newSerialCache(readDSN, path); err != nil {
		c.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	return c, nil
}

// Close closes both pools.
func (c *Catalog) Close() error {
	var errs []error
	if c.serials != nil {
		errs = append(errs, c.serials.close())
	}
	if c.r != nil && c.r != c.w {
		errs = append(errs, c.r.Close())
	}
	errs = append(errs, c.w.Close())
	return errors.Join(errs...)
}

// Path returns the SQLite catalog file's path, or the PostgreSQL URL
// without its password.
func (c *Catalog) Path() string { return c.path }

// Ping checks that the catalog answers a query (used by /readyz).
func (c *Catalog) Ping(ctx context.Context) (err error) {
	defer c.ops.since(opPing, time.Now(), &err)
	var n int64
	return formatError(c.r.QueryRowContext(ctx, `SELECT value FROM serial WHERE id = 1`).Scan(&n))
}

// migrate applies the pending migrations, each in a transaction of its
// own run by inTx. translate, when not nil, rewrites each migration for
// the engine (pgMigration).
func (c *Catalog) migrate(ctx context.Context, inTx func(context.Context, func(*sql.Tx) error) error, translate func(name, body string) (string, error)) error {
	if err := inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
			name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	known := map[string]bool{}
	for _, n := range names {
		known[filepath.Base(n)] = true
	}
	applied := map[string]bool{}
	if err := inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT name FROM migrations`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			applied[n] = true
			if !known[n] {
				return fmt.Errorf("%w: it has migration %s, which this pyindex does not know; upgrade pyindex to the version that wrote it (or newer), or restore a backup", ErrSchemaTooNew, n)
			}
		}
		return rows.Err()
	}); err != nil {
		return err
	}
	for _, n := range names {
		base := filepath.Base(n)
		if applied[base] {
			continue
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return err
		}
		body := string(b)
		if translate != nil {
			if body, err = translate(base, body); err != nil {
				return err
			}
		}
		if err := inTx(ctx, func(tx *sql.Tx) error {
			// Another process may have applied it meanwhile.
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM migrations WHERE name = ?`, base).Scan(&one)
			if err == nil {
				return nil
			}
			if _, err := tx.ExecContext(ctx, body); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, base, c.now().UnixMicro())
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in a write transaction and commits it when fn returns nil.
func (c *Catalog) write(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	defer c.ops.since(opWrite, time.Now(), &err)
	tx, change, err := c.beginWrite(ctx)
	if err != nil {
		return formatError(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return formatError(err)
	}
	if c.pg {
		if err := pgNotify(ctx, tx, change); err != nil {
			return formatError(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return formatError(err)
	}
	if c.watch != nil {
		c.watch.Committed(change)
	}
	return nil
}

// beginWrite opens a write transaction (on PostgreSQL holding the change
// row, whose value it returns). A pooled PostgreSQL connection that the
// server closed while it sat idle (a restart, a failover) fails its first
// statement; nothing has been done on it yet, so another is tried: without
// this, the first writes after PostgreSQL returns would each fail on one
// dead connection of the pool.
func (c *Catalog) beginWrite(ctx context.Context) (*sql.Tx, int64, error) {
	for attempt := 1; ; attempt++ {
		tx, err := c.w.BeginTx(ctx, nil)
		if err != nil && !(c.pg && pgDeadConn(err) && attempt < maxDeadConns) {
			return nil, 0, err
		}
		if err != nil {
			continue
		}
		if !c.pg {
			return tx, 0, nil
		}
		change, err := pgBeginWrite(ctx, tx)
		if err == nil {
			return tx, change, nil
		}
		tx.Rollback()
		if !pgDeadConn(err) || attempt >= maxDeadConns {
			return nil, 0, err
		}
	}
}

// read runs fn in a read transaction, giving it a consistent snapshot.
func (c *Catalog) read(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	defer c.ops.since(opRead, time.Now(), &err)
	opts := &sql.TxOptions{ReadOnly: true}
	if c.pg {
		// SQLite's read transactions see one snapshot; PostgreSQL's
		// do at REPEATABLE READ (READ COMMITTED takes one per statement).
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := c.r.BeginTx(ctx, opts)
	for attempt := 1; err != nil && c.pg && pgDeadConn(err) && attempt < maxDeadConns; attempt++ {
		tx, err = c.r.BeginTx(ctx, opts) // as in beginWrite
	}
	if err != nil {
		return formatError(err)
	}
	defer tx.Rollback()
	return formatError(fn(tx))
}

// Serial returns the global change serial: every change to the catalog
// increments it (PyPI's X-PyPI-Last-Serial for the root index).
func (c *Catalog) Serial(ctx context.Context) (int64, error) {
	return c.cachedSerial("", func() (s int64, err error) {
		defer c.ops.since(opSerial, time.Now(), &err)
		err = c.r.QueryRowContext(ctx, `SELECT value FROM serial WHERE id = 1`).Scan(&s)
		return s, formatError(err)
	})
}

// formatError maps driver errors onto the package's sentinels.
func formatError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	if e := formatPgError(err); e != nil {
		return e
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch {
		case se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %v", ErrExists, err)
		case se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked:
			return fmt.Errorf("%w: %v", ErrBusy, err)
		case se.Code == sqlite3.ErrFull:
			return fmt.Errorf("%w: %v", ErrFull, err)
		}
	}
	return err
}

// SetClock replaces the catalog's clock, so that upload times (and so
// golden pages and audit entries) are deterministic in tests. Call it
// before the catalog is shared.
func (c *Catalog) SetClock(now func() time.Time) { c.now = now }
