package index

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/pyindex/pyindex/index/pgwatch"
)

// Config chooses and tunes the catalog's database.
type Config struct {
	// URL is a PostgreSQL connection URL (postgres://user@host:5432/db?...,
	// or a key=value connection string) for a catalog shared by several
	// replicas. Empty keeps the SQLite catalog in the data folder. The
	// password may also come from PGPASSWORD or a passfile; several hosts
	// with target_session_attrs=read-write follow a failover.
	URL string `toml:"url"`
	// MaxConns bounds the PostgreSQL connections one process reads with;
	// writes use up to 4 more and the change watch one.
	MaxConns int `toml:"max_conns"`
	// StatementTimeout bounds every PostgreSQL statement (0: no bound).
	StatementTimeout time.Duration `toml:"statement_timeout"`
	// ConnectTimeout bounds each attempt to open a PostgreSQL connection
	// (a connect_timeout in the URL wins), so that a request never waits
	// long on an unreachable server (0: no bound).
	ConnectTimeout time.Duration `toml:"connect_timeout"`
}

// DefaultConfig is the SQLite catalog.
func DefaultConfig() Config {
	return Config{MaxConns: 16, StatementTimeout: 30 * time.Second, ConnectTimeout: 5 * time.Second}
}

// Validate reports every invalid key.
func (c Config) Validate() error {
	var errs []error
	if c.URL != "" {
		if !IsPostgresURL(c.URL) {
			errs = append(errs, fmt.Errorf("catalog.url: want a postgres:// or postgresql:// URL, got %q", redactURL(c.URL)))
		} else if _, err := pgx.ParseConfig(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("catalog.url: %v", redactErr(err)))
		}
	}
	if c.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("catalog.max_conns: must be at least 1, got %d", c.MaxConns))
	}
	if c.StatementTimeout < 0 {
		errs = append(errs, fmt.Errorf("catalog.statement_timeout: must not be negative, got %s", c.StatementTimeout))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("catalog.connect_timeout: must not be negative, got %s", c.ConnectTimeout))
	}
	return errors.Join(errs...)
}

// IsPostgresURL reports whether url names a PostgreSQL database.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// The PostgreSQL catalog's own objects. pyindex_changes counts write
// transactions; its row is the single-writer lock (pgBeginWrite) and its
// value is what the change watch follows. It is created outside the
// migrations because SQLite needs none of it.
const (
	pgChangesTable = `CREATE TABLE IF NOT EXISTS pyindex_changes (
		id BIGINT PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
		INSERT INTO pyindex_changes (id, value) VALUES (1, 0) ON CONFLICT DO NOTHING`
	pgChangesCounter = `SELECT value FROM pyindex_changes WHERE id = 1`
	pgChannel        = "pyindex_catalog"
	// pgMigrationLock is the advisory lock key held while migrating, so
	// that replicas started together migrate once ("pyindex" in ASCII).
	pgMigrationLock = 0x707969_6e646578
	// pgPoll is how often the change watch reads the counter, the bound
	// on how late a change is seen when a notification is lost.
	pgPoll = 500 * time.Millisecond
	// pgWriters is the size of the writer pool: one writer holding the
	// lock, the next ones waiting for it.
	pgWriters = 4
)

// OpenPostgres opens the PostgreSQL catalog of cfg.URL and applies any
// pending migrations (once, under an advisory lock, however many replicas
// start together). It refuses a schema newer than this binary knows, with
// ErrSchemaTooNew.
func OpenPostgres(ctx context.Context, cfg Config) (*Catalog, error) {
	where := redactURL(cfg.URL)
	pcfg, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("catalog url: %v", redactErr(err))
	}
	params := pcfg.RuntimeParams
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "pyindex"
	}
	// A writer waiting for the single-writer lock longer than SQLite's
	// busy timeout gets ErrBusy, as on SQLite.
	if _, ok := params["lock_timeout"]; !ok {
		params["lock_timeout"] = "10s"
	}
	if _, ok := params["statement_timeout"]; !ok && cfg.StatementTimeout > 0 {
		params["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	}
	// pgx reads connect_timeout from the URL; without one, the
	// configured bound applies (to the change watch's connections too).
	if pcfg.ConnectTimeout == 0 {
		pcfg.ConnectTimeout = cfg.ConnectTimeout
	}
	// Connections that find a silent server (pgdial.go); every dial of
	// the pools and the change watch goes through it, for each host.
	pcfg.DialFunc = pgDialer()
	// Two pools, as on SQLite: readers never queue behind writers
	// waiting for the single-writer lock, and those waiters hold few
	// connections (one writer runs at a time anyway). Both share one
	// connector, so that while the server is unreachable one attempt at a
	// time waits for it (pgdriver.go).
	connector := &pgConnector{inner: stdlib.GetConnector(*pcfg)}
	r := sql.OpenDB(connector)
	n := max(cfg.MaxConns, 1)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	w := sql.OpenDB(connector)
	w.SetMaxOpenConns(pgWriters)
	w.SetMaxIdleConns(pgWriters)
	w.SetConnMaxIdleTime(5 * time.Minute)
	c := &Catalog{path: where, pg: true, w: w, r: r, now: time.Now, origin: newOrigin(), conns: connector, ops: newOpMetrics("postgres")}
	if err := c.migratePostgres(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("open catalog %s: %w", where, formatError(err))
	}
	c.watch, err = pgwatch.Open(ctx, pgwatch.Config{Conn: pcfg, Channel: pgChannel, Counter: pgChangesCounter, Poll: pgPoll})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open catalog %s: change watch: %w", where, formatError(err))
	}
	c.serials = c.watchSerials(c.watch)
	return c, nil
}

// migratePostgres migrates on one connection holding the migration lock.
func (c *Catalog) migratePostgres(ctx context.Context) error {
	conn, err := c.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Another replica may migrate for a while (an index on a large
	// table): wait for it however long it takes, and let migrations run
	// as long as they need. RESET returns to the connection's settings.
	if _, err := conn.ExecContext(ctx, `SET lock_timeout = 0; SET statement_timeout = 0`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `RESET lock_timeout; RESET statement_timeout`)
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, int64(pgMigrationLock)); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, int64(pgMigrationLock))
	inTx := func(ctx context.Context, fn func(*sql.Tx) error) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	if err := inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, pgChangesTable)
		return err
	}); err != nil {
		return fmt.Errorf("create pyindex_changes: %w", err)
	}
	return c.migrate(ctx, inTx, pgMigration)
}

// pgBeginWrite starts a PostgreSQL write transaction: it increments the
// change counter, whose row lock every writer takes first. Writers of all
// replicas and CLI processes thus run one at a time, as on SQLite, so
// serial increments, dev numbers, first-upload ownership and every other
// read-then-write of the catalog stay exact; and since each statement of a
// READ COMMITTED transaction sees every commit before it, a writer sees
// all earlier writers' work. It returns the counter's new value.
func pgBeginWrite(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE pyindex_changes SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&v)
	return v, err
}

// pgNotify tells every replica's change watch about the transaction,
// when it commits.
func pgNotify(ctx context.Context, tx *sql.Tx, change int64) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, pgChannel, strconv.FormatInt(change, 10))
	return err
}

// Engine returns "sqlite" or "postgres".
func (c *Catalog) Engine() string {
	if c.pg {
		return "postgres"
	}
	return "sqlite"
}

// NotificationsReceived returns how many change notifications the
// PostgreSQL catalog has received (0 on SQLite).
func (c *Catalog) NotificationsReceived() int64 {
	if c.watch == nil {
		return 0
	}
	return c.watch.Received()
}

// PoolStats returns the read pool's statistics.
func (c *Catalog) PoolStats() sql.DBStats { return c.r.Stats() }

// formatPgError maps PostgreSQL's errors onto the package's sentinels, as
// formatError does SQLite's, or returns nil when err is none of them.
// Losing the database (it is down, restarting, failing over, unreachable,
// or closed the connection) is ErrUnavailable, with a one-line reason for
// the client (unavailable); a retry after it returns succeeds.
func formatPgError(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return unavailable(err, ce)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %v", ErrExists, err)
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03", pe.Code == "57014":
			// serialization_failure, deadlock_detected,
			// lock_not_available (lock_timeout), query_canceled
			// (statement_timeout)
			return fmt.Errorf("%w: %v", ErrBusy, err)
		case pe.Code == "53100": // disk_full
			return fmt.Errorf("%w: %v", ErrFull, err)
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "25006":
			// connection exceptions, shutdowns, a standby after a
			// failover (read_only_sql_transaction)
			return unavailable(err, nil)
		}
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		strings.Contains(err.Error(), "conn closed") {
		return unavailable(err, nil)
	}
	return nil
}

// unavailable returns err as ErrUnavailable with a one-line reason (its
// Error, "catalog unavailable: ...", is what the client reads) that names
// the server (from ce, a failed connection attempt, when there is
// one) and never the password.
func unavailable(err error, ce *pgconn.ConnectError) error {
	at := ""
	if ce != nil && ce.Config != nil {
		at = " at " + pgHosts(ce.Config)
	}
	reason := "the connection to PostgreSQL" + at + " was lost"
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P02"):
		reason = "PostgreSQL" + at + " is shutting down"
	case errors.As(err, &pe) && pe.Code == "57P03":
		reason = "PostgreSQL" + at + " is starting up or shutting down"
	case errors.As(err, &pe) && pe.Code == "25006":
		reason = "PostgreSQL" + at + " is read-only (a standby: is a failover under way?)"
	case errors.As(err, &pe) && strings.HasPrefix(pe.Code, "28"):
		reason = "PostgreSQL" + at + " refused pyindex's credentials (check [catalog] url and the password)"
	case ce != nil:
		reason = "PostgreSQL" + at + " is not answering"
	}
	// Error() is then "catalog unavailable: " + reason, the client's line.
	return &Error{Kind: ErrUnavailable, Msg: reason, Err: err}
}

// pgHosts returns the hosts a connection configuration tries, as
// host:port, comma-separated.
func pgHosts(cfg *pgconn.Config) string {
	hosts := []string{net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))}
	for _, f := range cfg.Fallbacks {
		h := net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port)))
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return strings.Join(hosts, ",")
}

// maxDeadConns bounds the connections beginWrite and read try when pooled
// ones turn out closed: more than a pool keeps idle, so that after a
// PostgreSQL restart the first request gets a fresh connection.
const maxDeadConns = 32

// pgDeadConn reports whether err is a pooled connection that the server
// closed (terminated by a shutdown or restart, or lost on the way) rather
// than a refusal of a new one: a fresh connection may well succeed.
func pgDeadConn(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false // a new connection failed: the database is down
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "57P01" || pe.Code == "57P02" || strings.HasPrefix(pe.Code, "08")
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "conn closed")
}

// redactURL returns url without its password, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.User(u.User.Username())
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr returns err's message: pgx's parse errors already hide the
// password.
func redactErr(err error) string { return err.Error() }
