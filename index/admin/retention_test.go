package admin_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/indextest"
)

// shortLeases shortens the leases of what the test builds next.
func shortLeases(t *testing.T, term time.Duration) {
	old := index.LeaseTerm
	index.LeaseTerm = term
	t.Cleanup(func() { index.LeaseTerm = old })
}

// TestRetentionOneReplica: two servers on one catalog, both with
// retention on: one runs it (it holds "job:retention", its
// pyindex_job_leader is 1), the other waits; when the first dies (its
// catalog gone, so it can no longer renew) the other takes over within
// the lease's term and a third, and prunes.
func TestRetentionOneReplica(t *testing.T) {
	const term = 600 * time.Millisecond
	shortLeases(t, term)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	store := indextest.Store(t)
	seedCat := indextest.OpenCatalog(t, path)
	seed := func(versions ...string) {
		for _, v := range versions {
			fn, data := indextest.Wheel(t, "acme_util", v, "")
			indextest.Seed(t, seedCat, store, fn, data)
		}
	}
	seed("1.0.dev1", "1.0.dev2")
	cfg := admin.DefaultRetentionConfig()
	cfg.Enabled, cfg.Interval, cfg.KeepDev = true, 20*time.Millisecond, 1
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	cat1, err := indextest.TryOpenCatalog(t, path) // closed below: this server dies
	if err != nil {
		t.Fatal(err)
	}
	defer cat1.Close()
	reg1, reg2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	r1, err := admin.NewRetention(cfg, admin.Deps{Catalog: cat1, Store: store, Log: log, Registerer: reg1})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Stop()
	r2, err := admin.NewRetention(cfg, admin.Deps{Catalog: indextest.OpenCatalog(t, path), Store: store, Log: log, Registerer: reg2})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Stop()
	leads := func(reg *prometheus.Registry) float64 {
		return testutil.ToFloat64(index.JobLeaderGauge(reg).WithLabelValues(admin.RetentionJob))
	}
	pruned := func(version string) bool {
		_, err := seedCat.File(ctx, "acme_util-"+version+"-py3-none-any.whl")
		return err != nil
	}
	wait := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within %v: %s", within, what)
			}
		}
	}

	r1.Start()
	wait("the first server prunes", 10*time.Second, func() bool { return pruned("1.0.dev1") })
	r2.Start()
	for range 10 { // several ticks of both schedules, and of the lease
		time.Sleep(term / 5)
		if leads(reg1) != 1 || leads(reg2) != 0 {
			t.Fatalf("pyindex_job_leader: first %v, second %v; want 1 and 0", leads(reg1), leads(reg2))
		}
	}
	if h, _, err := seedCat.LeaseHolder(ctx, "job:retention"); err != nil || h == "" {
		t.Fatalf("lease holder %q, %v", h, err)
	}

	died := time.Now()
	cat1.Close()
	wait("the second server takes over", 2*term, func() bool { return leads(reg2) == 1 })
	if since := time.Since(died); since > term*4/3+term/4 {
		t.Errorf("took over after %v; want within a term and a third (%v)", since, term*4/3)
	}
	if leads(reg1) != 0 {
		t.Error("the dead server still says it leads")
	}
	seed("1.0.dev3")
	wait("the second server prunes", 10*time.Second, func() bool { return pruned("1.0.dev2") })
	if pruned("1.0.dev3") {
		t.Error("the newest dev build went")
	}
}
