// Package scmtest rebuilds the deterministic repositories of the
// setuptools_scm oracle (scm-oracle.sh) for tests, and reads the oracle's
// ground-truth TSV.
//
// Build is a line-by-line port of the repository-building half of
// scm-oracle.sh: the same file contents, commit messages, author, committer
// and tagger dates, so every commit hash equals the one recorded in
// testdata/scm-oracle-7.1.0.tsv (its "head" column). Tests check that, so a
// drift between the port and the script shows up as a hash mismatch rather
// than as a puzzling version difference.
package scmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// SourceDateEpoch is the SOURCE_DATE_EPOCH the oracle was run with
// (2024-06-20T08:34:56Z).
const SourceDateEpoch = 1718872496

// base is the oracle's clock origin, 2024-03-01T10:00:00Z.
const base = 1709287200

// Case is one oracle case: a directory under the work tree plus the
// configuration and environment the oracle passed to get_version.
type Case struct {
	Name string
	// Dir is the repository (or plain directory) relative to the work dir.
	Dir string
	// Config is the oracle's configuration as JSON, "" for none. It is
	// compared with the TSV's config column.
	Config string
	// Env holds NAME=VALUE pairs set for this case.
	Env []string
	// UnsetEpoch is set for t99, which runs without SOURCE_DATE_EPOCH.
	UnsetEpoch bool
}

// Repos is the result of Build.
type Repos struct {
	// Work is the directory holding every case directory and the empty HOME.
	Work string
	// Home is the empty HOME the repositories were built with; use it for
	// any git or setuptools_scm run so that no user configuration applies.
	Home  string
	Cases map[string]Case
}

// Path returns the absolute directory of case name.
func (r *Repos) Path(name string) string {
	return filepath.Join(r.Work, r.Cases[name].Dir)
}

// Env returns the isolated environment used to build the repositories:
// the caller's environment minus GIT_* and HOME, plus an empty HOME,
// GIT_CONFIG_NOSYSTEM=1 and SOURCE_DATE_EPOCH.
func (r *Repos) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "SOURCE_DATE_EPOCH" ||
			strings.HasPrefix(k, "SETUPTOOLS_SCM_") || strings.HasPrefix(k, "XDG_CONFIG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+r.Home,
		"GIT_CONFIG_NOSYSTEM=1",
		"SOURCE_DATE_EPOCH="+strconv.Itoa(SourceDateEpoch),
	)
}

// builder holds the shell script's mutable state. Its methods do not run
// anything: they record operations in one queue per repository (a clone
// goes into its source's queue), and Build runs the queues concurrently.
// The clock and dates are computed while recording, so they are exactly
// the script's.
type builder struct {
	ctx    context.Context
	work   string
	env    []string
	dir    string // the script's current directory
	clock  int
	when   string
	queues [][]func() error
}

// do appends op to the current repository's queue.
func (b *builder) do(op func() error) {
	b.queues[len(b.queues)-1] = append(b.queues[len(b.queues)-1], op)
}

func (b *builder) run(extraEnv []string, args ...string) {
	dir := b.dir
	env := append(append([]string(nil), b.env...), extraEnv...)
	b.do(func() error {
		cmd := exec.CommandContext(b.ctx, "git", args...)
		cmd.Dir = dir
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, out.String())
		}
		return nil
	})
}

func (b *builder) git(args ...string) { b.run(nil, args...) }

func (b *builder) appendFile(name, line string) {
	path := filepath.Join(b.dir, name)
	b.do(func() error {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(line + "\n"); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

func (b *builder) writeFile(name, content string) {
	path := filepath.Join(b.dir, name)
	b.do(func() error { return os.WriteFile(path, []byte(content), 0o644) })
}

// mkdir starts a new queue for a fresh directory.
func (b *builder) mkdir(name string) {
	b.dir = filepath.Join(b.work, name)
	dir := b.dir
	b.queues = append(b.queues, nil)
	b.do(func() error {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		return os.MkdirAll(dir, 0o755)
	})
}

// newRepo is the script's new_repo.
func (b *builder) newRepo(name string) {
	b.mkdir(name)
	b.git("init", "-q", "-b", "main", ".")
	b.git("config", "commit.gpgSign", "false")
	b.git("config", "tag.gpgSign", "false")
	b.clock = 0
}

// tick is the script's tick.
func (b *builder) tick() {
	b.clock += 3600
	b.when = fmt.Sprintf("@%d +0000", base+b.clock)
}

// c is the script's c [MSG] [DATE] [FILE].
func (b *builder) c(args ...string) {
	msg, date, file := "commit", "", "file.txt"
	if len(args) > 0 && args[0] != "" {
		msg = args[0]
	}
	if len(args) > 1 {
		date = args[1]
	}
	if len(args) > 2 && args[2] != "" {
		file = args[2]
	}
	if date != "" {
		b.when = date
	} else {
		b.tick()
	}
	b.appendFile(file, fmt.Sprintf("%s %d %s", msg, b.clock, b.when))
	b.git("add", file)
	b.run([]string{"GIT_AUTHOR_DATE=" + b.when, "GIT_COMMITTER_DATE=" + b.when}, "commit", "-q", "-m", msg)
}

// t is the script's lightweight tag.
func (b *builder) t(name string) { b.git("tag", name) }

// ta is the script's annotated tag [DATE].
func (b *builder) ta(name string, date ...string) {
	if len(date) > 0 && date[0] != "" {
		b.when = date[0]
	} else {
		b.tick()
	}
	b.run([]string{"GIT_COMMITTER_DATE=" + b.when}, "tag", "-a", name, "-m", "tag "+name)
}

// dirty is the script's dirty: a tracked file modified.
func (b *builder) dirty() { b.appendFile("file.txt", "local edit") }

func (b *builder) checkout(args ...string) { b.git(append([]string{"checkout", "-q"}, args...)...) }

func (b *builder) clone(src, dst string, args ...string) {
	b.dir = b.work
	target := filepath.Join(b.work, dst)
	b.do(func() error { return os.RemoveAll(target) })
	argv := append([]string{"-c", "advice.detachedHead=false", "clone", "-q"}, args...)
	b.git(append(argv, "file://"+filepath.Join(b.work, src), dst)...)
	b.dir = filepath.Join(b.work, dst)
}

func at(offset int) string { return fmt.Sprintf("@%d +0000", base+offset) }

// Build creates every oracle repository under work (which must exist and be
// empty) and returns them. It needs git on PATH.
func Build(ctx context.Context, work string) (*Repos, error) {
	work, err := filepath.Abs(work)
	if err != nil {
		return nil, err
	}
	r := &Repos{Work: work, Home: filepath.Join(work, "home"), Cases: map[string]Case{}}
	if err := os.MkdirAll(r.Home, 0o755); err != nil {
		return nil, err
	}
	env := append(r.Env(),
		"GIT_AUTHOR_NAME=Oracle", "GIT_AUTHOR_EMAIL=oracle@example.invalid",
		"GIT_COMMITTER_NAME=Oracle", "GIT_COMMITTER_EMAIL=oracle@example.invalid",
	)
	b := &builder{ctx: ctx, work: work, env: env}
	emit := func(name, config string, env ...string) {
		r.Cases[name] = Case{Name: name, Dir: mustRel(work, b.dir), Config: config, Env: env}
	}

	// --- no tags
	b.newRepo("t01")
	b.c()
	emit("t01", "")
	b.newRepo("t02")
	b.c()
	b.c()
	b.c()
	emit("t02", "")
	b.newRepo("t03")
	b.c()
	b.c()
	b.c()
	b.dirty()
	emit("t03", "")
	b.newRepo("t04")
	b.writeFile("file.txt", "x\n")
	b.git("add", "file.txt")
	emit("t04", "")
	b.newRepo("t05")
	b.c()
	b.c()
	b.c()
	emit("t05", `{"fallback_version": "0.5.0"}`)
	// --- tag exactly on HEAD
	b.newRepo("t06")
	b.c()
	b.c()
	b.t("1.2.3")
	emit("t06", "")
	b.newRepo("t07")
	b.c()
	b.c()
	b.t("1.2.3")
	b.dirty()
	emit("t07", "")
	b.newRepo("t08")
	b.c()
	b.c()
	b.t("1.2.3")
	b.writeFile("untracked.txt", "u\n")
	emit("t08", "")
	b.newRepo("t09")
	b.c()
	b.c()
	b.t("1.2.3")
	b.writeFile("staged.txt", "s\n")
	b.git("add", "staged.txt")
	emit("t09", "")
	b.newRepo("t10")
	b.c()
	b.c()
	b.ta("1.2.3")
	emit("t10", "")
	for _, tc := range []struct{ name, tag string }{
		{"t11", "v1.2.3"}, {"t12", "1.2"}, {"t13", "1.2.3rc1"}, {"t14", "V1.2.3-RC.1"},
	} {
		b.newRepo(tc.name)
		b.c()
		b.t(tc.tag)
		emit(tc.name, "")
	}
	// --- tag plus distance
	b.newRepo("t15")
	b.c()
	b.t("1.2.3")
	b.c()
	b.c()
	emit("t15", "")
	b.newRepo("t16")
	b.c()
	b.t("1.2.3")
	b.c()
	b.c()
	b.dirty()
	emit("t16", "")
	for _, tc := range []struct {
		name, tag, config string
		after             int
	}{
		{"t17", "v1.2.3", "", 2},
		{"t18", "1.2.3rc1", "", 2},
		{"t19", "1.2.3.post1", "", 2},
		{"t20", "1.2", "", 1},
		{"t21", "1", "", 1},
		{"t22", "1.2.3.4", "", 1},
		{"t23", "1.3.0.dev0", "", 2},
		{"t24", "1.3.0.dev3", "", 2},
		{"t25", "v1.2.3-rc.1", "", 2},
		{"t26", "v1.2.3-rc.1", `{"normalize": false}`, 2},
		{"t27", "1.2.3-1", "", 1},
		{"t28", "1.2.3+build.5", "", 1},
		{"t29", "1.2.3+build.5", "", 0},
		{"t30", "1.0.0a1", "", 3},
		{"t31", "2.0.0b2.post3.dev0", "", 1},
		// --- prefixes and custom regexes
		{"t32", "release-2.0", "", 1},
		{"t33", "release-2.0", `{"tag_regex": "^release-(?P<version>.+)$"}`, 1},
		{"t34", "myproj-v1.0.0", "", 1},
		{"t35", "upstream/1.0.0", "", 1},
		{"t36", "pkg_a/1.4.0", `{"tag_regex": "^pkg_a/(?P<version>.+)$"}`, 1},
	} {
		b.newRepo(tc.name)
		b.c()
		b.t(tc.tag)
		for i := 0; i < tc.after; i++ {
			b.c()
		}
		emit(tc.name, tc.config)
	}
	b.newRepo("t37")
	b.c()
	b.t("v1.0.0")
	b.c()
	b.t("build-7")
	b.c()
	emit("t37", `{"git_describe_command": "git describe --dirty --tags --long --match v*"}`)
	// --- non-version and competing tags
	b.newRepo("t38")
	b.c()
	b.t("1.0.0")
	b.c()
	b.c()
	b.t("latest")
	emit("t38", "")
	b.newRepo("t39")
	b.c()
	b.t("1.0.0")
	b.c()
	b.t("nightly-20240301")
	b.c()
	emit("t39", "")
	b.newRepo("t40")
	b.c()
	b.t("1.0.0")
	b.c()
	b.t("build42")
	b.c()
	emit("t40", "")
	b.newRepo("t41")
	b.c()
	b.t("1.0.1")
	b.t("1.0.0")
	b.c()
	emit("t41", "")
	b.newRepo("t42")
	b.c()
	b.t("1.0.0")
	b.ta("0.9.0")
	b.c()
	emit("t42", "")
	b.newRepo("t43")
	b.c()
	b.ta("1.9.0", at(800000))
	b.ta("2.0.0", at(900000))
	b.c()
	emit("t43", "")
	b.newRepo("t43b")
	b.c()
	b.ta("1.9.0", at(900000))
	b.ta("2.0.0", at(800000))
	b.c()
	emit("t43b", "")
	b.newRepo("t44")
	b.c()
	b.ta("1.0.0")
	b.c()
	b.t("1.1.0")
	b.c()
	emit("t44", "")
	b.newRepo("t45")
	b.c()
	b.t("2.0.0")
	b.c()
	b.t("1.5.0")
	b.c()
	emit("t45", "")
	b.newRepo("t46")
	b.c()
	b.t("1.0.0")
	b.checkout("-b", "side")
	b.c()
	b.t("3.0.0")
	b.checkout("main")
	b.c()
	b.c()
	emit("t46", "")
	b.newRepo("t47")
	b.c()
	b.t("1.0.0")
	b.checkout("-b", "feat")
	b.c("feat", "", "side.txt")
	b.c("feat", "", "side.txt")
	b.checkout("main")
	b.c()
	b.tick()
	b.run([]string{"GIT_AUTHOR_DATE=" + b.when, "GIT_COMMITTER_DATE=" + b.when}, "merge", "-q", "--no-ff", "-m", "merge", "feat")
	emit("t47", "")
	// --- branches
	for _, tc := range []struct {
		name, tag, branch string
		after             int
	}{
		{"t48", "1.2.0", "release-1.2", 2},
		{"t49", "1.2.0", "release/1.2", 2},
		{"t50", "1.2.0", "release-1.3", 2},
		{"t51", "1.2.0", "v1.2.x", 2},
		{"t52", "1.2.0", "feature/login", 1},
		{"t53", "1.2.0", "bugfix-7", 1},
		{"t54", "1.2.0rc1", "release-1.2", 1},
	} {
		b.newRepo(tc.name)
		b.c()
		b.t(tc.tag)
		b.checkout("-b", tc.branch)
		for i := 0; i < tc.after; i++ {
			b.c()
		}
		emit(tc.name, "")
	}
	b.newRepo("t55")
	b.c()
	b.t("1.2.0")
	b.c()
	b.c()
	b.checkout("--detach", "HEAD~1")
	emit("t55", "")
	b.newRepo("t56")
	b.c()
	b.t("1.2.0")
	b.c()
	b.checkout("--detach", "1.2.0")
	emit("t56", "")
	b.newRepo("t57")
	b.c()
	b.t("1.2.0")
	b.c()
	b.checkout("--detach", "HEAD")
	b.dirty()
	emit("t57", "")
	// --- shallow clones
	b.newRepo("t58src")
	b.c()
	b.t("1.0.0")
	b.c()
	b.c()
	b.clone("t58src", "t58", "--depth", "1")
	emit("t58", "")
	b.clone("t58src", "t59", "--depth", "3")
	emit("t59", "")
	b.newRepo("t60src")
	b.c()
	b.c()
	b.t("1.0.0")
	b.clone("t60src", "t60", "--depth", "1", "--branch", "1.0.0")
	emit("t60", "")
	// --- calendar versions
	b.newRepo("t61")
	b.c("x", "2024-03-01T09:00:00+00:00")
	b.t("2024.03.01")
	b.c("x", "2024-03-01T10:00:00+00:00")
	b.c("x", "2024-03-01T11:00:00+00:00")
	emit("t61", "")
	b.newRepo("t62")
	b.c("x", "2024-03-01T09:00:00+00:00")
	b.t("2024.03.01")
	b.c("x", "2024-03-05T10:00:00+00:00")
	b.c("x", "2024-03-05T11:00:00+00:00")
	emit("t62", "")
	for _, tc := range []struct{ name, tag, second string }{
		{"t63", "24.03.01", "2024-03-05T10:00:00+00:00"},
		{"t64", "2024.03.01.2", "2024-03-01T10:00:00+00:00"},
		{"t65", "v2024.03.01", "2024-03-05T10:00:00+00:00"},
		{"t66", "2024.03.01", "2024-03-01T23:30:00-05:00"},
	} {
		b.newRepo(tc.name)
		b.c("x", "2024-03-01T09:00:00+00:00")
		b.t(tc.tag)
		b.c("x", tc.second)
		emit(tc.name, "")
	}
	b.newRepo("t67")
	b.c("x", "2024-03-01T09:00:00+00:00")
	b.t("2024.03.01")
	b.checkout("-b", "release-2024.03.07")
	b.c("x", "2024-03-05T10:00:00+00:00")
	emit("t67", "")
	b.newRepo("t68")
	b.c("x", "2024-06-20T01:00:00+00:00")
	b.t("1.2.3")
	b.c("x", "2024-06-20T02:00:00+00:00")
	emit("t68", "")
	// --- configuration and environment
	b.newRepo("t69")
	b.c()
	b.t("1.2.3")
	b.c()
	emit("t69", "", "SETUPTOOLS_SCM_PRETEND_VERSION=9.8.7")
	emit("t69b", "", "SETUPTOOLS_SCM_PRETEND_VERSION=1.2.4.dev1+gabc")
	emit("t69c", "", "SETUPTOOLS_SCM_PRETEND_VERSION=not-a-version")
	emit("t69d", `{"dist_name": "my.pkg"}`, "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG=5.0")
	emit("t69e", `{"dist_name": "my.pkg"}`, "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY.PKG=5.0")
	emit("t69f", "", "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG=5.0")
	emit("t69g", `{"dist_name": "my-pkg"}`,
		"SETUPTOOLS_SCM_PRETEND_VERSION=9.8.7", "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG=5.0")
	b.mkdir("t70")
	b.writeFile("pyproject.toml", "[project]\nname=\"x\"\n")
	emit("t70", `{"fallback_version": "0.5.0"}`)
	emit("t70b", "")
	b.newRepo("t99")
	b.c()
	b.t("1.2.3")
	b.c()
	b.dirty()
	emit("t99", "")
	c := r.Cases["t99"]
	c.UnsetEpoch = true
	r.Cases["t99"] = c

	if err := b.execute(); err != nil {
		return nil, err
	}
	return r, nil
}

// execute runs the recorded queues, several at a time.
func (b *builder) execute() error {
	sem := make(chan struct{}, max(4, 2*runtime.NumCPU()))
	errs := make([]error, len(b.queues))
	var wg sync.WaitGroup
	for i, q := range b.queues {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, op := range q {
				if err := op(); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func mustRel(base, target string) string {
	rel, err := filepath.Rel(base, target)
	if err != nil {
		panic(err)
	}
	return rel
}
