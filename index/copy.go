package index

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// TableCount is how many rows a table of the catalog holds.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// CopyTo copies every row of c, read in one consistent snapshot, into dst,
// an empty catalog (just opened, so migrated by this pyindex) on either
// engine, in one write transaction, and then checks that each table of
// dst holds as many rows as the snapshot did. The catalogs' engines may
// differ: this is how a SQLite catalog moves to PostgreSQL and back, and
// how a PostgreSQL catalog is backed up into a SQLite file. Ids are kept,
// so every reference stays valid; on PostgreSQL the id sequences are moved
// past the copied ids. It returns the counts, parents first.
func (c *Catalog) CopyTo(ctx context.Context, dst *Catalog) ([]TableCount, error) {
	var tables []copyTable
	if err := dst.read(ctx, func(tx *sql.Tx) error {
		var err error
		tables, err = schemaTables(ctx, tx, dst.pg)
		if err != nil {
			return err
		}
		return checkEmpty(ctx, tx, tables)
	}); err != nil {
		return nil, fmt.Errorf("target catalog %s: %w", dst.Path(), err)
	}
	var counts []TableCount
	err := c.read(ctx, func(src *sql.Tx) error {
		if c.pg {
			// Reading a large catalog takes as long as writing it.
			if _, err := src.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
				return err
			}
		}
		if err := sameMigrations(ctx, src, dst); err != nil {
			return err
		}
		counts = make([]TableCount, len(tables))
		for i, t := range tables {
			counts[i].Table = t.name
			if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t.name)).Scan(&counts[i].Rows); err != nil {
				return fmt.Errorf("count %s: %w", t.name, err)
			}
		}
		return dst.write(ctx, func(tx *sql.Tx) error {
			if dst.pg {
				if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
					return err
				}
			} else {
				// Foreign keys are checked at commit, when every
				// table is there (the order matters only on
				// PostgreSQL, whose keys are not deferrable).
				if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
					return err
				}
			}
			for _, t := range tables {
				if err := copyRows(ctx, src, tx, t, dst.pg); err != nil {
					return fmt.Errorf("copy %s: %w", t.name, err)
				}
			}
			// Whoever serves dst already forgets everything.
			if err := dst.recordChange(ctx, tx, 0, ""); err != nil {
				return err
			}
			if dst.pg {
				return pgResetIdentities(ctx, tx)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// Verify what was committed.
	if err := dst.read(ctx, func(tx *sql.Tx) error {
		for _, want := range counts {
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(want.Table)).Scan(&n); err != nil {
				return err
			}
			if n != want.Rows {
				return fmt.Errorf("table %s has %d rows after the copy, want %d", want.Table, n, want.Rows)
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("verify copy: %w", err)
	}
	return counts, nil
}

// copyTable is a table of the catalog and its columns.
type copyTable struct {
	name    string
	columns []string
	binary  map[string]bool // columns of a binary type (PostgreSQL)
}

// notCopied are tables each catalog keeps for itself: the migrations
// (compared, not copied), PostgreSQL's change counter and the change log
// (the copy records one change of everything instead), and the leases of
// the replicas running on the source (they name processes of the source).
var notCopied = map[string]bool{"migrations": true, "pyindex_changes": true, "change_log": true, "leases": true}

// schemaTables lists the catalog's tables, each after the tables its
// foreign keys reference.
func schemaTables(ctx context.Context, tx *sql.Tx, pg bool) ([]copyTable, error) {
	names, err := queryStrings(ctx, tx, map[bool]string{
		false: `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`,
		true:  `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
	}[pg])
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	byName := map[string]*copyTable{}
	var all []string
	for _, n := range names {
		if notCopied[n] {
			continue
		}
		t := &copyTable{name: n, binary: map[string]bool{}}
		if pg {
			rows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, n)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var col, typ string
				if err := rows.Scan(&col, &typ); err != nil {
					rows.Close()
					return nil, err
				}
				t.columns = append(t.columns, col)
				t.binary[col] = typ == "bytea"
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			if parents[n], err = queryStrings(ctx, tx, `SELECT c2.relname FROM pg_constraint k
				JOIN pg_class c1 ON c1.oid = k.conrelid JOIN pg_class c2 ON c2.oid = k.confrelid
				WHERE k.contype = 'f' AND c1.relname = ? AND c1.relnamespace = current_schema()::regnamespace`, n); err != nil {
				return nil, err
			}
		} else {
			if t.columns, err = queryStrings(ctx, tx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n); err != nil {
				return nil, err
			}
			if parents[n], err = queryStrings(ctx, tx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n); err != nil {
				return nil, err
			}
		}
		byName[n] = t
		all = append(all, n)
	}
	var out []copyTable
	done := map[string]bool{}
	var visit func(n string, depth int) error
	visit = func(n string, depth int) error {
		if done[n] || byName[n] == nil {
			return nil
		}
		if depth > len(all) {
			return fmt.Errorf("foreign keys of %s form a cycle", n)
		}
		for _, p := range parents[n] {
			if p != n {
				if err := visit(p, depth+1); err != nil {
					return err
				}
			}
		}
		if !done[n] {
			done[n] = true
			out = append(out, *byName[n])
		}
		return nil
	}
	for _, n := range all {
		if err := visit(n, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkEmpty fails unless the catalog holds nothing but a fresh one's
// rows (the serial at 0).
func checkEmpty(ctx context.Context, tx *sql.Tx, tables []copyTable) error {
	for _, t := range tables {
		q := `SELECT COUNT(*) FROM ` + quoteIdent(t.name)
		if t.name == "serial" {
			q += ` WHERE value <> 0`
		}
		var n int64
		if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return Errorf(ErrExists, "it is not empty (table %s has rows): copy into a new, empty catalog", t.name)
		}
	}
	return nil
}

// sameMigrations checks that dst's schema is src's: the same migrations.
func sameMigrations(ctx context.Context, src *sql.Tx, dst *Catalog) error {
	have, err := queryStrings(ctx, src, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return err
	}
	var want []string
	if err := dst.read(ctx, func(tx *sql.Tx) error {
		want, err = queryStrings(ctx, tx, `SELECT name FROM migrations ORDER BY name`)
		return err
	}); err != nil {
		return err
	}
	if !slices.Equal(have, want) {
		return fmt.Errorf("the catalogs' schemas differ (migrations %v and %v): open both with this pyindex first", have, want)
	}
	return nil
}

// copyRows copies table t from src into dst, replacing dst's rows (a
// fresh catalog's serial row).
func copyRows(ctx context.Context, src, dst *sql.Tx, t copyTable, pg bool) error {
	if _, err := dst.ExecContext(ctx, `DELETE FROM `+quoteIdent(t.name)); err != nil {
		return err
	}
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = quoteIdent(c)
	}
	list := strings.Join(cols, ", ")
	ins, err := dst.PrepareContext(ctx, `INSERT INTO `+quoteIdent(t.name)+` (`+list+`) VALUES (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")+`)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+quoteIdent(t.name))
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if pg {
			// SQLite may hand text back as bytes; PostgreSQL's text
			// columns want strings.
			for i, v := range vals {
				if b, ok := v.([]byte); ok && !t.binary[t.columns[i]] {
					vals[i] = string(b)
				}
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pgResetIdentities moves every identity sequence past the ids copied in.
func pgResetIdentities(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range cols {
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX(`+quoteIdent(c.column)+`), 0) + 1, false) FROM `+quoteIdent(c.table),
			quoteIdent(c.table), c.column); err != nil {
			return fmt.Errorf("identity of %s: %w", c.table, err)
		}
	}
	return nil
}

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quoteIdent quotes an identifier for either engine.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
