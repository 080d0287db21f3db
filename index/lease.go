package index

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/storage"
)

// DefaultLeaseTerm is how long a lease lasts unless renewed. Holders renew
// their leases every third of it, so that a holder that dies is replaced
// within one term, and a replica whose clock is a few seconds off (the
// expiry times are the replicas' own clocks) still never overlaps another.
const DefaultLeaseTerm = 30 * time.Second

// LeaseTerm is the term the server's leases are given (the mirror's file
// fetches, the scheduled jobs): DefaultLeaseTerm. Tests shorten it, before
// building what takes leases.
var LeaseTerm = DefaultLeaseTerm

// NewLeaseHolder returns a new holder identity for leases: the host name,
// the process id and a random part, so that two holders in one process
// (two servers in a test) differ and an operator can tell which machine
// holds a lease.
func NewLeaseHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b)
}

// JobLease returns the lease under which one replica at a time runs the
// scheduled job named job (periodic.StartLeased): "job:"+job, for
// holder, lasting LeaseTerm.
func (c *Catalog) JobLease(job, holder string) *Lease {
	return c.Lease("job:"+job, holder, LeaseTerm)
}

// JobLeaderGauge returns the gauge pyindex_job_leader{job}: 1 while this
// replica holds the lease of a scheduled job (it is the one running it),
// 0 while another does. It is registered on reg (nil: not registered; one
// already registered there is reused, so every job shares it).
func JobLeaderGauge(reg prometheus.Registerer) *prometheus.GaugeVec {
	return storage.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pyindex_job_leader",
		Help: "Whether this replica holds the lease of a scheduled job and so runs it (1) or another replica does (0), by job.",
	}, []string{"job"}))
}

// Lease is a named lease in the catalog, as one holder sees it: at most
// one holder has a name at a time, until it releases it or its term runs
// out without a renewal, after which anyone may take it. It is safe for
// concurrent use; holding it is a fact of the catalog, not of the value.
//
// A lease is a coordination aid, not a lock that survives everything: a
// holder that stops renewing (a frozen process, a lost database) must
// stop its work before its term ends, as periodic.StartLeased does.
type Lease struct {
	cat    *Catalog
	name   string
	holder string
	term   time.Duration
}

// Lease returns the lease of name for holder (NewLeaseHolder), lasting
// term from each Acquire or Renew. It takes nothing: call Acquire.
func (c *Catalog) Lease(name, holder string, term time.Duration) *Lease {
	return &Lease{cat: c, name: name, holder: holder, term: term}
}

// Name returns the lease's name.
func (l *Lease) Name() string { return l.name }

// Holder returns the holder the lease is taken for.
func (l *Lease) Holder() string { return l.holder }

// Term returns how long the lease lasts from an Acquire or Renew.
func (l *Lease) Term() time.Duration { return l.term }

// Acquire takes the lease for one term from now when nobody holds it or
// its term has run out, or extends it when this holder has it already. It
// returns false, changing nothing, while another holder has it.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	now := l.cat.now()
	// One statement, atomic on both engines: the row is inserted, or
	// taken over when it expired or is ours; a live lease of another
	// holder matches no row.
	return l.cat.leaseExec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at < ? OR leases.holder = excluded.holder`,
		l.name, l.holder, now.Add(l.term).UnixMicro(), now.UnixMicro())
}

// Renew extends the lease by one term from now, if this holder still has
// it. It returns false when it has not (released, or expired and taken by
// another): the holder must stop what it holds the lease for.
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	return l.cat.leaseExec(ctx, `UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?`,
		l.cat.now().Add(l.term).UnixMicro(), l.name, l.holder)
}

// leaseForgotten is how long after its end a lease that nobody released
// (its holder died) is deleted, by the next Release of any lease: the rows
// of files a dead replica was fetching and nobody asked for again.
const leaseForgotten = time.Hour

// Release gives the lease up, if this holder has it, so that another may
// take it at once. Releasing a lease not held does nothing. It also
// deletes the leases of every name that ran out over an hour ago.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.cat.leaseExec(ctx, `DELETE FROM leases WHERE (name = ? AND holder = ?) OR expires_at < ?`,
		l.name, l.holder, l.cat.now().Add(-leaseForgotten).UnixMicro())
	return err
}

// LeaseHolder returns who holds the lease of name and until when. It
// returns ErrNotFound when nobody does (never taken, released, or expired).
func (c *Catalog) LeaseHolder(ctx context.Context, name string) (holder string, until time.Time, err error) {
	var exp int64
	err = c.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT holder, expires_at FROM leases WHERE name = ? AND expires_at >= ?`,
			name, c.now().UnixMicro()).Scan(&holder, &exp)
	})
	if errors.Is(err, ErrNotFound) {
		return "", time.Time{}, Errorf(ErrNotFound, "lease %q is not held", name)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return holder, time.UnixMicro(exp).UTC(), nil
}

// leaseExec runs one lease statement on the writer pool and reports
// whether it changed a row. It is a statement of its own rather than a
// write transaction: a lease changes nothing any cache shows, so it takes
// neither the single-writer lock nor the change notification (on
// PostgreSQL), and bumps no serial.
func (c *Catalog) leaseExec(ctx context.Context, query string, args ...any) (bool, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.w.ExecContext(ctx, query, args...)
		if err != nil && c.pg && pgDeadConn(err) && attempt < maxDeadConns {
			continue // a pooled connection the server closed (beginWrite)
		}
		if err != nil {
			return false, formatError(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, formatError(err)
		}
		return n > 0, nil
	}
}
