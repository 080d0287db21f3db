package index_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/pgtest"
)

// postgresOnly skips t in the SQLite run: these tests are of the
// PostgreSQL catalog's own mechanisms, and run in the PostgreSQL run.
func postgresOnly(t *testing.T) {
	t.Helper()
	if indextest.Engine() != "postgres" {
		t.Skip("PostgreSQL only: runs in the PostgreSQL run of this package")
	}
}

func openPG(t *testing.T, url string) *index.Catalog {
	t.Helper()
	cfg := index.DefaultConfig()
	cfg.URL = url
	cat, err := index.OpenPostgres(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// TestPostgresReplicasStartTogether: replicas opening a new database at
// once apply each migration once (the advisory lock), and all open.
func TestPostgresReplicasStartTogether(t *testing.T) {
	postgresOnly(t)
	url := pgtest.URL(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := index.DefaultConfig()
			cfg.URL = url
			cat, err := index.OpenPostgres(context.Background(), cfg)
			if err == nil {
				cat.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT name) FROM migrations`).Scan(&rows, &distinct); err != nil || rows != distinct || rows < 4 {
		t.Errorf("migrations: %d rows, %d names, %v", rows, distinct, err)
	}
}

// TestPostgresInvariantsAcrossReplicas: three catalogs on one database,
// as three replicas: dev numbers are distinct and gapless, one filename
// raced through all of them is recorded once (the others see the same
// bytes as a retry, other bytes as ErrExists), and the serial counts
// every change.
func TestPostgresInvariantsAcrossReplicas(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	url := pgtest.URL(t)
	reps := []*index.Catalog{openPG(t, url), openPG(t, url), openPG(t, url)}
	sha := func(i int) string { return fmt.Sprintf("%040x", i) }

	const n = 30
	var wg sync.WaitGroup
	nums := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dv, err := reps[i%3].AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "1.0", Commit: sha(i), Branch: "main"}, "ci")
			nums[i], errs[i] = dv.Number, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for i, v := range nums {
		if v != int64(i+1) {
			t.Fatalf("dev numbers %v, want 1..%d", nums, n)
		}
	}

	files := bulkFiles()
	for race := range 6 {
		nf := files[race]
		other := nf
		other.SHA256, other.BlobKey = strings.Repeat("e", 64), "sha256/other"
		var wg sync.WaitGroup
		existed := make([]bool, 6)
		errs := make([]error, 6)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := nf
				if i%2 == 1 {
					f = other
				}
				_, existed[i], errs[i] = reps[i%3].AddFile(ctx, f)
			}()
		}
		wg.Wait()
		won := 0
		for i := range 6 {
			if errs[i] == nil && !existed[i] {
				won++
			}
			if errs[i] != nil && !errors.Is(errs[i], index.ErrExists) {
				t.Errorf("race %d: %v", race, errs[i])
			}
		}
		if won != 1 {
			t.Errorf("race %d: %d uploads recorded the file, want 1 (%v)", race, won, errs)
		}
	}
	if s, err := reps[0].Serial(ctx); err != nil || s < 6 {
		t.Errorf("serial %d, %v", s, err)
	}
}

// TestPostgresBusy: a writer that waits for the single-writer lock past
// lock_timeout gets ErrBusy, as a SQLite writer past its busy timeout.
func TestPostgresBusy(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	url := pgtest.URL(t)
	cat := openPG(t, url+"&lock_timeout=200")
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE pyindex_changes SET value = value + 1`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = cat.AddUser(ctx, "alice", "alice-password", false, "test")
	if !errors.Is(err, index.ErrBusy) {
		t.Fatalf("AddUser while another writer holds the lock: %v, want ErrBusy", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ErrBusy after %s", d)
	}
	tx.Rollback()
	if _, err := cat.AddUser(ctx, "alice", "alice-password", false, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AddUser(ctx, "alice", "alice-password", false, "test"); !errors.Is(err, index.ErrExists) {
		t.Errorf("second AddUser: %v, want ErrExists", err)
	}
}

// TestSerialCacheNotified: a change through another catalog reaches this
// one's cache as a notification, well within a second.
func TestSerialCacheNotified(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	url := pgtest.URL(t)
	server, cli := openPG(t, url), openPG(t, url)
	files := bulkFiles()
	if _, _, err := server.AddFile(ctx, files[0]); err != nil {
		t.Fatal(err)
	}
	if s, err := server.ProjectSerial(ctx, "acme-util"); err != nil || s != 1 {
		t.Fatalf("ProjectSerial = %d, %v", s, err)
	}
	before := server.NotificationsReceived()
	start := time.Now()
	if _, _, err := cli.AddFile(ctx, files[1]); err != nil {
		t.Fatal(err)
	}
	for {
		s, err := server.ProjectSerial(ctx, "acme-util")
		if err != nil {
			t.Fatal(err)
		}
		if s == 2 {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("change not seen after %s", time.Since(start))
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("change seen after %s", time.Since(start))
	for server.NotificationsReceived() <= before {
		if time.Since(start) > time.Second {
			t.Fatal("no notification received")
		}
		time.Sleep(time.Millisecond)
	}
}
