package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	scmOnce sync.Once
	scmBin  string
	scmErr  error
)

// scmversionBinary builds cmd/scmversion once per test binary.
func scmversionBinary(t *testing.T) string {
	t.Helper()
	scmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pyindex-scmversion-")
		if err != nil {
			scmErr = err
			return
		}
		scmBin = filepath.Join(dir, "scmversion")
		out, err := exec.Command("go", "build", "-o", scmBin, "../scmversion").CombinedOutput()
		if err != nil {
			scmErr = err
			t.Logf("%s", out)
		}
	})
	if scmErr != nil {
		t.Fatalf("build scmversion: %v", scmErr)
	}
	return scmBin
}

// TestScmversionFlow is the CI flow of the README: a depth-1 clone without
// tags asks the index for its dev number, builds with the pretend version,
// uploads with twine and installs with pip --pre. The index has nothing of
// the project at first, so the base is setuptools_scm's no-tag 0.1, and
// the next build keeps it (0.1.dev1 is then the newest version);
// TestScmversionShallowAfterFullClone has the index's base after a full
// clone's builds.
func TestScmversionFlow(t *testing.T) {
	git := need(t, "git")
	python := need(t, "/usr/bin/python3")
	scm := scmversionBinary(t)
	m := startServer(t, nil)
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	tok := createToken(t, m, "ci", "--project", "scm-demo")

	origin := t.TempDir()
	gitEnv := []string{"GIT_AUTHOR_NAME=CI", "GIT_AUTHOR_EMAIL=ci@example.com", "GIT_COMMITTER_NAME=CI",
		"GIT_COMMITTER_EMAIL=ci@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}
	writeFile(t, filepath.Join(origin, "pyproject.toml"), `[build-system]
requires = ["setuptools>=61", "setuptools_scm"]
build-backend = "setuptools.build_meta"

[project]
name = "scm-demo"
dynamic = ["version"]

[tool.setuptools]
py-modules = ["scm_demo"]

[tool.setuptools_scm]
`)
	writeFile(t, filepath.Join(origin, "scm_demo.py"), "X = 1\n")
	run(t, origin, gitEnv, git, "init", "-q", "-b", "main")
	run(t, origin, gitEnv, git, "add", ".")
	run(t, origin, gitEnv, git, "commit", "-q", "-m", "first")
	run(t, origin, gitEnv, git, "tag", "v1.2.3")
	writeFile(t, filepath.Join(origin, "scm_demo.py"), "X = 2\n")
	run(t, origin, gitEnv, git, "commit", "-q", "-am", "second")

	build := func(wantNumber string, upload bool) string {
		t.Helper()
		clone := filepath.Join(t.TempDir(), "clone")
		run(t, "", gitEnv, git, "clone", "-q", "--depth", "1", "file://"+origin, clone)
		env := append(gitEnv, "PYINDEX_TOKEN="+tok)
		cmd := exec.Command(scm, "--index", m.URL(), "--project", "scm-demo", "--local-scheme", "no-local-version")
		cmd.Dir, cmd.Env = clone, append(cleanEnv(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scmversion: %v", err)
		}
		version := strings.TrimSpace(string(out))
		if want := "0.1.dev" + wantNumber; version != want {
			t.Fatalf("scmversion printed %q, want %q", version, want)
		}
		if !upload {
			return version
		}
		dist := filepath.Join(t.TempDir(), "dist")
		run(t, clone, append(gitEnv, "SETUPTOOLS_SCM_PRETEND_VERSION="+version), python, "-m", "build", "--no-isolation", "--outdir", dist, clone)
		files, _ := filepath.Glob(filepath.Join(dist, "*"))
		if len(files) != 2 {
			t.Fatalf("built %v", files)
		}
		twineUpload(t, m, "__token__", tok, files...)
		return version
	}
	v1 := build("1", true)
	// A retried job for the same commit gets the same number. (Its rebuilt
	// files would differ in timestamps, and a file is never replaced, so a
	// retry must not upload again: twine would get 409.)
	if v := build("1", false); v != v1 {
		t.Fatalf("same commit got %s then %s", v1, v)
	}
	writeFile(t, filepath.Join(origin, "scm_demo.py"), "X = 3\n")
	run(t, origin, gitEnv, git, "commit", "-q", "-am", "third")
	v2 := build("2", true)

	target := t.TempDir()
	run(t, "", nil, python, "-m", "pip", "install", "--no-cache-dir", "--pre", "--index-url", m.URL()+"/simple/", "--target", target, "scm-demo")
	if got := installed(t, target); len(got) != 1 || got[0] != "scm-demo=="+v2 {
		t.Errorf("pip --pre installed %v, want scm-demo==%s", got, v2)
	}
}
