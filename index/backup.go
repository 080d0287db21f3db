package index

import (
	"context"
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
