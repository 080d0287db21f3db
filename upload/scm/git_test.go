package scm_test

import (
	"context"
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
