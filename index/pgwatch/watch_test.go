package pgwatch_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pyindex/pyindex/index/pgtest"
	"github.com/pyindex/pyindex/index/pgwatch"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// setup returns a database with a counter table, a connection to it and
// its connection configuration.
func setup(t *testing.T) (*sql.DB, *pgx.ConnConfig) {
	t.Helper()
	url := pgtest.URL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE changes (value BIGINT NOT NULL); INSERT INTO changes VALUES (0)`); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url + "&application_name=watch")
	if err != nil {
		t.Fatal(err)
	}
	return db, cfg
}

func open(t *testing.T, cfg *pgx.ConnConfig, poll time.Duration) *pgwatch.Watch {
	t.Helper()
	w, err := pgwatch.Open(context.Background(), pgwatch.Config{Conn: cfg, Channel: "changes", Counter: `SELECT value FROM changes`, Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// changed waits up to d for w's version to differ from v.
func changed(w *pgwatch.Watch, v int64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if now, _, err := w.Current(); err == nil && now != v {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func TestNotification(t *testing.T) {
	db, cfg := setup(t)
	w := open(t, cfg, time.Hour) // no polling: only the notification can tell
	v, _, err := w.Current()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`SELECT pg_notify('changes', '1')`); err != nil {
		t.Fatal(err)
	}
	if !changed(w, v, time.Second) {
		t.Fatal("notification not seen within a second")
	}
	if w.Received() != 1 {
		t.Errorf("Received = %d", w.Received())
	}
	// This process's own commit counts at once, and its notification
	// then changes nothing more.
	v, _, _ = w.Current()
	w.Committed(2)
	if now, _, _ := w.Current(); now == v {
		t.Error("Committed did not change the version")
	}
	v, _, _ = w.Current()
	db.Exec(`SELECT pg_notify('changes', '2')`)
	for w.Received() < 2 {
		time.Sleep(time.Millisecond)
	}
	if now, _, _ := w.Current(); now != v {
		t.Error("the notification of our own commit changed the version again")
	}
}

// TestPollFallback: with no notification at all (a pooler that drops
// them), a change of the counter is seen at the next poll.
func TestPollFallback(t *testing.T) {
	db, cfg := setup(t)
	w := open(t, cfg, 50*time.Millisecond)
	v, _, _ := w.Current()
	time.Sleep(120 * time.Millisecond)
	if now, _, _ := w.Current(); now != v {
		t.Fatal("version changed with no change")
	}
	if _, err := db.Exec(`UPDATE changes SET value = value + 1`); err != nil {
		t.Fatal(err)
	}
	if !changed(w, v, time.Second) {
		t.Fatal("counter change not seen by polling")
	}
}

// TestReconnect: when the watch's connection is killed, Current fails
// until it reconnects, and the version changes (anything may have
// happened meanwhile).
func TestReconnect(t *testing.T) {
	db, cfg := setup(t)
	w := open(t, cfg, 50*time.Millisecond)
	v, _, _ := w.Current()
	var killed int
	if err := db.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'watch'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate: %d, %v", killed, err)
	}
	if !changed(w, v, 3*time.Second) {
		t.Fatal("no change after the watch's connection was lost and restored")
	}
	if _, _, err := w.Current(); err != nil {
		t.Fatalf("not reconnected: %v", err)
	}
	if _, err := db.Exec(`SELECT pg_notify('changes', '7')`); err != nil {
		t.Fatal(err)
	}
	v, _, _ = w.Current()
	if !changed(w, v, time.Second) {
		t.Fatal("notifications not received after reconnecting")
	}
}

// TestChangedWakes checks that Changed's channel is closed when a
// notification arrives, and when this process reports its own commit.
func TestChangedWakes(t *testing.T) {
	db, cfg := setup(t)
	w := open(t, cfg, time.Hour)
	ch := w.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed with no change")
	default:
	}
	if _, err := db.Exec(`UPDATE changes SET value = value + 1; SELECT pg_notify('changes', '1')`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("a notification did not close Changed's channel")
	}
	ch = w.Changed()
	w.Committed(2)
	select {
	case <-ch:
	default:
		t.Fatal("Committed did not close Changed's channel")
	}
}
