package index

import (
	"context"
	"database/sql"
)

// LeaseRows counts the rows of the leases table, expired ones included.
func LeaseRows(c *Catalog) (int, error) {
	var n int
	err := c.read(context.Background(), func(tx *sql.Tx) error {
		return tx.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM leases`).Scan(&n)
	})
	return n, err
}
