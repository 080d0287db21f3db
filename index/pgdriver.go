package index

import (
	"context"
	"database/sql/driver"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// The catalog's SQL is written once, in the dialect both engines share,
// with SQLite's "?" placeholders. On PostgreSQL the catalog talks to pgx's
// database/sql driver through pgConnector, which rewrites each query's
// placeholders to PostgreSQL's "$n" (once per query text, then cached) and
// converts the few values the engines represent differently: booleans
// (the schema keeps them as INTEGER 0/1, so a bool argument is sent as
// 0/1 and a bool result, from EXISTS or a comparison, is returned as
// 0/1, as SQLite returns it). Everything else is pgx's.

// pgConnector wraps pgx's connector. While the server is unreachable it
// lets one connection attempt at a time wait for it: the others fail at
// once with the last attempt's error, as do all attempts for
// pgRetryDown after a failure, so that requests that cannot be served
// without the database get their 503 at once (and those that can be
// served from memory are), instead of each waiting out the connect
// timeout on a server that does not answer.
type pgConnector struct {
	inner driver.Connector

	mu      sync.Mutex
	failed  error     // the last attempt's error; nil while connecting works
	at      time.Time // when it failed
	probing bool      // an attempt is under way after a failure
	fails   atomic.Int64
}

// pgRetryDown is how long after a failed attempt no other is made.
const pgRetryDown = 200 * time.Millisecond

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	if c.failed != nil && (c.probing || time.Since(c.at) < pgRetryDown) {
		err := c.failed
		c.mu.Unlock()
		return nil, err
	}
	probe := c.failed != nil
	c.probing = c.probing || probe
	c.mu.Unlock()
	conn, err := c.inner.Connect(ctx)
	c.mu.Lock()
	if probe {
		c.probing = false
	}
	switch {
	case err == nil:
		c.failed = nil
	case ctx.Err() == nil: // the caller gave up: that says nothing of the server
		c.failed, c.at = err, time.Now()
		c.fails.Add(1)
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn)}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// down reports whether the last connection attempt failed.
func (c *pgConnector) down() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed != nil
}

// pgConn is a pgx connection whose queries are rewritten by rebind.
type pgConn struct{ *stdlib.Conn }

var (
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
)

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, rebind(query))
	if err != nil {
		return nil, err
	}
	return &pgStmt{Stmt: st.(*stdlib.Stmt)}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, rebind(query), args)
	if err != nil {
		return nil, err
	}
	return &pgRows{Rows: rows.(*stdlib.Rows)}, nil
}

// CheckNamedValue sends booleans as the schema stores them, 0 or 1, and
// leaves the rest to pgx.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = boolInt(b)
		return nil
	}
	return c.Conn.CheckNamedValue(nv)
}

// pgStmt is a prepared statement on a pgConn.
type pgStmt struct{ *stdlib.Stmt }

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	return &pgRows{Rows: rows.(*stdlib.Rows)}, nil
}

// pgRows returns booleans as 0 or 1.
type pgRows struct{ *stdlib.Rows }

func (r *pgRows) Next(dest []driver.Value) error {
	if err := r.Rows.Next(dest); err != nil {
		return err
	}
	for i, v := range dest {
		if b, ok := v.(bool); ok {
			dest[i] = boolInt(b)
		}
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rebindCache holds rewritten queries by their text. The catalog's
// queries are constants (and a few built from constants), so it stays
// small; past rebindCacheMax entries it starts over.
var rebindCache sync.Map

const rebindCacheMax = 4096

var rebindCount struct {
	sync.Mutex
	n int
}

// rebind returns query with its SQLite placeholders ("?" and "?NNN")
// rewritten to PostgreSQL's "$n", numbered as SQLite numbers them: "?NNN"
// is parameter NNN and a bare "?" is one more than the largest so far.
// String literals, quoted identifiers and comments are left alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	if q, ok := rebindCache.Load(query); ok {
		return q.(string)
	}
	out := rewritePlaceholders(query)
	rebindCount.Lock()
	if rebindCount.n >= rebindCacheMax {
		rebindCache.Clear()
		rebindCount.n = 0
	}
	rebindCount.n++
	rebindCount.Unlock()
	rebindCache.Store(query, out)
	return out
}

func rewritePlaceholders(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	highest := 0
	scanSQL(query, func(code string) {
		for {
			i := strings.IndexByte(code, '?')
			if i < 0 {
				b.WriteString(code)
				return
			}
			b.WriteString(code[:i])
			code = code[i+1:]
			j := 0
			for j < len(code) && code[j] >= '0' && code[j] <= '9' {
				j++
			}
			n := highest + 1
			if j > 0 {
				n, _ = strconv.Atoi(code[:j])
				code = code[j:]
			}
			highest = max(highest, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		}
	}, func(other string) { b.WriteString(other) })
	return b.String()
}

// scanSQL splits query into code, passed to code, and the parts that are
// not code (string literals, quoted identifiers, comments), passed to
// other, in order.
func scanSQL(query string, code, other func(string)) {
	start := 0 // start of the pending code
	for i := 0; i < len(query); {
		end := -1
		switch c := query[i]; {
		case c == '\'' || c == '"' || c == '`':
			// SQL doubles a quote inside a quoted part: '' and "".
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end = min(j+1, len(query))
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				end = len(query)
			} else {
				end = i + j + 1
			}
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				end = len(query)
			} else {
				end = i + 2 + j + 2
			}
		}
		if end < 0 {
			i++
			continue
		}
		if i > start {
			code(query[start:i])
		}
		other(query[i:end])
		start, i = end, end
	}
	if start < len(query) {
		code(query[start:])
	}
}
