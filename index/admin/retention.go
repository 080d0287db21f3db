package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/periodic"
	"github.com/pyindex/pyindex/storage"

	"github.com/prometheus/client_golang/prometheus"
)

// RetentionConfig is the [retention] section: prune rules the server
// applies by itself on a schedule (see PruneRules for their meaning).
type RetentionConfig struct {
	// Enabled turns scheduled pruning on.
	Enabled bool `toml:"enabled"`
	// Interval is the time between runs; the first runs at start.
	Interval time.Duration `toml:"interval"`
	// KeepDev keeps the N newest dev builds of each base release (0: off).
	KeepDev int `toml:"keep_dev"`
	// DevOlderThan drops dev builds uploaded longer ago (0: off).
	DevOlderThan time.Duration `toml:"dev_older_than"`
	// ReleasedDev drops dev builds superseded by a release of their base.
	ReleasedDev bool `toml:"released_dev"`
	// Projects limits retention to these projects; empty means all.
	Projects []string `toml:"projects"`
	// Generic is the [retention.generic] section: rules for generic
	// packages, run on the same schedule, with a switch of their own.
	Generic GenericRetentionConfig `toml:"generic"`
}

// DefaultRetentionConfig returns the defaults: off; when turned on, keep
// the 10 newest dev builds of each base release, hourly.
func DefaultRetentionConfig() RetentionConfig {
	return RetentionConfig{Interval: time.Hour, KeepDev: 10, Projects: []string{},
		Generic: GenericRetentionConfig{Names: []string{}}}
}

// Rules returns the configured prune rules.
func (c RetentionConfig) Rules() index.PruneRules {
	return index.PruneRules{Projects: c.Projects, KeepDev: c.KeepDev, DevOlderThan: c.DevOlderThan, ReleasedDev: c.ReleasedDev}
}

// Validate reports every bad setting, also while retention is disabled
// (a value that is wrong is reported before the day it is switched on);
// only the need for at least one rule waits until Enabled.
func (c RetentionConfig) Validate() error {
	var errs []error
	if c.Interval < time.Minute {
		errs = append(errs, errors.New("retention.interval: must be at least 1m"))
	}
	rules := c.Rules()
	if !c.Enabled {
		rules.ReleasedDev = true // a rule, so that only the values are checked
	}
	if err := rules.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retention: %w", err))
	}
	if err := c.Generic.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RetentionActor is the audit-log actor of scheduled pruning.
const RetentionActor = "retention"

// Retention applies the [retention] rules on a schedule.
type Retention struct {
	admin *Service
	cfg   RetentionConfig
	log   *slog.Logger
	freed prometheus.Counter
	// genericDeleted is the admin API's pyindex_generic_deleted_files_total.
	genericDeleted *prometheus.CounterVec

	// lease makes one replica at a time run the schedule
	// ("job:retention"); leader is pyindex_job_leader{job="retention"}.
	lease  *index.Lease
	leader *prometheus.GaugeVec

	mu     sync.Mutex
	runner *periodic.Runner // nil until Start
}

// RetentionJob is the name of scheduled retention's lease ("job:retention")
// and its pyindex_job_leader label.
const RetentionJob = "retention"

// NewRetention returns a Retention over deps.Catalog and deps.Store that
// registers the counter pyindex_retention_bytes_freed_total and the gauge
// pyindex_job_leader{job="retention"} on deps.Registerer (none when nil; a
// metric already registered there is reused, so several servers in one
// process share it).
func NewRetention(cfg RetentionConfig, deps Deps) (*Retention, error) {
	admin, err := New(deps)
	if err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	freed := storage.Register[prometheus.Counter](deps.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pyindex_retention_bytes_freed_total",
		Help: "Bytes of storage freed by scheduled retention (pruned dev builds and generic versions).",
	}))
	return &Retention{admin: admin, cfg: cfg, log: log, freed: freed, genericDeleted: genericDeletedCounter(deps.Registerer),
		lease: deps.Catalog.JobLease(RetentionJob, index.NewLeaseHolder()), leader: index.JobLeaderGauge(deps.Registerer)}, nil
}

// RunOnce prunes packages by the rules now, counts the bytes freed and
// logs the result. It does nothing when package retention is off
// ([retention] enabled = false).
func (r *Retention) RunOnce(ctx context.Context) (PruneResult, error) {
	if !r.cfg.Enabled {
		return PruneResult{}, nil
	}
	res, err := r.admin.Prune(ctx, r.cfg.Rules(), false, index.Actor{Name: RetentionActor})
	if err != nil {
		return res, err
	}
	r.freed.Add(float64(res.Freed))
	if len(res.Releases) > 0 {
		r.log.Info("retention pruned dev builds", "releases", len(res.Releases), "files", len(res.Files),
			"bytes", res.Bytes, "freed", res.Freed)
	}
	return res, nil
}

// RunGenericOnce prunes generic packages by the [retention.generic] rules
// now, counts the files deleted and the bytes freed, and logs the result.
// It does nothing when generic retention is off.
func (r *Retention) RunGenericOnce(ctx context.Context) (GenericPruneResult, error) {
	if !r.cfg.Generic.Enabled {
		return GenericPruneResult{}, nil
	}
	res, err := r.admin.PruneGeneric(ctx, r.cfg.Generic.Rules(), false, index.Actor{Name: RetentionActor})
	if err != nil {
		return res, err
	}
	r.freed.Add(float64(res.Freed))
	r.genericDeleted.WithLabelValues("prune").Add(float64(len(res.Files)))
	if len(res.Versions) > 0 {
		r.log.Info("retention pruned generic versions", "versions", len(res.Versions), "files", len(res.Files),
			"bytes", res.Bytes, "freed", res.Freed)
	}
	return res, nil
}

// Start runs RunOnce and RunGenericOnce now and then every interval in a
// goroutine, until Stop. It does nothing unless the configuration enables
// package or generic retention, or when already started.
//
// Of the servers sharing the catalog, one at a time runs the schedule:
// the one holding the lease "job:retention" (periodic.StartLeased), which
// it renews while it lives; when it stops or dies another takes over,
// within index.LeaseTerm and a third, and runs at once.
func (r *Retention) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if (!r.cfg.Enabled && !r.cfg.Generic.Enabled) || r.runner != nil {
		return
	}
	leader := r.leader.WithLabelValues(RetentionJob) // 0 from now on: another server may lead
	leader.Set(0)
	leading := func(on bool) {
		if on {
			leader.Set(1)
			r.log.Info("this server runs scheduled retention (it holds the lease)", "lease", r.lease.Name(), "holder", r.lease.Holder())
		} else {
			leader.Set(0)
			r.log.Info("scheduled retention stopped here: the lease was released or lost", "lease", r.lease.Name())
		}
	}
	r.runner = periodic.StartLeased(context.Background(), r.cfg.Interval, r.lease, leading, func(ctx context.Context) {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("retention run failed", "err", err)
		}
		if _, err := r.RunGenericOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("generic retention run failed", "err", err)
		}
	})
}

// Stop stops the schedule, cancelling a run in progress, and waits for it
// to end. It may be called more than once, and without Start.
func (r *Retention) Stop() {
	r.mu.Lock()
	runner := r.runner
	r.mu.Unlock()
	runner.Stop()
}
