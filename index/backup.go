package index

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the catalog to path, a SQLite file,
// while the catalog stays online, so that writers (uploads, the CLI, other
// processes and replicas) are not blocked. path must not exist (ErrExists
// otherwise).
//
// On SQLite it is VACUUM INTO, reading one snapshot through the read pool:
// a complete, compacted database file with no -wal or -shm companion. On
// PostgreSQL it is CopyTo a new SQLite catalog at path, reading one
// REPEATABLE READ snapshot: the backup is then the same kind of file
// whatever the engine, which pyindex restore (and serve, on a backup
// folder) reads as it is, and which catalog copy moves back to PostgreSQL.
// pg_dump is not used: it would need the client binaries of the server's
// version on every machine that backs up, and its output could not be
// served or checked by fsck without a PostgreSQL to load it into.
func (c *Catalog) Backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("catalog backup %s: %w", path, ErrExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("catalog backup: %w", err)
	}
	if c.pg {
		return c.backupToSQLite(ctx, path)
	}
	if _, err := c.r.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("catalog backup to %s: %w", path, formatError(err))
	}
	return nil
}

func (c *Catalog) backupToSQLite(ctx context.Context, path string) (err error) {
	defer func() {
		if err != nil {
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				os.Remove(p)
			}
		}
	}()
	dst, err := Open(ctx, path)
	if err != nil {
		return fmt.Errorf("catalog backup to %s: %w", path, err)
	}
	_, err = c.CopyTo(ctx, dst)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("catalog backup to %s: %w", path, err)
	}
	return nil
}
