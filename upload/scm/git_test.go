package scm_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/upload/scm"
)

// gitShim writes a git wrapper that logs each call (argv, and the
// environment variables setuptools_scm rewrites) and then runs the real
// git, the way scm-versions.md §1.1's command sequence was captured.
func gitShim(t *testing.T) (shim, log string) {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	shim = filepath.Join(dir, "git")
	script := `#!/bin/sh
printf '%s|LC_ALL=%s GIT_DIR=%s GIT_SSH=%s\n' "$*" "$LC_ALL" "${GIT_DIR-unset}" "${GIT_SSH-unset}" >> '` + log + `'
exec '` + real + `' "$@"
`
	if err := os.WriteFile(shim, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return shim, log
}

// TestGitCommandSequence checks the exact git calls of §1.1 per compat
// level, with the environment rewriting: GIT_DIR dropped, GIT_SSH kept,
// LC_ALL pinned.
func TestGitCommandSequence(t *testing.T) {
	for _, tc := range []struct {
		caseName string
		compat   scm.Compat
		want     []string
	}{
		{"t15", scm.Compat7, []string{
			"help",
			"--git-dir R/.git rev-parse --show-prefix",
			"--git-dir R/.git describe --dirty --tags --long --match *[0-9]*",
			"--git-dir R/.git rev-parse --abbrev-ref HEAD",
			"--git-dir R/.git -c log.showSignature=false log -n 1 HEAD --format=%cI",
		}},
		{"t02", scm.Compat7, []string{
			"help",
			"--git-dir R/.git rev-parse --show-prefix",
			"--git-dir R/.git describe --dirty --tags --long --match *[0-9]*",
			"--git-dir R/.git rev-parse --verify --quiet HEAD",
			"--git-dir R/.git rev-list HEAD",
			"--git-dir R/.git status --porcelain --untracked-files=no",
			"--git-dir R/.git rev-parse --abbrev-ref HEAD",
			"--git-dir R/.git -c log.showSignature=false log -n 1 HEAD --format=%cI",
		}},
		{"t15", scm.Compat9, []string{
			"version",
			"--git-dir R/.git rev-parse --show-prefix",
			"--git-dir R/.git describe --dirty --tags --long --abbrev=40 --match *[0-9]*",
			"--git-dir R/.git rev-parse --abbrev-ref HEAD",
			"--git-dir R/.git -c log.showSignature=false log -n 1 HEAD --format=%cI",
		}},
		{"t58", scm.Compat10, []string{
			"--git-dir R/.git rev-parse --show-prefix",
			"--git-dir R/.git describe --exact-match --tags HEAD",
			"--git-dir R/.git describe --dirty --tags --long --abbrev=40 --match *[0-9]*",
			"--git-dir R/.git rev-parse --verify --quiet HEAD",
			"--git-dir R/.git rev-list HEAD",
			"--git-dir R/.git status --porcelain --untracked-files=no",
			"--git-dir R/.git rev-parse --abbrev-ref HEAD",
			"--git-dir R/.git -c log.showSignature=false log -n 1 HEAD --format=%cI",
		}},
		// 7.x runs a custom describe command as given; 8+ inserts --git-dir
		// when it starts with git.
		{"t37", scm.Compat7, []string{
			"help",
			"--git-dir R/.git rev-parse --show-prefix",
			"describe --dirty --tags --long --match v*",
			"--git-dir R/.git rev-parse --abbrev-ref HEAD",
			"--git-dir R/.git -c log.showSignature=false log -n 1 HEAD --format=%cI",
		}},
		{"t37", scm.Compat8, []string{
			"version",
			"--git-dir R/.git rev-parse --show-prefix",
			"--git-dir R/.git describe --dirty --tags --long --match v*",
			"--git-dir R/.git rev-parse --abbrev-ref HEAD",
			"--git-dir R/.git -c log.showSignature=false log -n 1 HEAD --format=%cI",
		}},
	} {
		shim, log := gitShim(t)
		o := caseOptions(t, repos.Cases[tc.caseName], tc.compat, testNow)
		o.Git = shim
		o.Env = append(o.Env, "GIT_DIR=/nonexistent", "GIT_SSH=ssh-wrapper")
		if _, err := scm.Describe(context.Background(), o); err != nil {
			t.Fatalf("%s compat %d: %v", tc.caseName, tc.compat, err)
		}
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		lcAll := "C.UTF-8"
		if tc.compat == scm.Compat7 {
			lcAll = "C"
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		root := repos.Path(tc.caseName)
		var got []string
		for _, l := range lines {
			argv, envPart, _ := strings.Cut(l, "|")
			if want := "LC_ALL=" + lcAll + " GIT_DIR=unset GIT_SSH=ssh-wrapper"; envPart != want {
				t.Errorf("%s compat %d: %q ran with %s, want %s", tc.caseName, tc.compat, argv, envPart, want)
			}
			got = append(got, strings.ReplaceAll(argv, root, "R"))
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s compat %d: git calls\n  %s\nwant\n  %s", tc.caseName, tc.compat,
				strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
}

// TestPreParse checks the scm.git.pre_parse actions of §1.5.
func TestPreParse(t *testing.T) {
	ctx := context.Background()
	o := caseOptions(t, repos.Cases["t58"], scm.Compat10, testNow)
	var warnings []string
	o.Warn = func(msg string) { warnings = append(warnings, msg) }
	r, err := scm.Describe(ctx, o)
	if err != nil || !r.Shallow || len(warnings) != 1 || !strings.Contains(warnings[0], "is shallow") {
		t.Errorf("warn_on_shallow: %v, %v, warnings %q", r, err, warnings)
	}
	o.PreParse = "fail_on_shallow"
	if _, err := scm.Describe(ctx, o); !errors.Is(err, scm.ErrShallow) {
		t.Errorf("fail_on_shallow: %v", err)
	}
	// 10.x skips the shallow handling when HEAD is exactly on a tag.
	o = caseOptions(t, repos.Cases["t60"], scm.Compat10, testNow)
	o.PreParse = "fail_on_shallow"
	if v, err := scm.Version(ctx, o); err != nil || v != "1.0.0" {
		t.Errorf("fail_on_shallow on an exact tag, compat 10: %q, %v", v, err)
	}
	o.Compat = scm.Compat9
	if _, err := scm.Version(ctx, o); !errors.Is(err, scm.ErrShallow) {
		t.Errorf("fail_on_shallow on an exact tag, compat 9: %v", err)
	}

	// fail_on_missing_submodules: a .gitmodules whose submodule is not
	// initialized.
	dir := filepath.Join(t.TempDir(), "sub")
	cmd := exec.Command("git", "-c", "advice.detachedHead=false", "clone", "-q", "file://"+repos.Path("t15"), dir)
	cmd.Env = repos.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitmodules"), []byte("[submodule \"lib\"]\n\tpath = lib\n\turl = ../lib\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o = scm.Options{Root: dir, Env: repos.Env(), PreParse: "fail_on_missing_submodules"}
	if _, err := scm.Describe(ctx, o); !errors.Is(err, scm.ErrConfig) || !strings.Contains(err.Error(), "not initialized") {
		t.Errorf("fail_on_missing_submodules: %v", err)
	}
}
