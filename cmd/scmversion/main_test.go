package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/upload/scm/scmtest"
)

// repos holds the oracle repositories (see upload/scm/scmtest), built once
// per test binary.
var repos *scmtest.Repos

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Fprintln(os.Stderr, "scmversion tests need git on PATH:", err)
		return 1
	}
	work, err := os.MkdirTemp("", "scmversion-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	if repos, err = scmtest.Build(context.Background(), work); err != nil {
		fmt.Fprintln(os.Stderr, "building the oracle repositories:", err)
		return 1
	}
	return m.Run()
}

// cli runs scmversion in-process.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env, &out, &errb)
	return out.String(), errb.String(), code
}

// mustCLI runs scmversion and fails the test unless it exits 0.
func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, env, args...)
	if code != 0 {
		t.Fatalf("scmversion %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// env is the isolated environment of the oracle (empty HOME, pinned
// SOURCE_DATE_EPOCH) plus extra.
func env(extra ...string) []string {
	return append(repos.Env(), extra...)
}

// git runs git in dir with the oracle's environment and returns its
// trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env("GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.invalid",
		"GIT_AUTHOR_DATE=@1718000000 +0000", "GIT_COMMITTER_DATE=@1718000000 +0000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// clone clones an oracle case into a temporary directory.
func clone(t *testing.T, caseName string, args ...string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), caseName)
	argv := append([]string{"-c", "advice.detachedHead=false", "clone", "-q"}, args...)
	git(t, t.TempDir(), append(argv, "file://"+repos.Path(caseName), dst)...)
	return dst
}

func TestFormats(t *testing.T) {
	root := repos.Path("t15")
	if got := mustCLI(t, env(), "--root", root); got != "1.2.4.dev2+g594b2a123\n" {
		t.Errorf("default (compat 10): %q", got)
	}
	if got := mustCLI(t, env(), "--root", root, "--compat", "7"); got != "1.2.4.dev2+g594b2a1\n" {
		t.Errorf("compat 7: %q", got)
	}
	got := mustCLI(t, env(), "--root", root, "--format", "env", "--dist-name", "My.Pkg", "--local-scheme", "no-local-version")
	if want := "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG=1.2.4.dev2\nSETUPTOOLS_SCM_PRETEND_VERSION=1.2.4.dev2\n"; got != want {
		t.Errorf("env: %q, want %q", got, want)
	}
	got = mustCLI(t, env(), "--root", root, "--format", "env")
	if want := "SETUPTOOLS_SCM_PRETEND_VERSION=1.2.4.dev2+g594b2a123\n"; got != want {
		t.Errorf("env without dist name: %q, want %q", got, want)
	}
	got = mustCLI(t, env(), "--root", root, "--format", "json")
	for _, want := range []string{
		`"version": "1.2.4.dev2+g594b2a123"`, `"tag": "1.2.3"`, `"distance": 2`, `"node": "g594b2a123"`,
		`"dirty": false`, `"branch": "main"`, `"commit": "594b2a12`, `"base": "1.2.4"`, `"node_date": "2024-03-01"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("json lacks %s:\n%s", want, got)
		}
	}
	// The JSON commit is the full hash even where describe abbreviates it.
	got = mustCLI(t, env(), "--root", root, "--format", "json", "--compat", "7")
	if full := git(t, root, "rev-parse", "HEAD"); !strings.Contains(got, `"commit": "`+full+`"`) {
		t.Errorf("compat 7 json lacks the full commit %s:\n%s", full, got)
	}
}

func TestFlagsAndPyproject(t *testing.T) {
	dir := clone(t, "t15")
	cfg := filepath.Join(dir, "pyproject.toml")
	if err := os.WriteFile(cfg, []byte(`[project]
name = "demo.pkg"

[tool.setuptools_scm]
version_scheme = "post-release"
local_scheme = ["no-local-version"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// --config alone: the root is the file's directory.
	if got := mustCLI(t, env(), "--config", cfg); got != "1.2.3.post2\n" {
		t.Errorf("from pyproject.toml: %q", got)
	}
	// Flags win over the file.
	if got := mustCLI(t, env(), "--config", cfg, "--version-scheme", "guess-next-dev"); got != "1.2.4.dev2\n" {
		t.Errorf("flag over file: %q", got)
	}
	// pyproject.toml is found from --root; [project] name selects the
	// _FOR_<DIST> pretend variable.
	if got := mustCLI(t, env("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO_PKG=7.0"), "--root", dir); got != "7.0\n" {
		t.Errorf("pretend for [project] name: %q", got)
	}
	if got := mustCLI(t, env("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO.PKG=7.0"), "--root", dir, "--compat", "7"); got != "7.0\n" {
		t.Errorf("compat 7 pretend name: %q", got)
	}
	// Untracked pyproject.toml does not make the tree dirty; a tracked,
	// modified one does (dirty at distance 2).
	git(t, dir, "add", "pyproject.toml")
	if got := mustCLI(t, env(), "--root", dir, "--local-scheme", "node-and-date"); got != "1.2.3.post2+g594b2a123.d20240620\n" {
		t.Errorf("dirty: %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		// The text after the version group is dropped up to 8; from 9 it is
		// kept when version+suffix is valid PEP 440.
		{[]string{"--tag-regex", `^(?P<version>\d+)\.(\d+)`, "--compat", "8"}, "2.dev2"},
		{[]string{"--tag-regex", `^(?P<version>\d+)\.(\d+)`}, "1.3.dev2"},
		{[]string{"--git-describe-command", "git describe --tags --long --match 'nomatch*'", "--compat", "9", "--fallback-version", "4.0"}, "4.1.dev3"},
		{[]string{"--version-scheme", "only-version,guess-next-dev", "--compat", "7"}, "1.2.4.dev2"},
	} {
		args := append([]string{"--root", repos.Path("t15"), "--local-scheme", "no-local-version"}, tc.args...)
		if got := mustCLI(t, env(), args...); got != tc.want+"\n" {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	plain := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"not a git checkout", []string{"--root", plain}, "unable to detect version"},
		{"subdirectory of a work tree", []string{"--root", filepath.Join(repos.Work, "home")}, "unable to detect version"},
		{"tag is not a version", []string{"--root", repos.Path("t40")}, "build42"},
		{"regex RE2 lacks", []string{"--root", repos.Path("t15"), "--tag-regex", `(?<=v)(\d+)`}, "tag_regex"},
		{"unknown scheme", []string{"--root", repos.Path("t15"), "--version-scheme", "nope"}, "unknown version scheme"},
		{"bad format", []string{"--root", repos.Path("t15"), "--format", "xml"}, "--format"},
		{"bad compat", []string{"--root", repos.Path("t15"), "--compat", "6"}, "compat"},
		{"stray argument", []string{"x"}, "unknown command"},
		{"project without index", []string{"--root", repos.Path("t15"), "--project", "p"}, "--index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, env(), tc.args...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.msg) || !strings.HasPrefix(errOut, "scmversion: ") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, %q on stderr", code, out, errOut, tc.msg)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	out, _, code := cli(t, env(), "--help")
	for _, want := range []string{"Usage:", "--version-scheme", "--index", "--server-base", "PYINDEX_TOKEN", "--compat"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help (exit %d) lacks %q", code, want)
		}
	}
}

func TestWarningsGoToStderr(t *testing.T) {
	out, errOut, code := cli(t, env(), "--root", repos.Path("t58"), "--compat", "7")
	if code != 0 || out != "0.1.dev1+g594b2a1\n" || !strings.Contains(errOut, "is shallow") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestNetrc(t *testing.T) {
	text := `# comment
machine other.example login u password nope
machine pypi.example.com
  login ci
  password s3cret
macdef init
  password macro

default login anon password fallback
`
	if l, p, ok := parseNetrc(text, "pypi.example.com"); !ok || p != "s3cret" || l != "ci" {
		t.Errorf("machine: %q %q, %v", l, p, ok)
	}
	if l, p, ok := parseNetrc(text, "unknown.example"); !ok || p != "fallback" || l != "anon" {
		t.Errorf("default: %q %q, %v", l, p, ok)
	}
	if _, _, ok := parseNetrc("machine a password b", "c"); ok {
		t.Error("no entry: found one")
	}
	// A user's netrc password goes as Basic credentials, a token as Bearer
	// (it once went as Bearer either way, which the index refuses).
	dir := t.TempDir()
	for _, tc := range []struct{ netrc, user, secret string }{
		{"machine idx.example login ci password pw-1", "ci", "pw-1"},
		{"machine idx.example login __token__ password pyi_x", "", "pyi_x"},
		{"machine idx.example password pyi_y", "", "pyi_y"},
	} {
		path := filepath.Join(dir, "netrc")
		if err := os.WriteFile(path, []byte(tc.netrc), 0o600); err != nil {
			t.Fatal(err)
		}
		if u, s := credentials("https://idx.example", map[string]string{"NETRC": path}); u != tc.user || s != tc.secret {
			t.Errorf("%s: credentials %q %q, want %q %q", tc.netrc, u, s, tc.user, tc.secret)
		}
	}
}

func TestIndexRoot(t *testing.T) {
	for in, want := range map[string]string{
		"https://pypi.example.com":         "https://pypi.example.com",
		"https://pypi.example.com/":        "https://pypi.example.com",
		"https://pypi.example.com/simple/": "https://pypi.example.com",
		"http://h:8080/team/simple":        "http://h:8080/team",
		"http://h/legacy/":                 "http://h",
	} {
		if got, err := indexRoot(in); err != nil || got != want {
			t.Errorf("indexRoot(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := indexRoot("pypi.example.com"); err == nil {
		t.Error("indexRoot without scheme: no error")
	}
}

// TestVersionFlag: scmversion --version names its build, like pyindex.
func TestVersionFlag(t *testing.T) {
	out, errOut, code := cli(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "scmversion version ") || errOut != "" {
		t.Errorf("--version: exit %d, %q, %q", code, out, errOut)
	}
}

// TestCompatAuto: without --compat the release line comes from the
// setuptools_scm requirement in [build-system] requires, and --format json
// says so.
func TestCompatAuto(t *testing.T) {
	dir := clone(t, "t15")
	write := func(requires string) {
		t.Helper()
		body := "[build-system]\nrequires = [" + requires + "]\n\n[project]\nname = \"demo\"\n\n[tool.setuptools_scm]\n"
		if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`"setuptools>=61", "setuptools_scm[toml]<8"`)
	if got := mustCLI(t, env(), "--root", dir); got != "1.2.4.dev2+g594b2a1\n" {
		t.Errorf("setuptools_scm<8: %q, want compat 7's node", got)
	}
	js := mustCLI(t, env(), "--root", dir, "--format", "json")
	for _, want := range []string{`"compat": 7,`, `"compat_from": "pyproject.toml build-system requires setuptools_scm[toml]<8"`} {
		if !strings.Contains(js, want) {
			t.Errorf("json lacks %s:\n%s", want, js)
		}
	}
	// The flag wins.
	if js := mustCLI(t, env(), "--root", dir, "--format", "json", "--compat", "9"); !strings.Contains(js, `"compat_from": "--compat 9"`) {
		t.Errorf("--compat 9:\n%s", js)
	}
	write(`"setuptools>=61", "setuptools-scm>=8"`)
	if got := mustCLI(t, env(), "--root", dir); got != "1.2.4.dev2+g594b2a123\n" {
		t.Errorf("setuptools-scm>=8: %q, want compat 10's node", got)
	}
	write(`"setuptools_scm>=>8"`)
	if _, errOut, code := cli(t, env(), "--root", dir); code != 1 || !strings.Contains(errOut, "setuptools_scm>=>8") {
		t.Errorf("bad requirement: exit %d, %q", code, errOut)
	}
}
