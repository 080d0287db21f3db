package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the catalog to path with SQLite's
// VACUUM INTO, while the catalog stays online: it reads one snapshot
// through the read pool, so writers (uploads, the CLI, other processes) are
// not blocked. The copy is a complete, compacted database file with no
// -wal or -shm companion. path must not exist (ErrExists otherwise).
func (c *Catalog) Backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("catalog backup %s: %w", path, ErrExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("catalog backup: %w", err)
	}
	if _, err := c.r.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("catalog backup to %s: %w", path, formatError(err))
	}
	return nil
}

// BlobKeys calls fn once for every blob key the catalog references: hosted
// files and their extracted metadata, and cached mirror files and theirs.
// It reads one snapshot; an error from fn stops the walk and is returned.
func (c *Catalog) BlobKeys(ctx context.Context, fn func(key string) error) error {
	return c.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT blob_key FROM files
			UNION SELECT metadata_key FROM files WHERE metadata_key != ''
			UNION SELECT blob_key FROM mirror_files WHERE blob_key != ''
			UNION SELECT metadata_key FROM mirror_files WHERE metadata_key != ''
			ORDER BY 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				return err
			}
			if err := fn(key); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
