// Package pgwatch tells whether a PostgreSQL catalog has changed, by any
// replica or CLI process, for the catalog's serial cache: the PostgreSQL
// counterpart of package sqlitewatch.
//
// Every catalog write transaction increments a counter row and, before it
// commits, sends its new value with NOTIFY on a channel; PostgreSQL
// delivers it to every listener when (and only when) the transaction
// commits. The watch LISTENs on a connection of its own, and also reads the
// counter every poll interval, so a change reaches it within that interval
// even where notifications are lost (a connection pooler in transaction
// mode drops them). Writes of this process are reported at once with
// Committed.
//
// While the watch's connection is down Current returns an error (the cache
// then queries for every lookup); on reconnecting it counts a change,
// since anything may have happened meanwhile.
package pgwatch

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config is what a watch connects to and how it watches.
type Config struct {
	// Conn is the connection configuration (it is copied).
	Conn *pgx.ConnConfig
	// Channel is the NOTIFY channel the writers signal.
	Channel string
	// Counter is a query returning the change counter (one bigint).
	Counter string
	// Poll is how often the counter is read. Zero means one second.
	Poll time.Duration
}

// Watch follows the change counter.
type Watch struct {
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{}

	received atomic.Int64 // notifications received (metrics)

	mu      sync.Mutex
	gen     uint64        // changes seen: the version Current returns
	counter int64         // the counter's last known value
	err     error         // the connection's state: nil while watching
	changed chan struct{} // closed at the next change (Changed)
}

// Open connects and starts watching. It fails if the first connection
// fails.
func Open(ctx context.Context, cfg Config) (*Watch, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	w := &Watch{cfg: cfg, cancel: cancel, done: make(chan struct{}), gen: 1, changed: make(chan struct{})}
	if err := w.poll(ctx, conn); err != nil {
		cancel()
		conn.Close(ctx)
		return nil, err
	}
	go w.run(wctx, conn)
	return w, nil
}

func connect(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Conn.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{cfg.Channel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

// Close stops the watch; Current fails afterwards.
func (w *Watch) Close() error {
	w.cancel()
	<-w.done
	return nil
}

// Current returns a version that changes whenever a change has been seen,
// and the same number as a generation (later checks have larger ones). It
// fails while the watch is not connected, or after Close.
func (w *Watch) Current() (version int64, gen uint64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, 0, w.err
	}
	return int64(w.gen), w.gen, nil
}

// Changed returns a channel closed when the watch next sees a change (or
// loses or regains its connection), so that a cache can apply changes as
// they come rather than at its next lookup.
func (w *Watch) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// bump counts a change and wakes Changed's waiters. Call with mu held.
func (w *Watch) bump() {
	w.gen++
	close(w.changed)
	w.changed = make(chan struct{})
}

// Committed reports that this process committed the change numbered v,
// so that its own requests see it at once rather than when the
// notification arrives (which then changes nothing more).
func (w *Watch) Committed(v int64) {
	w.mu.Lock()
	w.counter = max(w.counter, v)
	w.bump()
	w.mu.Unlock()
}

// Received returns how many notifications the watch has received.
func (w *Watch) Received() int64 { return w.received.Load() }

// see records the counter value v, read by a poll or sent by a
// notification, counting a change if it is past the last one known.
// Writers take the counter's row lock, so they commit in counter order: by
// the time a value is known, every smaller one has committed, and a late
// notification of one (this process's own, say) has nothing new to tell.
// A poll that reads a smaller value than known means the counter started
// over (a database recreated): that counts as a change too.
func (w *Watch) see(v int64, polled bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v > w.counter || (polled && v < w.counter) {
		w.counter = v
		w.bump()
	}
}

func (w *Watch) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && w.err != nil {
		w.bump() // back after an outage: anything may have changed
	}
	w.err = err
}

func (w *Watch) poll(ctx context.Context, conn *pgx.Conn) error {
	var v int64
	if err := conn.QueryRow(ctx, w.cfg.Counter).Scan(&v); err != nil {
		return err
	}
	w.see(v, true)
	return nil
}

// run waits for notifications, polls between them, and reconnects after
// a failure, until ctx ends.
func (w *Watch) run(ctx context.Context, conn *pgx.Conn) {
	defer close(w.done)
	defer func() {
		w.setErr(errors.New("catalog change watch closed"))
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
		}
	}()
	backoff := 50 * time.Millisecond
	next := time.Now().Add(w.cfg.Poll)
	for ctx.Err() == nil {
		if conn == nil {
			c, err := connect(ctx, w.cfg)
			if err == nil {
				err = w.poll(ctx, c)
				if err != nil {
					c.Close(ctx)
				}
			}
			if err != nil {
				w.setErr(err)
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 2*time.Second)
				continue
			}
			conn, backoff = c, 50*time.Millisecond
			w.setErr(nil)
			next = time.Now().Add(w.cfg.Poll)
		}
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			w.received.Add(1)
			if v, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil {
				w.see(v, false)
			} else {
				w.mu.Lock()
				w.bump()
				w.mu.Unlock()
			}
			continue
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			err = w.poll(ctx, conn)
			next = time.Now().Add(w.cfg.Poll)
		}
		if err != nil {
			w.setErr(err)
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
			conn = nil
		}
	}
}
