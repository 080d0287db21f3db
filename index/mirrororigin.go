package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The mirror's origin: which upstream its cached pages come from
// (mirror_origin, one row). A mirror of another upstream must not mix its
// pages in: PutMirrorPage refuses them, and the mirror checks the origin
// when it starts (mirror.Mirror.CheckUpstream).

// UpstreamChangedError reports that the mirror's cached pages come from
// another upstream (Recorded) than the one a mirror runs with (Current).
type UpstreamChangedError struct {
	Recorded, Current string
}

func (e *UpstreamChangedError) Error() string {
	return fmt.Sprintf("the mirror's cached pages come from the upstream %s, not %s", e.Recorded, e.Current)
}

// MirrorUpstream returns the upstream the mirror's cached pages come from,
// "" when none is recorded (nothing cached yet, or cached before the
// origin was recorded), and how many cached pages there are.
func (c *Catalog) MirrorUpstream(ctx context.Context) (upstream string, pages int, err error) {
	err = c.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT upstream FROM mirror_origin WHERE id = 1`).Scan(&upstream)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mirror_projects`).Scan(&pages)
	})
	return upstream, pages, formatError(err)
}

// SetMirrorUpstream records upstream as the origin of the mirror's pages.
// With drop, every cached page is dropped first (the blob keys no longer
// referenced by any hosted or mirrored file are returned for the caller to
// delete); without it the pages stay, each due for a refresh from the new
// upstream (unconditional) when next asked for, and served as cached if
// that fails. A change of origin (not its first recording) is audited (by
// actor); dropping pages bumps the serial.
func (c *Catalog) SetMirrorUpstream(ctx context.Context, upstream string, drop bool, actor Actor) (dropped int, orphans []string, err error) {
	now := c.now()
	err = c.write(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT upstream FROM mirror_origin WHERE id = 1`).Scan(&old); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if drop {
			var keys []string
			rows, err := tx.QueryContext(ctx, `SELECT blob_key, metadata_key FROM mirror_files`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var b, m string
				if err := rows.Scan(&b, &m); err != nil {
					rows.Close()
					return err
				}
				keys = append(keys, b, m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mirror_projects`).Scan(&dropped); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM mirror_files`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM mirror_projects`); err != nil {
				return err
			}
			if _, err := c.bumpSerial(ctx, tx); err != nil {
				return err
			}
			if orphans, err = unreferenced(ctx, tx, keys); err != nil {
				return err
			}
		}
		if err := setOrigin(ctx, tx, upstream, now); err != nil {
			return err
		}
		if (old == upstream || old == "") && !drop {
			return nil // recorded, nothing changed
		}
		if !drop && old != "" {
			// Kept pages are due at once, and unconditionally: the
			// validators and serial of another server mean nothing to
			// the new one (a lower serial would look stale).
			if _, err := tx.ExecContext(ctx, `UPDATE mirror_projects SET fetched_at = 0, etag = '', last_modified = '', upstream_serial = 0`); err != nil {
				return err
			}
			if err := c.recordChange(ctx, tx, 0, ""); err != nil { // every cached page
				return err
			}
		}
		detail := fmt.Sprintf("upstream %s (was %s); cached pages kept, each refreshed from it when next asked for", upstream, orDash(old))
		if drop {
			detail = fmt.Sprintf("upstream %s (was %s); %d cached pages dropped", upstream, orDash(old), dropped)
		}
		return audit(ctx, tx, now.UnixMicro(), Event{Actor: actor.Name, RemoteAddr: actor.RemoteAddr, Action: "mirror upstream", Detail: detail})
	})
	return dropped, orphans, err
}

func orDash(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}

func setOrigin(ctx context.Context, tx *sql.Tx, upstream string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mirror_origin (id, upstream, changed_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET upstream = excluded.upstream, changed_at = excluded.changed_at`, upstream, now.UnixMicro())
	return err
}

// claimOrigin records upstream as the origin when none is, and returns an
// *UpstreamChangedError when another one is.
func claimOrigin(ctx context.Context, tx *sql.Tx, upstream string, now time.Time) error {
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT upstream FROM mirror_origin WHERE id = 1`).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return setOrigin(ctx, tx, upstream, now)
	case err != nil:
		return err
	case cur != upstream:
		return &UpstreamChangedError{Recorded: cur, Current: upstream}
	}
	return nil
}
