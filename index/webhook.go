package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The webhook dispatcher (package index/webhook) keeps its state here: a
// cursor into the audit log and the deliveries it queued. Every statement
// is portable SQL (no INSERT OR, no rowid), and every change that two
// processes could race on is a compare-and-set, so several servers on one
// catalog queue each change once and send each delivery once.

// Delivery states.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// WebhookChange is an audit-log entry as the webhook dispatcher reads it,
// with what the catalog knows of the uploaded file: for an upload, from the
// file's row (empty when the file was deleted before the entry was read);
// for a generic upload, from its audit entry, which records both. Empty
// for other actions.
type WebhookChange struct {
	Event
	SHA256      string
	Size        int64
	PackageType string
}

// WebhookChanges returns up to limit audit entries after the entry with id
// after, oldest first, every action included (the caller picks).
func (c *Catalog) WebhookChanges(ctx context.Context, after int64, limit int) ([]WebhookChange, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT a.id, a.at, a.actor, a.action, a.project, a.version, a.filename,
			a.remote_addr, a.detail, COALESCE(f.sha256, ''), COALESCE(f.size, 0), COALESCE(f.packagetype, '')
		FROM audit a LEFT JOIN files f ON a.action = 'upload' AND f.filename = a.filename
		WHERE a.id > ? ORDER BY a.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []WebhookChange
	for rows.Next() {
		var ch WebhookChange
		var at int64
		if err := rows.Scan(&ch.ID, &at, &ch.Actor, &ch.Action, &ch.Project, &ch.Version, &ch.Filename,
			&ch.RemoteAddr, &ch.Detail, &ch.SHA256, &ch.Size, &ch.PackageType); err != nil {
			return nil, err
		}
		ch.At = time.UnixMicro(at).UTC()
		if ch.Action == "generic-upload" {
			ch.Size, ch.SHA256 = genericUploadDetail(ch.Detail)
		}
		out = append(out, ch)
	}
	return out, formatError(rows.Err())
}

// WebhookCursor returns the id of the last audit entry the dispatcher
// handled; ok is false when it has none (webhooks were never on, or were
// turned off).
func (c *Catalog) WebhookCursor(ctx context.Context) (id int64, ok bool, err error) {
	err = c.r.QueryRowContext(ctx, `SELECT audit_id FROM webhook_cursor WHERE id = 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, formatError(err)
}

// StartWebhookCursor puts the cursor at the end of the audit log unless it
// has a position already, and returns the position: a first start does not
// replay history, a restart resumes where it stopped.
func (c *Catalog) StartWebhookCursor(ctx context.Context, now time.Time) (int64, error) {
	var id int64
	err := c.write(ctx, func(tx *sql.Tx) error {
		// "WHERE 1 = 1" keeps SQLite from reading ON CONFLICT as a join
		// constraint of the SELECT (https://www.sqlite.org/lang_upsert.html).
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_cursor (id, audit_id, updated_at)
			SELECT 1, COALESCE(MAX(id), 0), ? FROM audit WHERE 1 = 1
			ON CONFLICT (id) DO NOTHING`, now.UnixMicro()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT audit_id FROM webhook_cursor WHERE id = 1`).Scan(&id)
	})
	return id, err
}

// ResetWebhookCursor forgets the cursor, so that the next
// StartWebhookCursor begins at the end of the log: a server started with
// no webhooks calls it, and turning them on later does not replay the
// changes made meanwhile. Queued deliveries stay.
func (c *Catalog) ResetWebhookCursor(ctx context.Context) error {
	if _, ok, err := c.WebhookCursor(ctx); err != nil || !ok {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM webhook_cursor WHERE id = 1`)
		return err
	})
}

// NewWebhookDelivery is a delivery to queue.
type NewWebhookDelivery struct {
	UUID    string
	Hook    string
	AuditID int64
	Event   string
	Project string
	Version string
	// Filename is the file's name, or empty (a release or project event).
	Filename string
	// Payload is the JSON the receiver gets (without the per-attempt fields).
	Payload []byte
	// Due is when the first attempt is due.
	Due time.Time
}

// QueueWebhookDeliveries moves the cursor from from to through and queues
// ds (due at once), in one transaction. When the cursor is no longer at
// from (another process queued those changes first) it changes nothing and
// returns moved = false. Then, for each hook in keep, it deletes that
// hook's deliveries beyond its newest keep[hook], pending ones included;
// dropped counts the pending ones so deleted, which will never be sent.
func (c *Catalog) QueueWebhookDeliveries(ctx context.Context, from, through int64, ds []NewWebhookDelivery,
	keep map[string]int, now time.Time) (moved bool, dropped int, err error) {
	err = c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_cursor SET audit_id = ?, updated_at = ? WHERE id = 1 AND audit_id = ?`,
			through, now.UnixMicro(), from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		moved = true
		hooks := map[string]bool{}
		for _, d := range ds {
			hooks[d.Hook] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (uuid, hook, audit_id, event, project,
					version, filename, payload, state, created_at, next_attempt_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (hook, audit_id) DO NOTHING`,
				d.UUID, d.Hook, d.AuditID, d.Event, d.Project, d.Version, d.Filename, string(d.Payload),
				WebhookPending, now.UnixMicro(), d.Due.UnixMicro()); err != nil {
				return err
			}
		}
		for hook := range hooks {
			n, err := trimWebhookDeliveries(ctx, tx, hook, keep[hook])
			if err != nil {
				return err
			}
			dropped += n
		}
		return nil
	})
	return moved, dropped, err
}

// trimWebhookDeliveries deletes hook's deliveries older than its newest
// keep (keep < 1 keeps all) and returns how many of them were pending.
func trimWebhookDeliveries(ctx context.Context, tx *sql.Tx, hook string, keep int) (int, error) {
	if keep < 1 {
		return 0, nil
	}
	var cutoff sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id FROM webhook_deliveries WHERE hook = ? ORDER BY id DESC LIMIT 1 OFFSET ?`,
		hook, keep).Scan(&cutoff)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !cutoff.Valid) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var pending int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE hook = ? AND id <= ? AND state = ?`,
		hook, cutoff.Int64, WebhookPending).Scan(&pending); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE hook = ? AND id <= ?`, hook, cutoff.Int64)
	return pending, err
}

// WebhookDelivery is a queued, delivered or failed delivery.
type WebhookDelivery struct {
	ID            int64
	UUID          string
	Hook          string
	AuditID       int64
	Event         string
	Project       string
	Version       string
	Filename      string
	Payload       []byte
	State         string
	Attempts      int
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	LastAttemptAt time.Time // zero: never attempted
	NextAttemptAt time.Time // pending: when it is due; zero otherwise
	DeliveredAt   time.Time // zero: not delivered
}

const webhookColumns = `id, uuid, hook, audit_id, event, project, version, filename, payload, state, attempts,
	last_status, last_error, created_at, last_attempt_at, next_attempt_at, delivered_at`

func scanWebhookDelivery(s scanner) (WebhookDelivery, error) {
	var d WebhookDelivery
	var payload string
	var created, last, next, delivered int64
	err := s.Scan(&d.ID, &d.UUID, &d.Hook, &d.AuditID, &d.Event, &d.Project, &d.Version, &d.Filename, &payload,
		&d.State, &d.Attempts, &d.LastStatus, &d.LastError, &created, &last, &next, &delivered)
	d.Payload = []byte(payload)
	d.CreatedAt = time.UnixMicro(created).UTC()
	d.LastAttemptAt = microTime(last)
	d.NextAttemptAt = microTime(next)
	d.DeliveredAt = microTime(delivered)
	return d, err
}

// microTime is the time of Unix microseconds, zero for 0.
func microTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func (c *Catalog) queryWebhookDeliveries(ctx context.Context, where string, args ...any) ([]WebhookDelivery, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_deliveries WHERE `+where, args...)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanWebhookDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, formatError(rows.Err())
}

// DueWebhookDeliveries returns up to limit of hook's pending deliveries
// due at now, oldest first.
func (c *Catalog) DueWebhookDeliveries(ctx context.Context, hook string, now time.Time, limit int) ([]WebhookDelivery, error) {
	return c.queryWebhookDeliveries(ctx, `hook = ? AND state = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?`,
		hook, WebhookPending, now.UnixMicro(), limit)
}

// NextWebhookAttempt returns when hook's next pending delivery is due; ok
// is false when it has none.
func (c *Catalog) NextWebhookAttempt(ctx context.Context, hook string) (at time.Time, ok bool, err error) {
	var next sql.NullInt64
	err = c.r.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE hook = ? AND state = ?`,
		hook, WebhookPending).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, formatError(err)
	}
	return time.UnixMicro(next.Int64), true, nil
}

// ClaimWebhookDelivery takes delivery d (as read, still due) for one
// attempt: it counts the attempt and moves its due time to leaseEnd, so no
// other process sends it meanwhile, and should this one stop mid-attempt
// it is due again then. It returns false, changing nothing, when someone
// else claimed it or it changed since it was read.
func (c *Catalog) ClaimWebhookDelivery(ctx context.Context, d WebhookDelivery, now, leaseEnd time.Time) (bool, error) {
	var claimed bool
	err := c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?,
				next_attempt_at = ? WHERE id = ? AND state = ? AND next_attempt_at = ? AND attempts = ?`,
			now.UnixMicro(), leaseEnd.UnixMicro(), d.ID, WebhookPending, d.NextAttemptAt.UnixMicro(), d.Attempts)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// WebhookAttempt is the outcome of one attempt at a delivery.
type WebhookAttempt struct {
	// State is the delivery's state afterwards: WebhookDelivered,
	// WebhookPending (to retry at Next) or WebhookFailed (no more tries).
	State string
	// Status is the receiver's HTTP status; 0 when it gave none.
	Status int
	// Err says what went wrong; empty on success.
	Err string
	// Next is when a pending delivery is due again.
	Next time.Time
	// At is when the attempt ended.
	At time.Time
}

// FinishWebhookAttempt records the outcome of the attempt at delivery id
// that ClaimWebhookDelivery granted. It returns ErrNotFound when the
// delivery is gone (trimmed meanwhile) and ErrInvalid for an unknown state.
func (c *Catalog) FinishWebhookAttempt(ctx context.Context, id int64, a WebhookAttempt) error {
	var next, delivered int64
	switch a.State {
	case WebhookDelivered:
		delivered = a.At.UnixMicro()
	case WebhookPending:
		next = a.Next.UnixMicro()
	case WebhookFailed:
	default:
		return Errorf(ErrInvalid, "webhook delivery state %q", a.State)
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, last_status = ?, last_error = ?,
				next_attempt_at = ?, delivered_at = ? WHERE id = ?`, a.State, a.Status, a.Err, next, delivered, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("%w: webhook delivery %d", ErrNotFound, id)
			}
			return err
		}
		return nil
	})
}

// WebhookDeliveries returns up to limit of hook's deliveries, newest first;
// state, when not empty, keeps only those in that state.
func (c *Catalog) WebhookDeliveries(ctx context.Context, hook, state string, limit int) ([]WebhookDelivery, error) {
	if state != "" {
		return c.queryWebhookDeliveries(ctx, `hook = ? AND state = ? ORDER BY id DESC LIMIT ?`, hook, state, limit)
	}
	return c.queryWebhookDeliveries(ctx, `hook = ? ORDER BY id DESC LIMIT ?`, hook, limit)
}

// WebhookDeliveryByUUID returns hook's delivery with that id, or
// ErrNotFound.
func (c *Catalog) WebhookDeliveryByUUID(ctx context.Context, hook, uuid string) (WebhookDelivery, error) {
	ds, err := c.queryWebhookDeliveries(ctx, `hook = ? AND uuid = ?`, hook, uuid)
	if err != nil {
		return WebhookDelivery{}, err
	}
	if len(ds) == 0 {
		return WebhookDelivery{}, fmt.Errorf("%w: webhook delivery %s", ErrNotFound, uuid)
	}
	return ds[0], nil
}

// WebhookCounts returns how many of hook's kept deliveries are in each
// state.
func (c *Catalog) WebhookCounts(ctx context.Context, hook string) (map[string]int, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM webhook_deliveries WHERE hook = ? GROUP BY state`, hook)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	out := map[string]int{WebhookPending: 0, WebhookDelivered: 0, WebhookFailed: 0}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, formatError(rows.Err())
}

// RetryWebhookDelivery makes hook's failed delivery uuid pending again,
// due at now with its attempts counted afresh, and writes an audit entry.
// It returns ErrNotFound when the hook has no such delivery (any more), and
// ErrExists when it is not failed (pending or delivered already).
func (c *Catalog) RetryWebhookDelivery(ctx context.Context, hook, uuid string, now time.Time, who Actor) error {
	return c.write(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM webhook_deliveries WHERE hook = ? AND uuid = ?`, hook, uuid).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: webhook delivery %s", ErrNotFound, uuid)
		}
		if err != nil {
			return err
		}
		if state != WebhookFailed {
			return Errorf(ErrExists, "delivery %s of webhook %s is %s; only failed deliveries are retried", uuid, hook, state)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = 0, next_attempt_at = ?
			WHERE hook = ? AND uuid = ?`, WebhookPending, now.UnixMicro(), hook, uuid); err != nil {
			return err
		}
		return audit(ctx, tx, now.UnixMicro(), Event{Actor: who.Name, Action: "webhook retry", RemoteAddr: who.RemoteAddr,
			Detail: "webhook " + hook + " delivery " + uuid})
	})
}

// ForgetWebhookDeliveries deletes the deliveries created before before of
// every hook not in hooks (removed from the configuration, or renamed), so
// that they do not stay for ever; the recent ones stay, for a server on the
// same catalog that still has the hook (a rolling restart). It returns how
// many it deleted.
func (c *Catalog) ForgetWebhookDeliveries(ctx context.Context, hooks []string, before time.Time) (int, error) {
	query := `DELETE FROM webhook_deliveries WHERE created_at < ?`
	args := []any{before.UnixMicro()}
	if len(hooks) > 0 {
		query += ` AND hook NOT IN (?` + strings.Repeat(", ?", len(hooks)-1) + `)`
		for _, h := range hooks {
			args = append(args, h)
		}
	}
	var n int64
	err := c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// genericUploadDetail reads the size and sha256 a generic upload's audit
// entry records ("%d bytes, sha256 %s", as the generic files' AddGenericFile
// writes it); zero values when the detail is not of that form.
func genericUploadDetail(detail string) (int64, string) {
	var size int64
	var sha string
	if n, err := fmt.Sscanf(detail, "%d bytes, sha256 %s", &size, &sha); err != nil || n != 2 || len(sha) != 64 {
		return 0, ""
	}
	return size, sha
}
