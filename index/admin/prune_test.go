package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
)

// rel is one release to seed: project, version and age (upload time
// before the test's "now").
type rel struct {
	project, version string
	age              time.Duration
}

func (en *adminEnv) seedAll(rels []rel, now time.Time) {
	en.t.Helper()
	for _, r := range rels {
		p := r.project
		if p == "" {
			p = "acme-util"
		}
		en.clock.set(now.Add(-r.age))
		en.seed(p, r.version)
	}
	en.clock.set(now)
}

func planVersions(plan index.PrunePlan) []string {
	out := []string{}
	for _, r := range plan.Releases {
		out = append(out, r.Project+" "+r.Version+" "+strings.Join(r.Reasons, ","))
	}
	return out
}

func vs(versions ...string) []rel {
	var out []rel
	for _, v := range versions {
		out = append(out, rel{version: v})
	}
	return out
}

// TestPrunePlans runs the rules on tricky version sets. Plans list
// "project version reasons", by project then PEP 440 version.
func TestPrunePlans(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		name  string
		rels  []rel
		rules index.PruneRules
		want  []string
	}{
		{
			name:  "keep_dev orders dev numbers numerically",
			rels:  vs("1.0.dev1", "1.0.dev10", "1.0.dev2", "1.0", "0.9"),
			rules: index.PruneRules{KeepDev: 2},
			want:  []string{"acme-util 1.0.dev1 keep_dev"},
		},
		{
			name:  "keep_dev per base release, epochs apart",
			rels:  vs("1.0.dev1", "1.0.dev2", "1.0.dev3", "1.1.dev1", "1.1.dev2", "2!1.0.dev1", "2!1.0.dev2", "1.0.0.dev4"),
			rules: index.PruneRules{KeepDev: 1},
			want: []string{"acme-util 1.0.dev1 keep_dev", "acme-util 1.0.dev2 keep_dev", "acme-util 1.0.dev3 keep_dev",
				"acme-util 1.1.dev1 keep_dev", "acme-util 2!1.0.dev1 keep_dev"},
		},
		{
			name:  "dev builds of pre and post releases count for their base; pre-releases stay",
			rels:  vs("1.0.dev5", "1.0rc1.dev1", "1.0rc1.dev2", "1.0.post1.dev1", "1.0a1", "1.0rc1", "1.0b2"),
			rules: index.PruneRules{KeepDev: 2},
			want:  []string{"acme-util 1.0.dev5 keep_dev", "acme-util 1.0rc1.dev1 keep_dev"},
		},
		{
			name:  "released_dev",
			rels:  vs("1.0.dev1", "1.0rc1.dev1", "1.0rc1", "1.0.post1.dev1", "1.0", "1.1.dev3", "1.1rc1", "1.2rc2.dev1", "1.2rc1"),
			rules: index.PruneRules{ReleasedDev: true},
			want:  []string{"acme-util 1.0.dev1 released_dev", "acme-util 1.0rc1.dev1 released_dev"},
		},
		{
			name:  "released_dev: a post release releases its dev builds and the base's",
			rels:  vs("1.0.post1.dev1", "1.0.dev1", "1.0.post1", "1.0.post2.dev1"),
			rules: index.PruneRules{ReleasedDev: true},
			want:  []string{"acme-util 1.0.dev1 released_dev", "acme-util 1.0.post1.dev1 released_dev"},
		},
		{
			name:  "local versions are distinct builds; a local final releases",
			rels:  vs("1.0.dev1+g123", "1.0.dev2+gabc", "1.0.dev2+gdef", "1.0.dev2", "2.0+local"),
			rules: index.PruneRules{KeepDev: 2},
			want:  []string{"acme-util 1.0.dev1+g123 keep_dev", "acme-util 1.0.dev2 keep_dev"},
		},
		{
			name:  "released_dev ignores the local label",
			rels:  vs("1.0.dev1+g123", "1.0.dev2", "1.0+local", "1.1.dev1"),
			rules: index.PruneRules{ReleasedDev: true},
			want:  []string{"acme-util 1.0.dev1+g123 released_dev", "acme-util 1.0.dev2 released_dev"},
		},
		{
			name: "dev_older_than uses the upload time and spares finals",
			rels: []rel{{version: "1.0.dev1", age: 40 * day}, {version: "1.0.dev2", age: 10 * day},
				{version: "1.0rc1", age: 100 * day}, {version: "0.9", age: 200 * day}, {version: "2.0.dev1", age: 31 * day}},
			rules: index.PruneRules{DevOlderThan: 30 * day},
			want:  []string{"acme-util 1.0.dev1 dev_older_than", "acme-util 2.0.dev1 dev_older_than"},
		},
		{
			name: "rules combine: any rule selects",
			rels: []rel{{version: "1.0.dev1"}, {version: "1.0.dev2"}, {version: "1.0.dev3"}, {version: "1.0"},
				{version: "1.1.dev1", age: 60 * 24 * time.Hour}, {version: "1.1.dev2"}},
			rules: index.PruneRules{KeepDev: 2, ReleasedDev: true, DevOlderThan: 30 * day},
			want: []string{"acme-util 1.0.dev1 keep_dev,released_dev", "acme-util 1.0.dev2 released_dev",
				"acme-util 1.0.dev3 released_dev", "acme-util 1.1.dev1 dev_older_than"},
		},
		{
			name: "several projects, limited to some",
			rels: []rel{{project: "beta", version: "1.0.dev1"}, {project: "beta", version: "1.0.dev2"},
				{project: "gamma", version: "1.0.dev1"}, {project: "gamma", version: "1.0.dev2"}, {project: "acme-util", version: "1.0.dev1"}, {project: "acme-util", version: "1.0.dev2"}},
			rules: index.PruneRules{KeepDev: 1, Projects: []string{"Beta", "acme_util"}},
			want:  []string{"acme-util 1.0.dev1 keep_dev", "beta 1.0.dev1 keep_dev"},
		},
		{
			name:  "finals, pre and post releases only",
			rels:  vs("1.0", "1.0a1", "1.0.post1", "1.0rc1", "2!0.1"),
			rules: index.PruneRules{KeepDev: 1, ReleasedDev: true, DevOlderThan: time.Nanosecond},
			want:  []string{},
		},
	}
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			en := newAdminEnv(t)
			en.seedAll(tc.rels, now)
			plan, err := en.cat.PlanPrune(context.Background(), tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := planVersions(plan); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan\n got %q\nwant %q", got, tc.want)
			}
			var files int
			var bytes int64
			for _, r := range plan.Releases {
				files += r.Files
				bytes += r.Bytes
			}
			if files != len(plan.Files) || bytes != plan.Bytes {
				t.Errorf("plan totals: %d files %d bytes, releases say %d %d", len(plan.Files), plan.Bytes, files, bytes)
			}
			// The real run deletes exactly the plan.
			real, err := en.cat.PruneRows(context.Background(), tc.rules, index.Actor{Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if got := planVersions(real); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("real run\n got %q\nwant %q", got, tc.want)
			}
			again, _ := en.cat.PlanPrune(context.Background(), tc.rules)
			if len(again.Releases) != 0 && tc.rules.KeepDev == 0 {
				t.Errorf("a second plan still selects %q", planVersions(again))
			}
		})
	}
}

func TestPruneRulesInvalid(t *testing.T) {
	en := newAdminEnv(t)
	for _, body := range []string{
		`{}`, `{"keep_dev": -1}`, `{"dev_older_than": "a month"}`, `{"dev_older_than": "-5h"}`,
		`{"keep_dev": 1, "project": "-bad-"}`, `{"keep_dev": 1, "dryrun": true}`, `[1]`,
	} {
		rec := en.call("POST", "/api/v1/prune", en.rootAuth, body, nil)
		if rec.Code != 400 {
			t.Errorf("%s: status %d: %s", body, rec.Code, rec.Body.String())
			continue
		}
		errorBody(t, rec)
	}
}

type pruneAnswer struct {
	Files    []admin.FileInfo      `json:"files"`
	Releases []index.PrunedRelease `json:"releases"`
	Bytes    int64                 `json:"bytes"`
	DryRun   bool                  `json:"dry_run"`
	Freed    *int64                `json:"freed"`
}

// TestPruneAPI: the dry run reports exactly what the real run deletes; the
// real run removes rows, pages and unshared blobs, keeps shared blobs and
// writes audit entries.
func TestPruneAPI(t *testing.T) {
	en := newAdminEnv(t)
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	en.seedAll(vs("1.0.dev1", "1.0.dev2", "1.0.dev3", "1.0rc1", "1.1.dev1"), now)
	dev2, _ := en.cat.File(context.Background(), "acme_util-1.0.dev2-py3-none-any.whl")
	// The final 1.0 was uploaded from the very bytes of 1.0.dev2 (a
	// shared blob): pruning 1.0.dev2 must keep it.
	final := en.share(dev2, "acme-util", "acme_util-1.0-py3-none-any.whl", "1.0")
	dev1, _ := en.cat.File(context.Background(), "acme_util-1.0.dev1-py3-none-any.whl")
	beta := en.seed("beta", "1.0.dev1")
	serial, _ := en.cat.ProjectSerial(context.Background(), "acme-util")

	body := map[string]any{"project": "Acme.Util", "keep_dev": 1, "released_dev": true, "dry_run": true}
	var dry pruneAnswer
	if rec := en.call("POST", "/api/v1/prune", en.rootAuth, body, &dry); rec.Code != 200 {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body.String())
	}
	if !dry.DryRun || dry.Freed != nil || len(dry.Releases) != 3 || len(dry.Files) != 3 {
		t.Fatalf("dry run %+v", dry)
	}
	if s, _ := en.cat.ProjectSerial(context.Background(), "acme-util"); s != serial || !en.exists(dev1.BlobKey) {
		t.Fatal("the dry run changed something")
	}
	body["dry_run"] = false
	var real pruneAnswer
	if rec := en.call("POST", "/api/v1/prune", en.rootAuth, body, &real); rec.Code != 200 {
		t.Fatalf("prune: %d %s", rec.Code, rec.Body.String())
	}
	if real.DryRun || real.Freed == nil {
		t.Fatalf("prune %+v", real)
	}
	dj, _ := json.Marshal([]any{dry.Files, dry.Releases, dry.Bytes})
	rj, _ := json.Marshal([]any{real.Files, real.Releases, real.Bytes})
	if string(dj) != string(rj) {
		t.Errorf("dry run and real run differ:\n dry %s\nreal %s", dj, rj)
	}
	var got []string
	for _, f := range real.Files {
		got = append(got, f.Version)
	}
	if strings.Join(got, " ") != "1.0.dev1 1.0.dev2 1.0.dev3" {
		t.Errorf("pruned %v", got)
	}
	if en.exists(dev1.BlobKey) || en.exists(dev1.MetadataKey) {
		t.Error("a pruned blob is still stored")
	}
	if !en.exists(final.BlobKey) || !en.exists(final.MetadataKey) {
		t.Error("the blob the final release shares with a pruned dev build is gone")
	}
	if *real.Freed == 0 {
		t.Errorf("freed %d of %d bytes", *real.Freed, real.Bytes)
	}
	if !en.exists(beta.BlobKey) {
		t.Error("another project was pruned")
	}
	if s, _ := en.cat.ProjectSerial(context.Background(), "acme-util"); s <= serial {
		t.Error("the project serial did not move")
	}
	page := en.call("GET", "/simple/acme-util/", "", nil, nil).Body.String()
	if strings.Contains(page, "acme_util-1.0.dev") {
		t.Errorf("pruned files still listed:\n%s", page)
	}
	if !strings.Contains(page, "acme_util-1.1.dev1") || !strings.Contains(page, "acme_util-1.0rc1") {
		t.Errorf("kept files missing:\n%s", page)
	}
	events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Action: "prune"})
	if len(events) != 3 || events[0].Actor != "root" || events[0].Filename == "" || events[0].Detail == "" {
		t.Errorf("audit %+v", events)
	}
}

func TestRetention(t *testing.T) {
	en := newAdminEnv(t)
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	en.seedAll(vs("1.0.dev1", "1.0.dev2", "1.0.dev3", "1.0"), now)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := admin.DefaultRetentionConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("disabled defaults: %v", err)
	}
	cfg.Enabled, cfg.Interval, cfg.KeepDev = true, 10*time.Millisecond, 1
	r, err := admin.NewRetention(cfg, admin.Deps{Catalog: en.cat, Store: en.store, Log: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	// A second one on the same registry shares the counter.
	r2, err := admin.NewRetention(cfg, admin.Deps{Catalog: en.cat, Store: en.store, Log: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if admin.FreedCounter(r2) != admin.FreedCounter(r) {
		t.Error("the second Retention on reg has a counter of its own")
	}
	if n, err := testutil.GatherAndCount(reg, "pyindex_retention_bytes_freed_total"); err != nil || n != 1 {
		t.Errorf("pyindex_retention_bytes_freed_total on reg: %d series, %v", n, err)
	}
	freedValue := func() float64 { return testutil.ToFloat64(admin.FreedCounter(r)) }
	r.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Actor: admin.RetentionActor})
		// The audit entries commit before the blobs go and the counter
		// moves; wait for both so that Stop does not cancel the deletion.
		if len(events) == 2 && freedValue() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not run: %+v", events)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop()
	r.Stop()
	r2.Stop() // never started
	freed := freedValue()
	if freed == 0 {
		t.Error("pyindex_retention_bytes_freed_total is 0")
	}
	res, err := r2.RunOnce(context.Background())
	if err != nil || len(res.Releases) != 0 {
		t.Errorf("second run: %+v %v", res, err)
	}
	if _, err := en.cat.File(context.Background(), "acme_util-1.0.dev3-py3-none-any.whl"); err != nil {
		t.Errorf("the newest dev build went: %v", err)
	}

	for _, bad := range []admin.RetentionConfig{
		{Enabled: true, Interval: time.Second, KeepDev: 1},
		{Enabled: true, Interval: time.Hour},
		{Enabled: true, Interval: time.Hour, KeepDev: 1, Projects: []string{"-x-"}},
		// Wrong values are wrong while retention is off, too.
		{Interval: time.Hour, KeepDev: -1},
		{Interval: time.Second, KeepDev: 1},
	} {
		if err := bad.Validate(); !errors.Is(err, index.ErrInvalid) && err == nil {
			t.Errorf("%+v validates", bad)
		}
	}
	// Off, it needs no rule.
	if err := (admin.RetentionConfig{Interval: time.Hour}).Validate(); err != nil {
		t.Errorf("disabled retention without rules: %v", err)
	}
}
