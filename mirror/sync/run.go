// Package sync prefetches public projects into the mirror's cache, and
// carries the cache across an air gap: Run resolves requirements (with
// filters by version, Python and platform, and their dependencies) to the
// files of the upstream's pages and fetches them through the pull-through
// cache (package mirror), so that they are stored exactly as a client's
// request would store them; a Scheduler runs the [[mirror.sync]] jobs of
// the configuration inside the server; Export and Import write the cache
// to a tar archive and load one.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep508"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/storage"
)

// Cache is what a sync needs of the pull-through cache; *mirror.Mirror
// is one.
type Cache interface {
	// Offline reports whether the mirror never contacts the upstream.
	Offline() bool
	// Hosted reports whether a project hosted here hides the upstream's.
	Hosted(ctx context.Context, project string) (bool, error)
	// Refresh fetches a project's page now (index.ErrNotFound: none).
	Refresh(ctx context.Context, project string) error
	// Cooling reports whether the cooldown hides a file.
	Cooling(project string, f *index.MirrorFile) bool
	// CacheFile stores a file of a cached page, verified, and returns
	// its updated row.
	CacheFile(ctx context.Context, project string, f index.MirrorFile) (index.MirrorFile, error)
	// CacheMetadata stores a file's PEP 658 metadata; fetched reports an
	// upstream download (not a copy from the cached wheel).
	CacheMetadata(ctx context.Context, project string, f index.MirrorFile) (fetched bool, err error)
	// Metadata reads the core metadata of a cached file.
	Metadata(ctx context.Context, project, filename string) (dist.Metadata, error)
}

var _ Cache = (*mirror.Mirror)(nil)

// Deps are what syncs run on.
type Deps struct {
	// Mirror is the pull-through cache the files are fetched through.
	Mirror Cache
	// Catalog holds the cached pages, the hosted projects (whose
	// dependencies are followed) and the audit log.
	Catalog *index.Catalog
	// Store holds the files; a sync asks it what is stored already.
	Store storage.Store
	// Log receives warnings (nil: slog.Default()).
	Log *slog.Logger
	// Registerer gets the Scheduler's metrics; nil registers none. Run
	// keeps no metrics of its own (the mirror counts its fetches).
	Registerer prometheus.Registerer
}

func (d Deps) check() error {
	if d.Mirror == nil || d.Catalog == nil || d.Store == nil {
		return errors.New("mirror sync: a mirror, a catalog and a store are required")
	}
	return nil
}

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

// Options says what a sync fetches.
type Options struct {
	// Requirements are the projects to sync, each with optional extras,
	// version specifier and marker (a requirement whose marker cannot hold
	// for the filter's Pythons and platforms is skipped).
	Requirements []pep508.Requirement
	// Constraints narrow the versions of a project whenever it is synced
	// (pip's -c files); they add no project.
	Constraints []pep508.Requirement
	Filter      Filter
	// Deps follows Requires-Dist transitively, with markers evaluated for
	// the filter's Pythons and platforms and the requested extras.
	Deps bool
	// Jobs is how many upstream requests run at once (default 4).
	Jobs int
	// Progress, when set, is called (from several goroutines, one call at
	// a time) as files are planned and finished.
	Progress func(Event)
	// Actor, when set, writes audit entries: one per project that got
	// new files, and one for the run.
	Actor string
	// DryRun fetches no distribution file: it refreshes the pages, selects
	// the files (reported as EventMissing or EventPresent) and, with Deps,
	// follows the dependencies it can learn from PEP 658 metadata files
	// (fetched: they are small) or from files already stored.
	DryRun bool
}

// Event reports the progress of a sync.
type Event struct {
	Kind     string // EventPlanned, EventFetched, EventPresent or EventFailed
	Project  string
	Filename string
	Size     int64 // bytes; 0 when the upstream did not say
	Err      error // EventFailed
}

// The kinds of Event.
const (
	EventPlanned = "planned" // a file was selected
	EventFetched = "fetched" // downloaded and verified
	EventPresent = "present" // already stored: skipped
	EventFailed  = "failed"
	EventMissing = "missing" // a dry run: not stored, a real run fetches it
)

// File is one selected file and what became of it.
type File struct {
	Project  string `json:"project"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	// Size is the file's size in bytes: as stored, or as the upstream's
	// page says; nil (JSON null) when neither is known (an HTML-only
	// upstream gives no sizes, and the file is not stored).
	Size   *int64 `json:"size"`
	Status string `json:"status"` // fetched, present, missing or failed
	Error  string `json:"error,omitempty"`
}

// Failure is something a sync could not do.
type Failure struct {
	Project  string `json:"project"`
	Filename string `json:"filename,omitempty"`
	Error    string `json:"error"`
}

// Report summarizes a sync.
type Report struct {
	Projects []string `json:"projects"` // synced, sorted
	Files    []File   `json:"files"`    // selected, sorted by project and filename
	Fetched  int      `json:"fetched"`
	Present  int      `json:"skipped"` // already stored
	Failed   int      `json:"failed"`
	Bytes    int64    `json:"bytes"` // downloaded
	// Missing and MissingBytes count the files a dry run found not stored
	// (bytes as the upstream pages say); MissingUnknown counts those of
	// them whose size no page gives (not in MissingBytes).
	Missing        int           `json:"missing,omitempty"`
	MissingBytes   int64         `json:"missing_bytes,omitempty"`
	MissingUnknown int           `json:"missing_unknown_size,omitempty"`
	Failures       []Failure     `json:"failures"`
	Notes          []string      `json:"notes,omitempty"` // skipped requirements and the like
	Duration       time.Duration `json:"duration_ns"`
}

// OK reports whether the sync had no failure.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// Run fetches the selected files of the requested projects (and, with
// Deps, of their dependencies) from the upstream into the cache, exactly
// as the pull-through cache stores them: verified against the upstream's
// hashes, with their PEP 658 metadata, so that the server serves them
// afterwards with the upstream gone. Files already stored are skipped, so
// a second run fetches only what is new and an interrupted run continues
// where it stopped. Each project's page is refreshed first (a conditional
// request).
//
// Projects hosted here (and not in merge_upstream) are not fetched: the
// server would never serve their upstream files; with Deps the
// dependencies of their hosted releases are followed. Failures (an unreachable
// upstream, a hash mismatch) do not stop the run: they are in the report.
// Run returns an error only when it cannot run at all (offline mirror,
// invalid options) or ctx ends.
func Run(ctx context.Context, deps Deps, opts Options) (*Report, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	if deps.Mirror.Offline() {
		return nil, errors.New("the mirror is offline (mirror.offline): a sync needs the upstream")
	}
	if err := opts.Filter.Validate(); err != nil {
		return nil, err
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 4
	}
	start := time.Now()
	r := &syncRun{m: deps.Mirror, cat: deps.Catalog, store: deps.Store, log: deps.log(), opts: opts, envs: opts.Filter.environments(), sem: make(chan struct{}, opts.Jobs),
		projects: map[string]*projState{}, reqs: map[string]bool{}, files: map[string]*fileTask{},
		deps: map[string]bool{}, constraints: map[string][]pep440.SpecifierSet{}}
	for _, s := range opts.Filter.Pythons {
		p, _ := parsePython(s)
		r.pys = append(r.pys, p)
	}
	for _, c := range opts.Constraints {
		r.constraints[c.Name] = append(r.constraints[c.Name], c.Specifier)
	}
	for _, req := range opts.Requirements {
		if !r.markerHolds(req.Marker, nil) {
			r.note("%s: skipped, its marker %q holds for none of the chosen Pythons and platforms", req.Name, req.Marker)
			continue
		}
		req.Marker = nil
		r.add(ctx, req)
	}
	r.wg.Wait()
	rep := r.report(time.Since(start))
	if opts.Actor != "" {
		r.audit(ctx, rep)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// syncRun is the state of one Run.
type syncRun struct {
	m           Cache
	cat         *index.Catalog
	store       storage.Store
	log         *slog.Logger
	opts        Options
	envs        []pep508.Env
	pys         []python
	sem         chan struct{}
	constraints map[string][]pep440.SpecifierSet
	wg          sync.WaitGroup

	mu       sync.Mutex
	projects map[string]*projState
	reqs     map[string]bool // requirement keys seen
	files    map[string]*fileTask
	deps     map[string]bool // project/version[extras] seen
	failures []Failure
	notes    []string

	progressMu sync.Mutex
}

type projState struct {
	once   sync.Once
	page   *index.MirrorProject
	ok     bool
	hosted bool
}

type fileTask struct {
	project, version string
	file             index.MirrorFile
	done             chan struct{}
	status           string
	err              error
	bytes            int64 // downloaded
	size             int64 // of the stored file; 0 when not stored
}

func (r *syncRun) event(e Event) {
	if r.opts.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	r.opts.Progress(e)
}

func (r *syncRun) fail(project, filename string, err error) {
	r.mu.Lock()
	r.failures = append(r.failures, Failure{Project: project, Filename: filename, Error: err.Error()})
	r.mu.Unlock()
}

func (r *syncRun) note(format string, args ...any) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// acquire takes a job slot; false when the run is cancelled.
func (r *syncRun) acquire(ctx context.Context) bool {
	select {
	case r.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *syncRun) release() { <-r.sem }

// markerHolds evaluates a marker in every environment of the filter, with
// "extra" set to each of extras and to "".
func (r *syncRun) markerHolds(m *pep508.Marker, extras []string) bool {
	if m == nil {
		return true
	}
	for _, env := range r.envs {
		for _, x := range append([]string{""}, extras...) {
			e := cloneEnv(env)
			e["extra"] = x
			if m.Eval(e) {
				return true
			}
		}
	}
	return false
}

// add syncs one requirement (once per run).
func (r *syncRun) add(ctx context.Context, req pep508.Requirement) {
	key := req.Name + "[" + strings.Join(req.Extras, ",") + "]" + req.Specifier.String()
	r.mu.Lock()
	seen := r.reqs[key]
	r.reqs[key] = true
	r.mu.Unlock()
	if seen || ctx.Err() != nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.requirement(ctx, req)
	}()
}

// project refreshes and loads a project's page once per run. It returns
// false when there is no page to sync from (hosted says why).
func (r *syncRun) project(ctx context.Context, name string) (p *index.MirrorProject, ok, hosted bool) {
	r.mu.Lock()
	ps := r.projects[name]
	if ps == nil {
		ps = &projState{}
		r.projects[name] = ps
	}
	r.mu.Unlock()
	ps.once.Do(func() {
		if h, err := r.m.Hosted(ctx, name); err == nil && h {
			ps.hosted = true
			if r.opts.Deps {
				r.note("%s: hosted here; its upstream files are never served, so not synced (the dependencies of its hosted releases are)", name)
			} else {
				r.note("%s: hosted here; its upstream files are never served, so not synced", name)
			}
			return
		} else if err != nil {
			r.fail(name, "", err)
			return
		}
		if !r.acquire(ctx) {
			return
		}
		err := r.m.Refresh(ctx, name)
		r.release()
		if ctx.Err() != nil {
			return // interrupted: not a failure of the upstream
		}
		if errors.Is(err, index.ErrNotFound) {
			r.fail(name, "", fmt.Errorf("the upstream has no project %q", name))
			return
		}
		if err != nil {
			// Keep going with the cached page, if any: its files may be
			// all there is to check.
			r.fail(name, "", fmt.Errorf("refreshing the page: %w", err))
		}
		p, err := r.cat.MirrorPage(ctx, name)
		if err != nil {
			if !errors.Is(err, index.ErrNotFound) {
				r.fail(name, "", err)
			}
			return
		}
		ps.page, ps.ok = p, true
	})
	return ps.page, ps.ok, ps.hosted
}

// pinned reports whether a specifier pins an exact version (which lets a
// yanked file be chosen, as pip does).
func pinned(s pep440.SpecifierSet) bool {
	for _, sp := range s.Specifiers() {
		if (sp.Operator() == "==" || sp.Operator() == "===") && !strings.HasSuffix(sp.Version(), ".*") {
			return true
		}
	}
	return false
}

// requirement selects the files of one requirement and fetches them.
func (r *syncRun) requirement(ctx context.Context, req pep508.Requirement) {
	p, ok, hosted := r.project(ctx, req.Name)
	if hosted && r.opts.Deps {
		r.hostedDeps(ctx, req)
	}
	if !ok {
		return
	}
	pin := pinned(req.Specifier)
	var candidates []index.MirrorFile
	parsed := map[string]pep440.Version{}
	for _, f := range p.Files {
		if r.m.Cooling(req.Name, &f) {
			continue
		}
		if f.Yanked && !pin {
			continue
		}
		v, err := fileVersion(f.Filename)
		if err != nil {
			continue // a legacy version: no specifier can choose it
		}
		candidates = append(candidates, f)
		parsed[f.Filename] = v
	}
	// Versions are chosen for each target (Python x platform) apart: with
	// --latest 1, a Python 3.11 machine needs the newest release that has
	// a file for 3.11, even when a newer one exists only for 3.12.
	chosen := map[string]pep440.Version{}    // version -> parsed
	files := map[string][]index.MirrorFile{} // version -> files chosen
	picked := map[string]bool{}              // filename
	for _, tg := range r.targets() {
		byVersion := map[string][]index.MirrorFile{}
		var versions []pep440.Version
		for _, f := range candidates {
			if ok, _ := tg.filter.keepFile(&f, tg.pys); !ok {
				continue
			}
			v := parsed[f.Filename]
			if byVersion[v.String()] == nil {
				versions = append(versions, v)
			}
			byVersion[v.String()] = append(byVersion[v.String()], f)
		}
		for _, v := range tg.filter.selectVersions(versions, req, r.constraints[req.Name]) {
			chosen[v.String()] = v
			for _, f := range byVersion[v.String()] {
				if !picked[f.Filename] {
					picked[f.Filename] = true
					files[v.String()] = append(files[v.String()], f)
				}
			}
		}
	}
	if len(chosen) == 0 {
		r.note("%s: no file matches %s and the filters", req.Name, req.String())
	}
	if r.opts.Filter.MaxFileSize > 0 {
		unknown := 0
		for _, fs := range files {
			for _, f := range fs {
				if f.Size <= 0 {
					unknown++
				}
			}
		}
		if unknown > 0 {
			r.note("%s: --max-file-size cannot apply to %d files whose size the upstream does not give (an HTML-only upstream); they are kept", req.Name, unknown)
		}
	}
	for vs := range chosen {
		var tasks []*fileTask
		for _, f := range files[vs] {
			tasks = append(tasks, r.fetch(ctx, req.Name, vs, f))
		}
		if r.opts.Deps {
			r.followDeps(ctx, req, vs, tasks)
		}
	}
}

// target is one Python and platform of the filter (either may be open).
type target struct {
	filter Filter
	pys    []python
}

// targets returns the filter split by Python and platform: every
// combination, each with one Python (or any) and one platform (or any).
func (r *syncRun) targets() []target {
	pys := [][]python{nil}
	if len(r.pys) > 0 {
		pys = nil
		for _, p := range r.pys {
			pys = append(pys, []python{p})
		}
	}
	plats := [][]string{nil}
	if len(r.opts.Filter.Platforms) > 0 {
		plats = nil
		for _, p := range r.opts.Filter.Platforms {
			plats = append(plats, []string{p})
		}
	}
	var out []target
	for _, py := range pys {
		for _, pl := range plats {
			f := r.opts.Filter
			f.Platforms = pl
			out = append(out, target{filter: f, pys: py})
		}
	}
	return out
}

// fetch starts fetching a file (once per run) and returns its task.
func (r *syncRun) fetch(ctx context.Context, project, version string, f index.MirrorFile) *fileTask {
	key := project + "/" + f.Filename
	r.mu.Lock()
	t := r.files[key]
	if t != nil {
		r.mu.Unlock()
		return t
	}
	t = &fileTask{project: project, version: version, file: f, done: make(chan struct{})}
	r.files[key] = t
	r.mu.Unlock()
	r.event(Event{Kind: EventPlanned, Project: project, Filename: f.Filename, Size: f.Size})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(t.done)
		t.status, t.bytes, t.size, t.err = r.fetchFile(ctx, project, f)
		if t.err != nil {
			t.status = EventFailed
			if ctx.Err() == nil {
				r.fail(project, f.Filename, t.err)
			}
		}
		r.event(Event{Kind: t.status, Project: project, Filename: f.Filename, Size: f.Size, Err: t.err})
	}()
	return t
}

// fetchFile makes sure a file and its PEP 658 metadata are stored. It
// returns EventPresent when nothing had to be downloaded, the bytes
// downloaded, and the size of the stored file (0 when a dry run found it
// missing).
func (r *syncRun) fetchFile(ctx context.Context, project string, f index.MirrorFile) (string, int64, int64, error) {
	m := r.m
	if !r.acquire(ctx) {
		return "", 0, 0, ctx.Err()
	}
	defer r.release()
	if r.opts.DryRun {
		if r.stored(ctx, f.BlobKey) {
			return EventPresent, 0, f.Size, nil
		}
		if r.opts.Deps && f.UpstreamMetadata != "" && !r.stored(ctx, storage.Key(f.UpstreamMetadata)) {
			if _, err := m.CacheMetadata(ctx, project, f); err != nil {
				return "", 0, 0, fmt.Errorf("metadata: %w", err)
			}
		}
		return EventMissing, 0, 0, nil
	}
	status := EventPresent
	var n int64
	if !r.stored(ctx, f.BlobKey) {
		// The same bytes may be stored already (a hosted file, or a run
		// interrupted between storing and recording): then the row is
		// only recorded, nothing downloaded.
		had := f.Hashes["sha256"] != "" && r.stored(ctx, storage.Key(f.Hashes["sha256"]))
		cf, err := m.CacheFile(ctx, project, f)
		if err != nil {
			return "", 0, 0, err
		}
		f = cf
		if !had {
			status, n = EventFetched, cf.Size
		}
	}
	if f.UpstreamMetadata != "" && !r.stored(ctx, storage.Key(f.UpstreamMetadata)) {
		fetched, err := m.CacheMetadata(ctx, project, f)
		if err != nil {
			return "", n, f.Size, fmt.Errorf("metadata: %w", err)
		}
		if fetched && status == EventPresent {
			status = EventFetched
		}
	}
	return status, n, f.Size, nil
}

func (r *syncRun) stored(ctx context.Context, key string) bool {
	if key == "" {
		return false
	}
	_, err := r.store.Stat(ctx, key)
	return err == nil
}

// followDeps reads the Requires-Dist of a chosen version (from its
// wheels' metadata, else its sdist's) once its files are fetched, and
// syncs the dependencies whose markers can hold.
func (r *syncRun) followDeps(ctx context.Context, req pep508.Requirement, version string, tasks []*fileTask) {
	key := req.Name + "/" + version + "[" + strings.Join(req.Extras, ",") + "]"
	r.mu.Lock()
	seen := r.deps[key]
	r.deps[key] = true
	r.mu.Unlock()
	if seen {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for _, t := range tasks {
			select {
			case <-t.done:
			case <-ctx.Done():
				return
			}
		}
		deps, err := r.requiresDist(ctx, req.Name, tasks)
		if err != nil && r.opts.DryRun {
			r.note("%s %s: dependencies not followed in a dry run (no PEP 658 metadata upstream, and not stored)", req.Name, version)
			return
		}
		if err != nil {
			r.fail(req.Name, "", fmt.Errorf("dependencies of %s: %w", version, err))
			return
		}
		r.addDeps(ctx, req, version, deps)
	}()
}

// addDeps syncs the dependencies (Requires-Dist) of a version of req
// whose markers can hold for the filter and req's extras. A dependency
// that does not parse (a direct reference, or metadata built to be hostile:
// the parser refuses what is too long or nested too deep) is skipped with
// a note in the report and a warning in the log; the run goes on.
func (r *syncRun) addDeps(ctx context.Context, req pep508.Requirement, version string, deps []string) {
	for _, d := range deps {
		dr, err := pep508.ParseRequirement(d)
		if err != nil {
			// err quotes at most the start of d; so does the note.
			if len(d) > 100 {
				d = d[:100] + "..."
			}
			r.note("%s %s: dependency %q not followed: %v", req.Name, version, d, err)
			if !errors.Is(err, pep508.ErrUnsupported) {
				r.log.Warn("mirror sync: a dependency does not parse; not followed", "project", req.Name, "version", version, "err", err)
			}
			continue
		}
		if !r.markerHolds(dr.Marker, req.Extras) {
			continue
		}
		dr.Marker = nil
		r.add(ctx, dr)
	}
}

// requiresDist returns the union of the Requires-Dist of a version's
// wheels, or of its sdist when it has no wheel selected.
func (r *syncRun) requiresDist(ctx context.Context, project string, tasks []*fileTask) ([]string, error) {
	var wheels, sdists []*fileTask
	for _, t := range tasks {
		if strings.HasSuffix(t.file.Filename, ".whl") {
			wheels = append(wheels, t)
		} else {
			sdists = append(sdists, t)
		}
	}
	use := wheels
	if len(use) == 0 {
		use = sdists
	}
	seen := map[string]bool{}
	var out []string
	var lastErr error
	found := false
	for _, t := range use {
		md, err := r.m.Metadata(ctx, project, t.file.Filename)
		if err != nil {
			lastErr = err
			continue
		}
		found = true
		for _, d := range md.RequiresDist {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	if !found {
		if lastErr == nil {
			lastErr = errors.New("no metadata")
		}
		return nil, lastErr
	}
	return out, nil
}

func (r *syncRun) report(d time.Duration) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Projects: []string{}, Files: []File{}, Failures: r.failures, Notes: r.notes, Duration: d}
	if rep.Failures == nil {
		rep.Failures = []Failure{}
	}
	for name, ps := range r.projects {
		if ps.ok {
			rep.Projects = append(rep.Projects, name)
		}
	}
	slices.Sort(rep.Projects)
	for _, t := range r.files {
		sf := File{Project: t.project, Version: t.version, Filename: t.file.Filename, Status: t.status}
		if t.size > 0 || t.file.Size > 0 {
			n := max(t.size, t.file.Size)
			sf.Size = &n
		}
		if t.err != nil {
			sf.Error = t.err.Error()
		}
		switch t.status {
		case EventFetched:
			rep.Fetched++
			rep.Bytes += t.bytes
		case EventPresent:
			rep.Present++
		case EventMissing:
			rep.Missing++
			if sf.Size == nil {
				rep.MissingUnknown++
			} else {
				rep.MissingBytes += *sf.Size
			}
		default:
			sf.Status = EventFailed
			rep.Failed++
		}
		rep.Files = append(rep.Files, sf)
	}
	slices.SortFunc(rep.Files, func(a, b File) int {
		if c := strings.Compare(a.Project, b.Project); c != 0 {
			return c
		}
		return strings.Compare(a.Filename, b.Filename)
	})
	slices.SortFunc(rep.Failures, func(a, b Failure) int {
		if c := strings.Compare(a.Project, b.Project); c != 0 {
			return c
		}
		return strings.Compare(a.Filename, b.Filename)
	})
	slices.Sort(rep.Notes)
	return rep
}

// audit writes one entry per project that got new files, and one for the
// run. Audit failures are logged, not fatal.
func (r *syncRun) audit(ctx context.Context, rep *Report) {
	ctx = context.WithoutCancel(ctx)
	perProject := map[string][2]int64{}
	for _, f := range rep.Files {
		if f.Status == EventFetched {
			c := perProject[f.Project]
			c[0]++
			if f.Size != nil {
				c[1] += *f.Size // a fetched file's size is known: it is stored
			}
			perProject[f.Project] = c
		}
	}
	var events []index.Event
	for _, p := range rep.Projects {
		if c, ok := perProject[p]; ok {
			events = append(events, index.Event{Actor: r.opts.Actor, Action: "mirror sync", Project: p,
				Detail: fmt.Sprintf("fetched %d files, %d bytes", c[0], c[1])})
		}
	}
	events = append(events, index.Event{Actor: r.opts.Actor, Action: "mirror sync",
		Detail: fmt.Sprintf("projects=%d files=%d fetched=%d skipped=%d failed=%d bytes=%d failures=%d",
			len(rep.Projects), len(rep.Files), rep.Fetched, rep.Present, rep.Failed, rep.Bytes, len(rep.Failures))})
	for _, e := range events {
		if err := r.cat.Audit(ctx, e); err != nil {
			r.log.Warn("writing a sync audit entry", "err", err)
		}
	}
}

// hostedDeps follows the dependencies of the hosted releases of a project
// a requirement selects (by the same version filters): a site's own
// packages pull in the public projects they need.
func (r *syncRun) hostedDeps(ctx context.Context, req pep508.Requirement) {
	_, releases, err := r.cat.ProjectDetail(ctx, req.Name)
	if err != nil {
		r.fail(req.Name, "", fmt.Errorf("hosted releases: %w", err))
		return
	}
	byVersion := map[string]*index.Release{}
	var versions []pep440.Version
	pin := pinned(req.Specifier)
	for _, rel := range releases {
		if rel.Yanked && !pin {
			continue
		}
		kept := false
		for _, f := range rel.Files {
			mf := index.MirrorFile{Filename: f.Filename, RequiresPython: f.RequiresPython, Size: f.Size}
			if ok, _ := r.opts.Filter.keepFile(&mf, r.pys); ok && !f.Yanked {
				kept = true
			}
		}
		if !kept {
			continue
		}
		v := rel.Parsed()
		byVersion[v.String()] = rel
		versions = append(versions, v)
	}
	for _, v := range r.opts.Filter.selectVersions(versions, req, r.constraints[req.Name]) {
		r.addDeps(ctx, req, v.String(), byVersion[v.String()].Metadata.RequiresDist)
	}
}

// fileVersion returns the version of a distribution filename, or an error
// when the name does not parse or its version is not PEP 440 (a legacy
// version no specifier can choose).
func fileVersion(filename string) (pep440.Version, error) {
	fn, err := dist.ParseFilename(filename)
	if err != nil {
		return pep440.Version{}, err
	}
	return pep440.Parse(fn.Version)
}
