package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scmRepo is a git origin for the scmversion end-to-end tests: a
// setuptools_scm project with tag v1.2.3 and commits after it.
type scmRepo struct {
	t      *testing.T
	git    string
	origin string
	module string
	env    []string
}

func newScmRepo(t *testing.T, project string) *scmRepo {
	t.Helper()
	r := &scmRepo{t: t, git: need(t, "git"), origin: t.TempDir(),
		env: []string{"GIT_AUTHOR_NAME=CI", "GIT_AUTHOR_EMAIL=ci@example.com", "GIT_COMMITTER_NAME=CI",
			"GIT_COMMITTER_EMAIL=ci@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}}
	module := strings.ReplaceAll(project, "-", "_")
	writeFile(t, filepath.Join(r.origin, "pyproject.toml"), `[build-system]
requires = ["setuptools>=61", "setuptools_scm"]
build-backend = "setuptools.build_meta"

[project]
name = "`+project+`"
dynamic = ["version"]

[tool.setuptools]
py-modules = ["`+module+`"]

[tool.setuptools_scm]
`)
	writeFile(t, filepath.Join(r.origin, module+".py"), "X = 0\n")
	r.run(r.origin, "init", "-q", "-b", "main")
	r.run(r.origin, "add", ".")
	r.run(r.origin, "commit", "-q", "-m", "first")
	r.run(r.origin, "tag", "v1.2.3")
	r.module = module
	return r
}

func (r *scmRepo) run(dir string, args ...string) string {
	r.t.Helper()
	return strings.TrimSpace(run(r.t, dir, r.env, r.git, args...))
}

// commit changes the module and commits on the origin.
func (r *scmRepo) commit(msg string) {
	r.t.Helper()
	writeFile(r.t, filepath.Join(r.origin, r.module+".py"), "X = '"+msg+"'\n")
	r.run(r.origin, "commit", "-q", "-am", msg)
}

// clone clones the origin (extra arguments such as --depth 1).
func (r *scmRepo) clone(args ...string) string {
	r.t.Helper()
	dir := filepath.Join(r.t.TempDir(), "clone")
	r.run("", append(append([]string{"clone", "-q"}, args...), "file://"+r.origin, dir)...)
	return dir
}

// scmversionIn runs scmversion in dir and returns stdout, failing on error.
func scmversionIn(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, _ := scmversionErr(t, dir, env, args...)
	return out
}

// scmversionErr is scmversionIn that also returns stderr.
func scmversionErr(t *testing.T, dir string, env []string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(scmversionBinary(t), args...)
	cmd.Dir, cmd.Env = dir, append(cleanEnv(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scmversion %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), stderr.String()
}

// buildAndUpload builds clone with the pretend version (python3 -m build,
// no network) and uploads both files with twine.
func buildAndUpload(t *testing.T, m interface{ URL() string }, clone, version, token string) {
	t.Helper()
	python := need(t, "/usr/bin/python3")
	dist := filepath.Join(t.TempDir(), "dist")
	run(t, clone, []string{"SETUPTOOLS_SCM_PRETEND_VERSION=" + version}, python, "-m", "build", "--no-isolation", "--outdir", dist, clone)
	files, _ := filepath.Glob(filepath.Join(dist, "*"))
	if len(files) != 2 {
		t.Fatalf("built %v", files)
	}
	twine := need(t, "twine")
	run(t, "", nil, twine, append([]string{"upload", "--non-interactive", "--disable-progress-bar", "--repository-url", m.URL() + "/legacy/",
		"-u", "__token__", "-p", token}, files...)...)
}

// pyenvPip returns the newest pyenv Python (its pip), failing in CI when
// none is there.
func pyenvPip(t *testing.T) string {
	t.Helper()
	ps := pips(t)
	return ps[len(ps)-1].python
}

// TestScmversionShallowAfterFullClone is issue 20's shallow-clone flow: a
// full clone uploads 1.2.4.dev2 (tag v1.2.3 plus two commits); a depth-1
// clone of the next commit has no tag, and scmversion --index takes its
// base from the index, so its version is greater and pip --pre installs
// it. Retention's released_dev and keep_dev then prune those builds under
// their real base.
func TestScmversionShallowAfterFullClone(t *testing.T) {
	repo := newScmRepo(t, "acme-svc")
	m := startServer(t, nil)
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	tok := createToken(t, m, "ci", "--project", "acme-svc")
	env := []string{"PYINDEX_TOKEN=" + tok}
	args := []string{"--index", m.URL(), "--project", "acme-svc", "--local-scheme", "no-local-version"}

	repo.commit("second")
	repo.commit("third")
	full := repo.clone()
	v1 := scmversionIn(t, full, env, args...)
	// The index hands out 1 for the first number of base 1.2.4, whatever
	// the commit count; setuptools_scm's own count would be 2. Upload a
	// 1.2.4.dev1 first so that the full clone's build is 1.2.4.dev2, as in
	// the issue.
	if v1 != "1.2.4.dev1" {
		t.Fatalf("full clone: %s, want 1.2.4.dev1", v1)
	}
	buildAndUpload(t, m, full, v1, tok)
	repo.commit("fourth")
	full = repo.clone()
	v2 := scmversionIn(t, full, env, args...)
	if v2 != "1.2.4.dev2" {
		t.Fatalf("full clone: %s, want 1.2.4.dev2", v2)
	}
	buildAndUpload(t, m, full, v2, tok)

	repo.commit("fifth")
	shallow := repo.clone("--depth", "1")
	if tags := repo.run(shallow, "tag"); tags != "" {
		t.Fatalf("the depth-1 clone has tags %q", tags)
	}
	json := scmversionIn(t, shallow, env, append(args, "--format", "json")...)
	for _, want := range []string{`"version": "1.2.4.dev3"`, `"base_from": "index: no tag in the clone, newest version 1.2.4.dev2"`} {
		if !strings.Contains(json, want) {
			t.Errorf("json lacks %s:\n%s", want, json)
		}
	}
	v3, stderr := scmversionErr(t, shallow, env, args...)
	if v3 != "1.2.4.dev3" {
		t.Fatalf("depth-1 clone: %s, want 1.2.4.dev3 (above 1.2.4.dev2)", v3)
	}
	if n := strings.Count(stderr, "is shallow"); n != 1 {
		t.Errorf("the shallow-clone warning printed %d times:\n%s", n, stderr)
	}
	// --server-base: the server's guess-next-dev of the newest version
	// (1.2.4.dev3, this commit's own number) keeps base 1.2.4, and the
	// commit gets its number again.
	if v := scmversionIn(t, shallow, env, append(args, "--server-base")...); v != v3 {
		t.Errorf("--server-base: %s, want %s", v, v3)
	}
	buildAndUpload(t, m, shallow, v3, tok)

	target := t.TempDir()
	run(t, "", nil, pyenvPip(t), "-m", "pip", "install", "--no-cache-dir", "--pre", "--index-url", m.URL()+"/simple/", "--target", target, "acme-svc")
	if got := installed(t, target); len(got) != 1 || got[0] != "acme-svc=="+v3 {
		t.Errorf("pip --pre installed %v, want acme-svc==%s", got, v3)
	}

	// keep_dev groups the shallow build with the full clones' (base 1.2.4).
	out := cli(t, m, "", "prune", "--keep-dev", "1", "--dry-run")
	for _, want := range []string{"1.2.4.dev1", "1.2.4.dev2"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune --keep-dev 1 would not delete %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "1.2.4.dev3") {
		t.Errorf("prune --keep-dev 1 would delete the newest build:\n%s", out)
	}
	// Release 1.2.4 from the origin's tag: released_dev prunes every
	// 1.2.4.devN, the shallow clone's included; the next shallow build is
	// 1.2.5.dev1.
	repo.run(repo.origin, "tag", "v1.2.4")
	rel := repo.clone()
	if v := scmversionIn(t, rel, env, args...); v != "1.2.4" {
		t.Fatalf("tagged clone: %s", v)
	}
	buildAndUpload(t, m, rel, "1.2.4", tok)
	out = cli(t, m, "", "prune", "--released-dev")
	if !strings.Contains(out, "deleted 3 releases") {
		t.Errorf("prune --released-dev:\n%s", out)
	}
	repo.commit("sixth")
	if v := scmversionIn(t, repo.clone("--depth", "1"), env, args...); v != "1.2.5.dev1" {
		t.Errorf("depth-1 clone after the release: %s, want 1.2.5.dev1", v)
	}
}
