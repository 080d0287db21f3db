package index

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// PruneRules say which development builds (PEP 440 ".devN" versions) to
// delete. A dev build goes when any rule selects it; final releases,
// pre-releases and post-releases without a dev segment are never touched.
// At least one rule must be set.
type PruneRules struct {
	// Projects limits pruning to these projects (any spelling); empty
	// means every project.
	Projects []string `json:"projects,omitempty"`
	// KeepDev keeps the KeepDev newest dev builds (by PEP 440) of each base
	// release (epoch and release segment: 1.2.dev4, 1.2rc1.dev2 and
	// 1.2.post1.dev1 all count towards 1.2) and selects the older ones.
	// 0 disables the rule.
	KeepDev int `json:"keep_dev"`
	// DevOlderThan selects dev builds whose newest file was uploaded longer
	// ago than this. 0 disables the rule.
	DevOlderThan time.Duration `json:"dev_older_than"`
	// ReleasedDev selects the dev builds that a non-dev release of the same
	// base supersedes: X.devN goes once X (or X.postM) exists, and
	// X.rcK.devN once X.rcK, or anything newer of the base, exists. A
	// local label is ignored.
	ReleasedDev bool `json:"released_dev"`
}

// Validate returns ErrInvalid for negative values or when no rule is set.
func (r PruneRules) Validate() error {
	var bad []string
	if r.KeepDev < 0 {
		bad = append(bad, "keep_dev must not be negative")
	}
	if r.DevOlderThan < 0 {
		bad = append(bad, "dev_older_than must not be negative")
	}
	if r.KeepDev == 0 && r.DevOlderThan == 0 && !r.ReleasedDev {
		bad = append(bad, "give at least one rule: keep_dev, dev_older_than or released_dev")
	}
	for _, p := range r.Projects {
		if !pep503.Valid(p) {
			bad = append(bad, fmt.Sprintf("project name %q", p))
		}
	}
	if len(bad) > 0 {
		return Errorf(ErrInvalid, "%s", strings.Join(bad, "; ")) // every problem, in one message
	}
	return nil
}

// PrunedRelease is one dev build a prune deletes, with the rules that
// selected it ("keep_dev", "dev_older_than", "released_dev").
type PrunedRelease struct {
	Project string   `json:"project"`
	Version string   `json:"version"`
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
	Reasons []string `json:"reasons"`

	id        int64
	projectID int64
}

// PrunePlan is what a prune deletes (or, in a dry run, would delete):
// releases sorted by project and PEP 440 version, and their files.
type PrunePlan struct {
	Releases []PrunedRelease
	Removal
}

type pruneRel struct {
	id, projectID int64
	project       string
	version       string
	v             pep440.Version
	newest        int64 // newest upload time (µs); created_at when no file
	files         []File
}

// PlanPrune returns what PruneRows would delete now, changing nothing (the
// dry run: PruneRows deletes exactly this when the catalog has not changed
// meanwhile). It returns ErrInvalid for bad rules.
func (c *Catalog) PlanPrune(ctx context.Context, rules PruneRules) (PrunePlan, error) {
	if err := rules.Validate(); err != nil {
		return PrunePlan{}, err
	}
	var plan PrunePlan
	now := c.now()
	err := c.read(ctx, func(tx *sql.Tx) error {
		var err error
		plan, err = planPrune(ctx, tx, rules, now)
		return err
	})
	return plan, err
}

// PruneRows deletes the rows of the dev builds the rules select, in one
// transaction that bumps the serial and each touched project's last serial
// and writes one audit entry ("prune") per deleted file and per deleted empty release.
// The blobs are left to the caller (see Removal.Blobs). It returns
// ErrInvalid for bad rules.
func (c *Catalog) PruneRows(ctx context.Context, rules PruneRules, who Actor) (PrunePlan, error) {
	if err := rules.Validate(); err != nil {
		return PrunePlan{}, err
	}
	var plan PrunePlan
	now := c.now()
	err := c.write(ctx, func(tx *sql.Tx) error {
		var err error
		plan, err = planPrune(ctx, tx, rules, now)
		if err != nil || len(plan.Releases) == 0 {
			return err
		}
		var touched []int64
		for _, r := range plan.Releases {
			if _, err := tx.ExecContext(ctx, `DELETE FROM releases WHERE id = ?`, r.id); err != nil {
				return err
			}
			if !slices.Contains(touched, r.projectID) {
				touched = append(touched, r.projectID)
			}
			if r.Files == 0 {
				if err := audit(ctx, tx, now.UnixMicro(), Event{Actor: who.Name, Action: "prune", Project: r.Project,
					Version: r.Version, RemoteAddr: who.RemoteAddr, Detail: strings.Join(r.Reasons, ",")}); err != nil {
					return err
				}
			}
		}
		reasons := map[int64]string{}
		for _, r := range plan.Releases {
			reasons[r.id] = strings.Join(r.Reasons, ",")
		}
		for _, f := range plan.Files {
			if err := audit(ctx, tx, now.UnixMicro(), Event{Actor: who.Name, Action: "prune", Project: f.Project,
				Version: f.Version, Filename: f.Filename, RemoteAddr: who.RemoteAddr, Detail: reasons[f.ReleaseID]}); err != nil {
				return err
			}
		}
		return c.touchProjects(ctx, tx, touched...)
	})
	return plan, err
}

// planPrune computes the plan from one snapshot, the same way for the dry
// run and the real one.
func planPrune(ctx context.Context, tx *sql.Tx, rules PruneRules, now time.Time) (PrunePlan, error) {
	var names []string
	for _, p := range rules.Projects {
		names = append(names, pep503.Normalize(p))
	}
	q := `SELECT r.id, r.project_id, p.name, r.version, r.created_at FROM releases r JOIN projects p ON p.id = r.project_id`
	var args []any
	if len(names) > 0 {
		q += ` WHERE p.name IN (?` + strings.Repeat(",?", len(names)-1) + `)`
		for _, n := range names {
			args = append(args, n)
		}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return PrunePlan{}, err
	}
	byProject := map[string][]*pruneRel{}
	byID := map[int64]*pruneRel{}
	for rows.Next() {
		r := &pruneRel{}
		if err := rows.Scan(&r.id, &r.projectID, &r.project, &r.version, &r.newest); err != nil {
			rows.Close()
			return PrunePlan{}, err
		}
		v, err := pep440.Parse(r.version)
		if err != nil {
			rows.Close()
			return PrunePlan{}, fmt.Errorf("release %s %s: stored version does not parse: %w", r.project, r.version, err)
		}
		r.v = v
		byProject[r.project] = append(byProject[r.project], r)
		byID[r.id] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return PrunePlan{}, err
	}
	// The files of dev releases only: the others are never deleted.
	fq := `SELECT ` + fileColumns + fileJoins
	if len(names) > 0 {
		fq += `WHERE p.name IN (?` + strings.Repeat(",?", len(names)-1) + `)`
	}
	rows, err = tx.QueryContext(ctx, fq+` ORDER BY f.filename`, args...)
	if err != nil {
		return PrunePlan{}, err
	}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			rows.Close()
			return PrunePlan{}, err
		}
		if r := byID[f.ReleaseID]; r != nil && r.v.IsDevrelease() {
			if len(r.files) == 0 || f.UploadTime.UnixMicro() > r.newest {
				r.newest = f.UploadTime.UnixMicro()
			}
			r.files = append(r.files, f)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return PrunePlan{}, err
	}

	projects := make([]string, 0, len(byProject))
	for p := range byProject {
		projects = append(projects, p)
	}
	slices.Sort(projects)
	var plan PrunePlan
	for _, p := range projects {
		for _, sel := range selectDev(byProject[p], rules, now) {
			r := sel.rel
			pr := PrunedRelease{Project: r.project, Version: r.version, Files: len(r.files), Reasons: sel.reasons,
				id: r.id, projectID: r.projectID}
			for _, f := range r.files {
				pr.Bytes += f.Size
			}
			plan.Releases = append(plan.Releases, pr)
			plan.add(r.files)
		}
	}
	return plan, nil
}

type selected struct {
	rel     *pruneRel
	reasons []string
}

// selectDev applies the rules to one project's releases and returns the
// selected dev builds, oldest version first.
func selectDev(rels []*pruneRel, rules PruneRules, now time.Time) []selected {
	slices.SortStableFunc(rels, func(a, b *pruneRel) int { return pep440.Compare(a.v, b.v) })
	reasons := map[*pruneRel][]string{}
	pick := func(r *pruneRel, why string) { reasons[r] = append(reasons[r], why) }

	// Dev builds by base release, newest first.
	groups := map[string][]*pruneRel{}
	var finals []*pruneRel // every non-dev release
	for _, r := range rels {
		if r.v.IsDevrelease() {
			base := r.v.BaseVersion().Canonical()
			groups[base] = append(groups[base], r)
		} else {
			finals = append(finals, r)
		}
	}
	for _, r := range rels {
		if !r.v.IsDevrelease() {
			continue
		}
		if rules.KeepDev > 0 {
			g := groups[r.v.BaseVersion().Canonical()]
			// g is oldest first; r is among the KeepDev newest when fewer
			// than KeepDev builds of the base sort after it.
			newer := 0
			for _, o := range g {
				if pep440.Compare(o.v, r.v) > 0 {
					newer++
				}
			}
			if newer >= rules.KeepDev {
				pick(r, "keep_dev")
			}
		}
		if rules.DevOlderThan > 0 && now.Sub(time.UnixMicro(r.newest)) > rules.DevOlderThan {
			pick(r, "dev_older_than")
		}
		if rules.ReleasedDev && released(r.v, finals) {
			pick(r, "released_dev")
		}
	}
	var out []selected
	for _, r := range rels {
		if why := reasons[r]; len(why) > 0 {
			out = append(out, selected{rel: r, reasons: why})
		}
	}
	return out
}

// released reports whether a non-dev release of dev's base is at least the
// version dev leads to (dev without its dev segment and local label).
func released(dev pep440.Version, finals []*pruneRel) bool {
	n, _ := dev.Dev()
	target, err := pep440.Parse(strings.TrimSuffix(dev.Public().String(), ".dev"+n))
	if err != nil {
		return false
	}
	base := dev.BaseVersion().Canonical()
	for _, f := range finals {
		if f.v.BaseVersion().Canonical() == base && pep440.Compare(f.v.Public(), target) >= 0 {
			return true
		}
	}
	return false
}
