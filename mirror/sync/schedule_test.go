package sync_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

// runs returns how many scheduled runs reg's scheduler has counted.
func runs(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "pyindex_mirror_sync_runs_total" {
			for _, m := range mf.GetMetric() {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}

// TestScheduleOneReplica: two servers on one catalog with the same
// [[mirror.sync]] job: one runs it (pyindex_job_leader{job="sync:nightly"}
// 1 there, 0 on the other); when it dies (its catalog gone: no renewal)
// the other takes over within the lease's term and a third and runs the
// job at once.
func TestScheduleOneReplica(t *testing.T) {
	const term = 600 * time.Millisecond
	old := index.LeaseTerm
	index.LeaseTerm = term
	t.Cleanup(func() { index.LeaseTerm = old })
	up := syncUpstream(t)
	dir := t.TempDir()
	cfg := mirrorsync.Config{Jobs: []mirrorsync.Job{{Name: "nightly", Projects: []string{"lib==1.5"}, Interval: time.Hour}}}
	var scheds [2]*mirrorsync.Scheduler
	var regs [2]*prometheus.Registry
	var envs [2]*mirrortest.Env
	for i := range 2 {
		envs[i] = mirrortest.NewEnv(t, up, dir, nil)
		regs[i] = prometheus.NewRegistry()
		d := deps(envs[i])
		d.Registerer = regs[i]
		s, err := mirrorsync.New(cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		scheds[i] = s
		t.Cleanup(s.Stop)
	}
	leads := func(i int) float64 {
		return testutil.ToFloat64(index.JobLeaderGauge(regs[i]).WithLabelValues(mirrorsync.LeaseJob("nightly")))
	}
	wait := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within %v: %s", within, what)
			}
		}
	}
	scheds[0].Start(t.Context())
	wait("the first server runs the job", 20*time.Second, func() bool { return runs(t, regs[0]) == 1 })
	scheds[1].Start(t.Context())
	for range 6 { // the second tries the lease every third of its term
		time.Sleep(term / 4)
		if runs(t, regs[1]) != 0 || leads(0) != 1 || leads(1) != 0 {
			t.Fatalf("runs %d and %d, leaders %v and %v; want only the first", runs(t, regs[0]), runs(t, regs[1]), leads(0), leads(1))
		}
	}
	cf, err := envs[1].Cat.MirrorFile(t.Context(), "lib", "lib-1.5-py3-none-any.whl")
	if err != nil || cf.BlobKey == "" {
		t.Fatalf("the sync did not cache lib 1.5: %+v %v", cf, err)
	}

	died := time.Now()
	envs[0].Cat.Close()
	wait("the second server takes over", 20*time.Second, func() bool { return runs(t, regs[1]) == 1 })
	if since := time.Since(died); since > term*4/3+term/2 {
		t.Errorf("took over after %v; want within a term and a third (%v)", since, term*4/3)
	}
	if leads(1) != 1 || leads(0) != 0 {
		t.Errorf("leaders %v and %v after the takeover; want the second", leads(0), leads(1))
	}
}
