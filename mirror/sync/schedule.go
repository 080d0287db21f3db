package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep508"
	"github.com/pyindex/pyindex/index/periodic"
	"github.com/pyindex/pyindex/storage"
)

// Job is a sync the server runs on a schedule: a [[mirror.sync]] entry
// of the configuration.
type Job struct {
	// Name labels the job's log lines and metrics; empty: "sync-N" (its
	// position, from 1).
	Name string `toml:"name"`
	// Projects are requirements ("requests", "django>=4.2,<5").
	Projects []string `toml:"projects"`
	// Requirements are pip requirements files, read at every run.
	Requirements []string `toml:"requirements"`
	// Interval is the time between runs (at least 1m); the first run is at
	// start.
	Interval time.Duration `toml:"interval"`
	// Deps follows dependencies (Requires-Dist) transitively.
	Deps bool `toml:"deps"`
	// Jobs is how many downloads run at once (0: 4).
	Jobs int `toml:"jobs"`
	Filter
}

// JobName returns the job's name, or "sync-N" for the i-th job (from 0).
func (j Job) JobName(i int) string {
	if j.Name != "" {
		return j.Name
	}
	return "sync-" + strconv.Itoa(i+1)
}

// Validate reports every invalid setting of the i-th job (from 0), named
// as in the configuration file.
func (j Job) Validate(i int) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("mirror.sync[%d]: %s", i, fmt.Sprintf(format, args...)))
	}
	if len(j.Projects) == 0 && len(j.Requirements) == 0 {
		bad("needs projects or requirements")
	}
	for _, p := range j.Projects {
		if _, err := pep508.ParseRequirement(p); err != nil {
			bad("projects: %v", err)
		}
	}
	for _, path := range j.Requirements {
		// Read now so that a typo fails the start, not a run hours later;
		// each run reads the file again.
		if _, err := ParseRequirementsFile(path); err != nil {
			bad("requirements: %v", err)
		}
	}
	if j.Interval < time.Minute {
		bad("interval must be at least 1m")
	}
	if j.Jobs < 0 {
		bad("jobs must not be negative")
	}
	if err := j.Filter.Validate(); err != nil {
		bad("%v", err)
	}
	return errors.Join(errs...)
}

// options reads the job's requirements files and returns what to sync.
func (j Job) options() (Options, error) {
	opts := Options{Filter: j.Filter, Deps: j.Deps, Jobs: j.Jobs}
	for _, p := range j.Projects {
		r, err := pep508.ParseRequirement(p)
		if err != nil {
			return opts, err
		}
		opts.Requirements = append(opts.Requirements, r)
	}
	for _, path := range j.Requirements {
		rf, err := ParseRequirementsFile(path)
		if err != nil {
			return opts, err
		}
		opts.Requirements = append(opts.Requirements, rf.Requirements...)
		opts.Constraints = append(opts.Constraints, rf.Constraints...)
	}
	return opts, nil
}

// Config is the syncs the server runs on a schedule.
type Config struct {
	// Jobs are the [[mirror.sync]] entries.
	Jobs []Job
}

// Validate reports every invalid setting of every job, named as in the
// configuration file.
func (c Config) Validate() error {
	var errs []error
	for i, j := range c.Jobs {
		if err := j.Validate(i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Actor is the audit-log actor of scheduled syncs.
const Actor = "mirror-sync"

// Scheduler runs the configured sync jobs inside the server.
type Scheduler struct {
	deps    Deps
	jobs    []Job
	log     *slog.Logger
	cancel  context.CancelFunc
	runners []*periodic.Runner
	runs    *prometheus.CounterVec
	files   *prometheus.CounterVec
	bytes   *prometheus.CounterVec
	last    *prometheus.GaugeVec
	success *prometheus.GaugeVec
	dur     *prometheus.GaugeVec
	leader  *prometheus.GaugeVec // pyindex_job_leader, by "sync:"+name
	holder  string               // this server's leases (index.NewLeaseHolder)
}

// LeaseJob returns the name of the lease under which one server at a time
// runs the scheduled sync job named name ("job:sync:NAME"), which is also
// its pyindex_job_leader label ("sync:NAME").
func LeaseJob(name string) string { return "sync:" + name }

// New returns a scheduler of cfg's jobs (none: it does nothing), with its
// metrics on deps.Registerer (nil: none). cfg is validated; deps.Mirror,
// deps.Catalog and deps.Store are required. Start runs the jobs.
func New(cfg Config, deps Deps) (*Scheduler, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	reg := deps.Registerer
	s := &Scheduler{deps: deps, jobs: cfg.Jobs, log: deps.log().With("component", "mirror-sync"),
		runs: storage.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pyindex", Subsystem: "mirror_sync", Name: "runs_total",
			Help: "Scheduled mirror syncs by job and result (ok, failed: some file or page failed, error: the run could not start)."}, []string{"job", "result"})),
		files: storage.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pyindex", Subsystem: "mirror_sync", Name: "files_total",
			Help: "Files selected by scheduled mirror syncs, by job and result (fetched, present, failed)."}, []string{"job", "result"})),
		bytes: storage.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pyindex", Subsystem: "mirror_sync", Name: "bytes_total",
			Help: "Bytes downloaded by scheduled mirror syncs."}, []string{"job"})),
		last: storage.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "pyindex", Subsystem: "mirror_sync", Name: "last_run_timestamp_seconds",
			Help: "When each scheduled mirror sync last finished."}, []string{"job"})),
		success: storage.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "pyindex", Subsystem: "mirror_sync", Name: "last_success_timestamp_seconds",
			Help: "When each scheduled mirror sync last finished without a failure."}, []string{"job"})),
		dur: storage.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "pyindex", Subsystem: "mirror_sync", Name: "last_duration_seconds",
			Help: "How long each scheduled mirror sync's last run took."}, []string{"job"})),
		leader: index.JobLeaderGauge(reg),
		holder: index.NewLeaseHolder(),
	}
	return s, nil
}

// Start starts one goroutine per job, each running its job at once and
// then every Interval until ctx ends or Stop is called. Start is called
// once.
//
// Of the servers sharing the catalog, one at a time runs each job: the
// one holding its lease, "job:sync:NAME" (periodic.StartLeased), which it
// renews while it lives; when it stops or dies another takes over within
// index.LeaseTerm and a third, and runs the job at once. (Servers with
// different [[mirror.sync]] entries of one name share that name's lease.)
func (s *Scheduler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	for i, j := range s.jobs {
		name := j.JobName(i)
		lease := s.deps.Catalog.JobLease(LeaseJob(name), s.holder)
		leader := s.leader.WithLabelValues(LeaseJob(name))
		leader.Set(0)
		leading := func(on bool) {
			if on {
				leader.Set(1)
				s.log.Info("this server runs the scheduled sync (it holds the lease)", "job", name, "lease", lease.Name(), "holder", s.holder)
			} else {
				leader.Set(0)
				s.log.Info("the scheduled sync stopped here: the lease was released or lost", "job", name, "lease", lease.Name())
			}
		}
		s.runners = append(s.runners, periodic.StartLeased(ctx, j.Interval, lease, leading, func(ctx context.Context) { s.run(ctx, j, name) }))
	}
}

// run runs one job once.
func (s *Scheduler) run(ctx context.Context, j Job, name string) {
	start := time.Now()
	opts, err := j.options()
	if err != nil {
		s.log.Error("scheduled sync cannot start", "job", name, "err", err)
		s.runs.WithLabelValues(name, "error").Inc()
		return
	}
	opts.Actor = Actor
	rep, err := Run(ctx, s.deps, opts)
	if ctx.Err() != nil {
		return // stopping
	}
	if err != nil {
		s.log.Error("scheduled sync failed", "job", name, "err", err)
		s.runs.WithLabelValues(name, "error").Inc()
		return
	}
	s.files.WithLabelValues(name, EventFetched).Add(float64(rep.Fetched))
	s.files.WithLabelValues(name, EventPresent).Add(float64(rep.Present))
	s.files.WithLabelValues(name, EventFailed).Add(float64(rep.Failed))
	s.bytes.WithLabelValues(name).Add(float64(rep.Bytes))
	now := time.Now()
	s.last.WithLabelValues(name).Set(float64(now.Unix()))
	s.dur.WithLabelValues(name).Set(now.Sub(start).Seconds())
	result := "ok"
	if !rep.OK() {
		result = "failed"
		for _, f := range rep.Failures {
			s.log.Warn("scheduled sync failure", "job", name, "project", f.Project, "file", f.Filename, "err", f.Error)
		}
	} else {
		s.success.WithLabelValues(name).Set(float64(now.Unix()))
	}
	s.runs.WithLabelValues(name, result).Inc()
	s.log.Info("scheduled sync done", "job", name, "projects", len(rep.Projects), "files", len(rep.Files),
		"fetched", rep.Fetched, "skipped", rep.Present, "bytes", rep.Bytes, "failures", len(rep.Failures),
		"duration", rep.Duration.Round(time.Millisecond))
}

// Stop cancels the jobs and waits for them: a run in progress stops at
// once; what it fetched stays, and a download it had started finishes
// under the mirror's own timeout (mirror.file_timeout) and is kept.
func (s *Scheduler) Stop() {
	if s == nil || s.cancel == nil {
		return
	}
	s.cancel() // all jobs at once, then wait for each
	for _, r := range s.runners {
		r.Stop()
	}
}
