package sync_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep508"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

// syncUpstream serves generated projects with several versions, Pythons
// and platforms:
//
//	app 1.0 (wheel, sdist)       lib>=1,<2
//	app 2.0 (wheel, sdist)       lib>=2; winonly on win32; oldpy before 3.10; extra-dep with [fancy]
//	app 2.1rc1 (wheel)
//	app 3.0 (wheel, yanked)
//	lib 1.5 (py3 wheel)
//	lib 2.0 (cp311/cp312 manylinux_2_17_x86_64, cp311 manylinux_2_34_x86_64, cp311 musllinux_1_2_x86_64,
//	         cp311 win_amd64, cp311 macosx_11_0_arm64, cp38-abi3 manylinux2014_aarch64, sdist)
//	lib 2.1 (cp312 manylinux_2_17_x86_64, sdist; requires-python >=3.12)
//	winonly 1.0, oldpy 1.0, extra-dep 1.0 (no PEP 658 metadata upstream), big 1.0 (a large wheel)
func syncUpstream(t *testing.T) *mirrortest.Upstream {
	up := mirrortest.Start(t, false)
	w := mirrortest.Wheel
	app := func(v string, deps ...string) mirrortest.Meta {
		return mirrortest.Meta{Name: "app", Version: v, RequiresDist: deps, ProvidesExtra: []string{"fancy"}}
	}
	app2 := app("2.0", "lib>=2", `winonly; sys_platform == "win32"`, `oldpy; python_version < "3.10"`, `extra-dep>=1; extra == "fancy"`)
	yanked := w(app("3.0"), "py3-none-any")
	yanked.Yanked = true
	up.AddProject("app",
		w(app("1.0", "lib>=1,<2"), "py3-none-any"), mirrortest.Sdist(app("1.0", "lib>=1,<2")),
		w(app2, "py3-none-any"), mirrortest.Sdist(app2),
		w(app("2.1rc1", "lib>=2"), "py3-none-any"),
		yanked)
	lib := func(v string) mirrortest.Meta { return mirrortest.Meta{Name: "lib", Version: v} }
	lib21 := mirrortest.Meta{Name: "lib", Version: "2.1", RequiresPython: ">=3.12"}
	up.AddProject("lib",
		w(lib("1.5"), "py3-none-any"),
		w(lib("2.0"), "cp311-cp311-manylinux_2_17_x86_64"),
		w(lib("2.0"), "cp312-cp312-manylinux_2_17_x86_64"),
		w(lib("2.0"), "cp311-cp311-manylinux_2_34_x86_64"),
		w(lib("2.0"), "cp311-cp311-musllinux_1_2_x86_64"),
		w(lib("2.0"), "cp311-cp311-win_amd64"),
		w(lib("2.0"), "cp311-cp311-macosx_11_0_arm64"),
		w(lib("2.0"), "cp38-abi3-manylinux2014_aarch64"),
		mirrortest.Sdist(lib("2.0")),
		w(lib21, "cp312-cp312-manylinux_2_17_x86_64"),
		mirrortest.Sdist(lib21))
	up.AddProject("winonly", w(mirrortest.Meta{Name: "winonly", Version: "1.0"}, "py3-none-any"))
	up.AddProject("oldpy", w(mirrortest.Meta{Name: "oldpy", Version: "1.0"}, "py3-none-any"))
	nometa := w(mirrortest.Meta{Name: "extra-dep", Version: "1.0", RequiresDist: []string{"lib>=1"}}, "py3-none-any")
	nometa.NoMetadata = true
	up.AddProject("extra-dep", nometa)
	big := w(mirrortest.Meta{Name: "big", Version: "1.0"}, "py3-none-any")
	big.Body = append(big.Body, make([]byte, 64<<10)...) // trailing bytes after the zip: still a valid archive
	up.AddProject("big", big)
	return up
}

// deps returns what a sync of e's mirror runs on.
func deps(e *mirrortest.Env) mirrorsync.Deps {
	return mirrorsync.Deps{Mirror: e.Mirror, Catalog: e.Cat, Store: e.Store, Log: mirrortest.QuietLog()}
}

func reqs(t *testing.T, specs ...string) []pep508.Requirement {
	t.Helper()
	var out []pep508.Requirement
	for _, s := range specs {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func fileNames(rep *mirrorsync.Report) []string {
	var out []string
	for _, f := range rep.Files {
		out = append(out, f.Filename)
	}
	slices.Sort(out)
	return out
}

// TestSyncFilters checks exactly which files each filter selects.
func TestSyncFilters(t *testing.T) {
	up := syncUpstream(t)
	libAll := []string{
		"lib-1.5-py3-none-any.whl",
		"lib-2.0-cp311-cp311-macosx_11_0_arm64.whl", "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
		"lib-2.0-cp311-cp311-manylinux_2_34_x86_64.whl", "lib-2.0-cp311-cp311-musllinux_1_2_x86_64.whl",
		"lib-2.0-cp311-cp311-win_amd64.whl", "lib-2.0-cp312-cp312-manylinux_2_17_x86_64.whl",
		"lib-2.0-cp38-abi3-manylinux2014_aarch64.whl", "lib-2.0.tar.gz",
		"lib-2.1-cp312-cp312-manylinux_2_17_x86_64.whl", "lib-2.1.tar.gz",
	}
	for _, tc := range []struct {
		name   string
		reqs   []string
		filter mirrorsync.Filter
		deps   bool
		want   []string
	}{
		{name: "everything", reqs: []string{"lib"}, want: libAll},
		{name: "latest", reqs: []string{"lib"}, filter: mirrorsync.Filter{Latest: 1},
			want: []string{"lib-2.1-cp312-cp312-manylinux_2_17_x86_64.whl", "lib-2.1.tar.gz"}},
		{name: "specifier", reqs: []string{"lib>=1,<2"}, want: []string{"lib-1.5-py3-none-any.whl"}},
		{name: "python", reqs: []string{"lib"}, filter: mirrorsync.Filter{Pythons: []string{"3.11"}}, want: []string{
			"lib-1.5-py3-none-any.whl",
			"lib-2.0-cp311-cp311-macosx_11_0_arm64.whl", "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
			"lib-2.0-cp311-cp311-manylinux_2_34_x86_64.whl", "lib-2.0-cp311-cp311-musllinux_1_2_x86_64.whl",
			"lib-2.0-cp311-cp311-win_amd64.whl", "lib-2.0-cp38-abi3-manylinux2014_aarch64.whl", "lib-2.0.tar.gz",
		}},
		{name: "python+platform", reqs: []string{"lib"},
			filter: mirrorsync.Filter{Pythons: []string{"3.11"}, Platforms: []string{"manylinux_2_28_x86_64"}}, want: []string{
				"lib-1.5-py3-none-any.whl", "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", "lib-2.0.tar.gz",
			}},
		{name: "two-pythons+platform+only-binary", reqs: []string{"lib"},
			filter: mirrorsync.Filter{Pythons: []string{"3.11", "3.12"}, Platforms: []string{"manylinux_2_17_x86_64"}, OnlyBinary: true}, want: []string{
				"lib-1.5-py3-none-any.whl", "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
				"lib-2.0-cp312-cp312-manylinux_2_17_x86_64.whl", "lib-2.1-cp312-cp312-manylinux_2_17_x86_64.whl",
			}},
		{name: "latest-per-python", reqs: []string{"lib"},
			filter: mirrorsync.Filter{Latest: 1, Pythons: []string{"3.11", "3.12"}, Platforms: []string{"manylinux_2_17_x86_64"}, OnlyBinary: true}, want: []string{
				"lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", "lib-2.1-cp312-cp312-manylinux_2_17_x86_64.whl",
			}},
		{name: "latest-per-platform", reqs: []string{"lib"},
			filter: mirrorsync.Filter{Latest: 1, Platforms: []string{"win_amd64", "manylinux_2_17_aarch64"}, OnlyBinary: true}, want: []string{
				"lib-2.0-cp311-cp311-win_amd64.whl", "lib-2.0-cp38-abi3-manylinux2014_aarch64.whl",
			}},
		{name: "abi3+aarch64", reqs: []string{"lib"},
			filter: mirrorsync.Filter{Pythons: []string{"3.12"}, Platforms: []string{"manylinux_2_17_aarch64"}, OnlyBinary: true}, want: []string{
				"lib-1.5-py3-none-any.whl", "lib-2.0-cp38-abi3-manylinux2014_aarch64.whl",
			}},
		{name: "windows", reqs: []string{"lib"}, filter: mirrorsync.Filter{Platforms: []string{"win_amd64"}, OnlyBinary: true}, want: []string{
			"lib-1.5-py3-none-any.whl", "lib-2.0-cp311-cp311-win_amd64.whl",
		}},
		{name: "macos-universal", reqs: []string{"lib"}, filter: mirrorsync.Filter{Platforms: []string{"macosx_12_0_universal2"}, OnlyBinary: true}, want: []string{
			"lib-1.5-py3-none-any.whl", "lib-2.0-cp311-cp311-macosx_11_0_arm64.whl",
		}},
		{name: "prerelease-and-yanked", reqs: []string{"app"}, filter: mirrorsync.Filter{Latest: 1}, want: []string{
			"app-2.0-py3-none-any.whl", "app-2.0.tar.gz", "app-2.1rc1-py3-none-any.whl",
		}},
		{name: "no-prerelease", reqs: []string{"app"}, filter: mirrorsync.Filter{Latest: 1, NoPrerelease: true, OnlyBinary: true}, want: []string{
			"app-2.0-py3-none-any.whl",
		}},
		{name: "explicit-prerelease", reqs: []string{"app==2.1rc1"}, filter: mirrorsync.Filter{NoPrerelease: true}, want: []string{
			"app-2.1rc1-py3-none-any.whl",
		}},
		{name: "pinned-yanked", reqs: []string{"app==3.0"}, want: []string{"app-3.0-py3-none-any.whl"}},
		{name: "max-file-size", reqs: []string{"big", "lib==1.5"}, filter: mirrorsync.Filter{MaxFileSize: 32 << 10}, want: []string{
			"lib-1.5-py3-none-any.whl",
		}},
		{name: "marker-false", reqs: []string{`lib; sys_platform == "win32"`}, filter: mirrorsync.Filter{Platforms: []string{"manylinux_2_17_x86_64"}}},
		{name: "deps-linux-extra", reqs: []string{"app[fancy]"}, deps: true,
			filter: mirrorsync.Filter{Latest: 1, NoPrerelease: true, Pythons: []string{"3.11"}, Platforms: []string{"manylinux_2_17_x86_64"}, OnlyBinary: true},
			want: []string{
				"app-2.0-py3-none-any.whl", "extra_dep-1.0-py3-none-any.whl" /* its lib>=1: the latest for 3.11 */, "lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
			}},
		{name: "deps-windows-old-python", reqs: []string{"app"}, deps: true,
			filter: mirrorsync.Filter{Latest: 1, NoPrerelease: true, Pythons: []string{"3.9"}, Platforms: []string{"win_amd64"}},
			want: []string{
				"app-2.0-py3-none-any.whl", "app-2.0.tar.gz", "lib-2.0.tar.gz", "oldpy-1.0-py3-none-any.whl", "winonly-1.0-py3-none-any.whl",
			}},
		{name: "deps-any-environment", reqs: []string{"app==1.0"}, deps: true, filter: mirrorsync.Filter{OnlyBinary: true},
			want: []string{"app-1.0-py3-none-any.whl", "lib-1.5-py3-none-any.whl"}},
		{name: "constraint", reqs: []string{"app==1.0"}, deps: true, filter: mirrorsync.Filter{OnlyBinary: true},
			want: []string{"app-1.0-py3-none-any.whl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mirrortest.NewEnv(t, up, "", nil)
			opts := mirrorsync.Options{Requirements: reqs(t, tc.reqs...), Filter: tc.filter, Deps: tc.deps}
			if tc.name == "constraint" {
				opts.Constraints = reqs(t, "lib>=3")
			}
			rep, err := mirrorsync.Run(context.Background(), deps(e), opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := fileNames(rep); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("selected:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if !rep.OK() || rep.Fetched != len(tc.want) || rep.Failed != 0 {
				t.Errorf("report: fetched %d failed %d failures %v", rep.Fetched, rep.Failed, rep.Failures)
			}
			// Every selected file is served from the cache, verified.
			for _, f := range rep.Files {
				mf, err := e.Cat.MirrorFile(context.Background(), f.Project, f.Filename)
				if err != nil || mf.BlobKey == "" || mf.SHA256 != mf.Hashes["sha256"] {
					t.Errorf("%s not recorded as cached: %+v %v", f.Filename, mf, err)
				}
			}
		})
	}
}

// TestSyncIncremental: a second run downloads nothing and reports every
// file as already there; the served pages and files need no upstream.
func TestSyncIncremental(t *testing.T) {
	up := syncUpstream(t)
	e := mirrortest.NewEnv(t, up, "", nil)
	opts := mirrorsync.Options{Requirements: reqs(t, "app"), Deps: true, Filter: mirrorsync.Filter{Latest: 1, NoPrerelease: true}}
	first, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || !first.OK() || first.Fetched == 0 || first.Bytes == 0 {
		t.Fatalf("first sync: %+v %v", first, err)
	}
	before := up.Total()
	second, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || !second.OK() {
		t.Fatalf("second sync: %+v %v", second, err)
	}
	if second.Fetched != 0 || second.Present != first.Fetched || second.Bytes != 0 {
		t.Errorf("second sync fetched %d, skipped %d (first fetched %d)", second.Fetched, second.Present, first.Fetched)
	}
	// Only the pages were asked again (conditional requests).
	if n := up.Total() - before; n != len(second.Projects) {
		t.Errorf("second sync made %d upstream requests for %d projects", n, len(second.Projects))
	}
	// PEP 658 metadata of a wheel is there for offline pip.
	r := e.Get("/mirror/files/app/app-2.0-py3-none-any.whl.metadata", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "Requires-Dist: lib>=2") {
		t.Errorf("metadata: %d %s", r.Status, r.Body)
	}
}

// TestSyncResume cancels a sync midway; the rerun fetches only what the
// first run had not finished.
func TestSyncResume(t *testing.T) {
	up := syncUpstream(t)
	e := mirrortest.NewEnv(t, up, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var done []string
	opts := mirrorsync.Options{Requirements: reqs(t, "lib"), Jobs: 1, Progress: func(ev mirrorsync.Event) {
		if ev.Kind == mirrorsync.EventFetched {
			mu.Lock()
			done = append(done, ev.Filename)
			if len(done) == 3 {
				cancel()
			}
			mu.Unlock()
		}
	}}
	rep, err := mirrorsync.Run(ctx, deps(e), opts)
	if err == nil {
		t.Fatalf("interrupted sync: no error, %+v", rep)
	}
	mu.Lock()
	completed := slices.Clone(done)
	mu.Unlock()
	if len(completed) < 3 || len(completed) >= 11 {
		t.Fatalf("completed %d files before the interruption", len(completed))
	}
	opts.Progress, opts.Jobs = nil, 4
	rep, err = mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || !rep.OK() {
		t.Fatalf("rerun: %+v %v", rep, err)
	}
	if len(rep.Files) != 11 || rep.Present < len(completed) || rep.Fetched+rep.Present != 11 {
		t.Errorf("rerun: %d files, %d fetched, %d skipped; %d completed before", len(rep.Files), rep.Fetched, rep.Present, len(completed))
	}
	for _, f := range completed {
		if n := up.Count("/packages/" + f); n != 1 {
			t.Errorf("%s fetched %d times, want once", f, n)
		}
	}
}

// TestSyncFailures: a file whose bytes do not match the page is a failure
// in the report (never cached); the rest is synced.
func TestSyncFailures(t *testing.T) {
	up := syncUpstream(t)
	e := mirrortest.NewEnv(t, up, "", nil)
	up.SetFile("lib-1.5-py3-none-any.whl", []byte("not the wheel the page describes"))
	rep, err := mirrorsync.Run(context.Background(), deps(e), mirrorsync.Options{Requirements: reqs(t, "lib<2.1", "no-such-project")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Failures) != 2 || rep.Failed != 1 || rep.Fetched != 8 {
		t.Errorf("report: %+v", rep)
	}
	mf, _ := e.Cat.MirrorFile(context.Background(), "lib", "lib-1.5-py3-none-any.whl")
	if mf.BlobKey != "" {
		t.Errorf("a corrupt file was cached")
	}
}

// TestSyncHostedSkipped: a project hosted here is never synced from the
// upstream, but with --deps the dependencies of its hosted releases are.
func TestSyncHostedSkipped(t *testing.T) {
	up := syncUpstream(t)
	e := mirrortest.NewEnv(t, up, "", nil)
	seedHosted(t, e, "lib", "0.1")
	rep, err := mirrorsync.Run(context.Background(), deps(e), mirrorsync.Options{Requirements: reqs(t, "lib")})
	if err != nil || len(rep.Files) != 0 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "hosted") {
		t.Errorf("%+v %v", rep, err)
	}
	if up.Count("/simple/lib/") != 0 {
		t.Errorf("the upstream was asked for a hosted project")
	}
	// The site's own app needs app==1.0 (public), which needs lib: hosted.
	seedHosted(t, e, "site-app", "1.0", "app==1.0", `winonly; sys_platform == "win32"`)
	seedHosted(t, e, "site-app", "2.0.dev1", "oldpy")
	rep, err = mirrorsync.Run(context.Background(), deps(e), mirrorsync.Options{Requirements: reqs(t, "site-app"), Deps: true,
		Filter: mirrorsync.Filter{OnlyBinary: true, NoPrerelease: true, Platforms: []string{"manylinux_2_17_x86_64"}}})
	if got := strings.Join(fileNames(rep), " "); err != nil || got != "app-1.0-py3-none-any.whl" {
		t.Errorf("hosted deps: %q %v; notes %v", got, err, rep.Notes)
	}
}

func seedHosted(t *testing.T, e *mirrortest.Env, name, version string, deps ...string) {
	t.Helper()
	d := mirrortest.Wheel(mirrortest.Meta{Name: name, Version: version, RequiresDist: deps}, "py3-none-any")
	if _, _, err := e.Cat.AddFile(context.Background(), index.NewFile{Project: name, Version: version, Filename: d.Filename,
		PackageType: "bdist_wheel", PythonVersion: "py3", Size: int64(len(d.Body)), SHA256: fmt.Sprintf("%x", sha256.Sum256(d.Body)),
		BlobKey: "sha256/x", UploadedBy: "test", Metadata: dist.Metadata{Name: name, Version: version, RequiresDist: deps}}); err != nil {
		t.Fatal(err)
	}
}

// TestSyncMetadataFromWheel: a wheel's PEP 658 file is taken from the
// wheel itself when it matches the upstream's hash (no extra request), and
// is served with the upstream gone.
func TestSyncMetadataFromWheel(t *testing.T) {
	up := syncUpstream(t)
	e := mirrortest.NewEnv(t, up, "", nil)
	rep, err := mirrorsync.Run(context.Background(), deps(e), mirrorsync.Options{Requirements: reqs(t, "lib==1.5")})
	if err != nil || !rep.OK() {
		t.Fatalf("%+v %v", rep, err)
	}
	if n := up.Count("/packages/lib-1.5-py3-none-any.whl.metadata"); n != 0 {
		t.Errorf("%d upstream requests for metadata the wheel holds", n)
	}
	up.Close()
	r := e.Get("/mirror/files/lib/lib-1.5-py3-none-any.whl.metadata", nil)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "Metadata-Version: 2.1\nName: lib\nVersion: 1.5\n") {
		t.Errorf("metadata: %d %q", r.Status, r.Body)
	}
}

// TestSyncDryRun selects without downloading: the report says what a real
// run would fetch, dependencies come from PEP 658 metadata, and the real
// run then fetches exactly that.
func TestSyncDryRun(t *testing.T) {
	up := syncUpstream(t)
	e := mirrortest.NewEnv(t, up, "", nil)
	opts := mirrorsync.Options{Requirements: reqs(t, "app"), Deps: true, DryRun: true,
		Filter: mirrorsync.Filter{Latest: 1, NoPrerelease: true, OnlyBinary: true, Pythons: []string{"3.11"}, Platforms: []string{"manylinux_2_17_x86_64"}}}
	dry, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || !dry.OK() || dry.Fetched != 0 || dry.Missing != 2 || dry.MissingBytes == 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	for _, f := range dry.Files {
		if n := up.Count("/packages/" + f.Filename); n != 0 || f.Status != mirrorsync.EventMissing {
			t.Errorf("%s: %d downloads, status %s", f.Filename, n, f.Status)
		}
	}
	opts.DryRun = false
	real, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || strings.Join(fileNames(real), " ") != strings.Join(fileNames(dry), " ") || real.Fetched != 2 {
		t.Errorf("real run after the dry run: %v %v, dry run selected %v", fileNames(real), err, fileNames(dry))
	}
}
