package main_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The CI recipes of docs/scmversion.md, run as written: each recipe's
// shell lines are taken from the document (the fenced block after
// "<!-- recipe: NAME -->"), with one substitution, the index URL
// https://pypi.example.com -> the test server's. They run in a depth-1
// clone checked out as that CI checks out, with its variables, and with
// the tools the recipe expects on PATH: python (Debian's, with build and
// twine installed, so that "pip install build twine" is satisfied without
// a network), twine, scmversion and go. python -m build runs with its
// build isolation; its pip finds setuptools, setuptools_scm and their
// dependencies in a local wheel folder (PIP_FIND_LINKS, PIP_NO_INDEX) made
// from the Debian packages, as a company CI would find them on its own
// index. GitHub's "go install github.com/pyindex/pyindex/cmd/scmversion@latest"
// runs too, against a local module proxy that serves this worktree as the
// latest version of the module (and the machine's module cache for its
// dependencies).

const recipeIndexURL = "https://pypi.example.com"

// recipeBlock returns the fenced code block after the recipe marker.
func recipeBlock(t *testing.T, doc, name string) string {
	t.Helper()
	marker := "<!-- recipe: " + name + " -->"
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("docs/scmversion.md has no %s", marker)
	}
	rest := doc[i+len(marker):]
	open := strings.Index(rest, "```")
	if open < 0 {
		t.Fatalf("no code block after %s", marker)
	}
	rest = rest[open+3:]
	rest = rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(rest, "\n```")
	if end < 0 {
		t.Fatalf("unterminated code block after %s", marker)
	}
	return rest[:end+1]
}

// gitlabScript returns the script: lines of a .gitlab-ci.yml job.
func gitlabScript(t *testing.T, block string) []string {
	t.Helper()
	var lines []string
	in := false
	for _, l := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case trimmed == "script:":
			in = true
		case in && strings.HasPrefix(trimmed, "- "):
			lines = append(lines, strings.TrimPrefix(trimmed, "- "))
		case in && (trimmed == "" || strings.HasPrefix(trimmed, "#")):
		case in:
			in = false
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no script lines in the GitLab recipe:\n%s", block)
	}
	return lines
}

// jenkinsSh returns the body of the recipe's sh step (the text between
// its triple quotes).
func jenkinsSh(t *testing.T, block string) string {
	t.Helper()
	_, rest, ok := strings.Cut(block, "sh '''")
	body, _, ok2 := strings.Cut(rest, "'''")
	if !ok || !ok2 {
		t.Fatalf("no sh ''' step in the Jenkins recipe:\n%s", block)
	}
	return body
}

// ghStep is one step of a GitHub Actions job.
type ghStep struct {
	uses, run string
	env       map[string]string
}

// githubSteps parses the steps of the recipe's job: uses, run (one line)
// and env (KEY: value) of each.
func githubSteps(t *testing.T, block string) []ghStep {
	t.Helper()
	var steps []ghStep
	inEnv := false
	for _, l := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "- ") && strings.Contains(l, "      - ") {
			steps = append(steps, ghStep{env: map[string]string{}})
			trimmed = strings.TrimPrefix(trimmed, "- ")
			inEnv = false
		}
		if len(steps) == 0 {
			continue
		}
		s := &steps[len(steps)-1]
		key, value, _ := strings.Cut(trimmed, ":")
		value = strings.TrimSpace(value)
		switch {
		case key == "uses":
			s.uses, _, _ = strings.Cut(value, " ")
			inEnv = false
		case key == "run":
			s.run = stripYAMLComment(value)
			inEnv = false
		case key == "env":
			inEnv = true
		case inEnv && value != "":
			s.env[key] = value
		default:
			inEnv = false
		}
	}
	if len(steps) == 0 {
		t.Fatalf("no steps in the GitHub recipe:\n%s", block)
	}
	return steps
}

// stripYAMLComment drops a trailing " # comment" outside quotes.
func stripYAMLComment(s string) string {
	inQuote := byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote != 0 && c == inQuote:
			inQuote = 0
		case inQuote == 0 && (c == '"' || c == '\''):
			inQuote = c
		case inQuote == 0 && c == '#' && i > 0 && s[i-1] == ' ':
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

// recipeEnv is the machine a recipe runs on: a bin folder with the tools,
// a HOME, the wheel folder for build isolation.
type recipeEnv struct {
	bin, home, wheels string
	goproxy           []string // the go environment of startModuleProxy
}

func newRecipeEnv(t *testing.T) *recipeEnv {
	t.Helper()
	python := need(t, "/usr/bin/python3")
	twine := need(t, "twine")
	gitPath := need(t, "git")
	goPath := need(t, "go")
	e := &recipeEnv{bin: t.TempDir(), home: t.TempDir(), wheels: t.TempDir()}
	for name, target := range map[string]string{"python": python, "python3": python, "twine": twine,
		"scmversion": scmversionBinary(t), "git": gitPath, "go": goPath} {
		if err := os.Symlink(target, filepath.Join(e.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(e.bin, "pip"), "#!/bin/sh\nexec "+python+" -m pip \"$@\"\n")
	if err := os.Chmod(filepath.Join(e.bin, "pip"), 0o755); err != nil {
		t.Fatal(err)
	}
	buildWheelhouse(t, e.wheels)
	return e
}

// environ is the environment of a CI job: PATH with the tools, the CI's
// variables, and pip kept off the network.
func (e *recipeEnv) environ(ci ...string) []string {
	env := []string{"PATH=" + e.bin + ":/usr/bin:/bin", "HOME=" + e.home,
		"PIP_NO_INDEX=1", "PIP_FIND_LINKS=" + e.wheels, "PIP_BREAK_SYSTEM_PACKAGES=1", "PIP_ROOT_USER_ACTION=ignore",
		// Build isolation installs into two fresh environments per build:
		// byte-compiling them only costs time.
		"PIP_NO_COMPILE=1"}
	env = append(env, e.goproxy...)
	return append(env, ci...)
}

// sitePackages is where Debian's Python packages live.
const sitePackages = "/usr/lib/python3/dist-packages"

// buildWheelhouse writes the wheels python -m build's isolated environment
// installs: Debian's setuptools wheel, and setuptools_scm, packaging,
// typing_extensions and wheel repacked from their Debian installation.
func buildWheelhouse(t *testing.T, dir string) {
	t.Helper()
	matches, _ := filepath.Glob("/usr/share/python-wheels/setuptools-*.whl")
	if len(matches) == 0 {
		if inCI() {
			t.Fatal("no setuptools wheel in /usr/share/python-wheels (python3-setuptools-whl)")
		}
		t.Skip("no setuptools wheel in /usr/share/python-wheels")
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, filepath.Base(matches[0])), string(b))
	for _, p := range []struct{ meta, top string }{
		{"setuptools_scm-*.dist-info", "setuptools_scm"},
		{"packaging-*.dist-info", "packaging"},
		{"typing_extensions-*.dist-info", "typing_extensions.py"},
		{"wheel-*.egg-info", "wheel"},
	} {
		metas, _ := filepath.Glob(filepath.Join(sitePackages, p.meta))
		if len(metas) == 0 {
			if inCI() {
				t.Fatalf("%s missing in %s", p.meta, sitePackages)
			}
			t.Skipf("%s missing in %s", p.meta, sitePackages)
		}
		repackWheel(t, dir, metas[0], p.top)
	}
}

// repackWheel makes a py3-none-any wheel of an installed distribution:
// its top-level package (or module) and its metadata.
func repackWheel(t *testing.T, dir, meta, top string) {
	t.Helper()
	base := filepath.Base(meta)
	nameVersion := strings.TrimSuffix(strings.TrimSuffix(base, ".dist-info"), ".egg-info")
	name, version, _ := strings.Cut(nameVersion, "-")
	distInfo := name + "-" + version + ".dist-info/"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	add := func(arc string, data []byte) {
		w, err := zw.Create(arc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", arc, base64.RawURLEncoding.EncodeToString(sum[:]), len(data))
	}
	src := filepath.Join(sitePackages, top)
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if fi.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sitePackages, path)
		add(filepath.ToSlash(rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	metadata := filepath.Join(meta, "METADATA")
	if strings.HasSuffix(base, ".egg-info") {
		metadata = filepath.Join(meta, "PKG-INFO")
	}
	data, err := os.ReadFile(metadata)
	if err != nil {
		t.Fatal(err)
	}
	add(distInfo+"METADATA", data)
	if data, err := os.ReadFile(filepath.Join(meta, "entry_points.txt")); err == nil {
		add(distInfo+"entry_points.txt", data)
	}
	add(distInfo+"WHEEL", []byte("Wheel-Version: 1.0\nGenerator: pyindex-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
	fmt.Fprintf(&record, "%sRECORD,,\n", distInfo)
	w, err := zw.Create(distInfo + "RECORD")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name+"-"+version+"-py3-none-any.whl"), buf.String())
}

// startModuleProxy writes a GOPROXY folder that serves this worktree as
// github.com/pyindex/pyindex v0.999.0 (the latest), falling back to the
// machine's module cache for dependencies, and sets e.goproxy to the
// environment go install needs to use it and nothing else.
func (e *recipeEnv) startModuleProxy(t *testing.T) {
	t.Helper()
	const module, version = "github.com/pyindex/pyindex", "v0.999.0"
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	proxy := t.TempDir()
	vdir := filepath.Join(proxy, module, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, version, time.Now().UTC().Format(time.RFC3339))
	for name, body := range map[string]string{"list": version + "\n", version + ".info": info, version + ".mod": string(gomod)} {
		writeFile(t, filepath.Join(vdir, name), body)
	}
	writeFile(t, filepath.Join(proxy, module, "@latest"), info)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if fi.IsDir() {
			if rel != "." && (strings.HasPrefix(fi.Name(), ".") || fi.Name() == "testdata" || fi.Name() == "data") {
				return filepath.SkipDir
			}
			return nil
		}
		if !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		w, err := zw.Create(module + "@" + version + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(vdir, version+".zip"), buf.String())
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	e.goproxy = []string{
		"GOPROXY=file://" + proxy + ",file://" + filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"),
		"GOSUMDB=off", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local",
		"GOMODCACHE=" + filepath.Join(t.TempDir(), "mod"), "GOCACHE=" + strings.TrimSpace(string(gocache)),
	}
}

// shell runs a script with a shell in dir and fails the test on error.
func shell(t *testing.T, dir string, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// TestScmversionCIRecipes runs the GitLab, Jenkins and GitHub Actions
// recipes of docs/scmversion.md one after the other, each on a new commit
// in a depth-1 clone without tags, after a full clone uploaded 1.2.4.dev1.
// Each must build and upload the next dev version of base 1.2.4, with the
// CI's branch recorded.
func TestScmversionCIRecipes(t *testing.T) {
	docBytes, err := os.ReadFile(filepath.Join("..", "..", "docs", "scmversion.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(docBytes), recipeIndexURL, "@INDEX@")
	repo := newScmRepo(t, "demo")
	m := startServer(t, nil)
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	tok := createToken(t, m, "ci", "--project", "demo")
	renv := newRecipeEnv(t)
	sub := func(s string) string { return strings.ReplaceAll(s, "@INDEX@", m.URL()) }

	repo.commit("second")
	full := repo.clone()
	v := scmversionIn(t, full, []string{"PYINDEX_TOKEN=" + tok}, "--index", m.URL(), "--project", "demo", "--local-scheme", "no-local-version")
	if v != "1.2.4.dev1" {
		t.Fatalf("full clone: %s", v)
	}
	buildAndUpload(t, m, full, v, tok)

	// checkout makes a depth-1 clone of a new commit, with HEAD detached
	// as GitLab and Jenkins leave it, or on the branch as actions/checkout
	// does for a push.
	checkout := func(msg string, detached bool) (string, string) {
		t.Helper()
		repo.commit(msg)
		dir := repo.clone("--depth", "1", "--no-tags")
		sha := repo.run(dir, "rev-parse", "HEAD")
		if detached {
			repo.run(dir, "checkout", "-q", "--detach", sha)
		}
		if tags := repo.run(dir, "tag"); tags != "" {
			t.Fatalf("the clone has tags %q", tags)
		}
		return dir, sha
	}
	addUser(t, m, "root", "root-password-1", true)
	// check asks the admin API for the release: both files, recorded with
	// the commit and the CI's branch.
	check := func(t *testing.T, want, sha, branch string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/api/v1/projects/demo", nil)
		req.SetBasicAuth("root", "root-password-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Releases []struct {
				Version string `json:"version"`
				Files   []struct {
					Filename string `json:"filename"`
					Commit   string `json:"commit"`
					Branch   string `json:"branch"`
				} `json:"files"`
			} `json:"releases"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatalf("admin API: %d %v", resp.StatusCode, err)
		}
		for _, r := range page.Releases {
			if r.Version != want {
				continue
			}
			if len(r.Files) != 2 {
				t.Errorf("%s has %d files, want sdist and wheel", want, len(r.Files))
			}
			for _, f := range r.Files {
				if f.Commit != sha || f.Branch != branch {
					t.Errorf("%s records commit %q branch %q, want %s %s", f.Filename, f.Commit, f.Branch, sha, branch)
				}
			}
			return
		}
		t.Errorf("the index has no release %s: %+v", want, page.Releases)
	}

	t.Run("gitlab", func(t *testing.T) {
		block := sub(recipeBlock(t, doc, "gitlab"))
		if !regexp.MustCompile(`GIT_DEPTH: "1"`).MatchString(block) {
			t.Errorf("the GitLab recipe does not clone with GIT_DEPTH 1:\n%s", block)
		}
		dir, sha := checkout("third", true)
		// GitLab runs the script lines in one shell, stopping at the first
		// failure.
		script := "set -eo pipefail\n" + strings.Join(gitlabScript(t, block), "\n") + "\n"
		out := shell(t, dir, renv.environ("CI=true", "GITLAB_CI=true", "CI_COMMIT_REF_NAME=main", "CI_COMMIT_BRANCH=main",
			"CI_COMMIT_SHA="+sha, "PYINDEX_TOKEN="+tok), "bash", "-c", script)
		if !strings.Contains(out, "building 1.2.4.dev2") {
			t.Errorf("GitLab job output lacks the version 1.2.4.dev2:\n%s", out)
		}
		check(t, "1.2.4.dev2", sha, "main")
	})
	t.Run("jenkins", func(t *testing.T) {
		block := sub(recipeBlock(t, doc, "jenkins"))
		if !strings.Contains(block, "shallow: true, depth: 1") {
			t.Errorf("the Jenkins recipe does not check out with depth 1:\n%s", block)
		}
		dir, sha := checkout("fourth", true)
		script := filepath.Join(t.TempDir(), "script.sh")
		writeFile(t, script, jenkinsSh(t, block))
		// Jenkins runs an sh step as sh -xe.
		out := shell(t, dir, renv.environ("JENKINS_URL=http://jenkins.example.com/", "BRANCH_NAME=main", "GIT_BRANCH=origin/main",
			"GIT_COMMIT="+sha, "PYINDEX_TOKEN="+tok), "sh", "-xe", script)
		if !strings.Contains(out, "building 1.2.4.dev3") {
			t.Errorf("Jenkins output lacks the version 1.2.4.dev3:\n%s", out)
		}
		check(t, "1.2.4.dev3", sha, "main")
	})
	t.Run("github", func(t *testing.T) {
		renv.startModuleProxy(t)
		block := sub(recipeBlock(t, doc, "github"))
		steps := githubSteps(t, block)
		var dir, sha string
		githubEnv := filepath.Join(t.TempDir(), "github_env")
		writeFile(t, githubEnv, "")
		ran := 0
		for _, s := range steps {
			switch {
			case s.uses == "actions/checkout@v4":
				dir, sha = checkout("fifth", false)
			case strings.HasPrefix(s.uses, "actions/setup-python@"), strings.HasPrefix(s.uses, "actions/setup-go@"):
				// python and go are on PATH.
			case s.uses != "":
				t.Fatalf("the GitHub recipe uses %s, which the test does not provide", s.uses)
			case s.run != "":
				if dir == "" {
					t.Fatal("a run step before actions/checkout")
				}
				env := []string{"CI=true", "GITHUB_ACTIONS=true", "GITHUB_REF=refs/heads/main", "GITHUB_REF_NAME=main",
					"GITHUB_SHA=" + sha, "GITHUB_ENV=" + githubEnv}
				// Variables earlier steps wrote to $GITHUB_ENV.
				b, _ := os.ReadFile(githubEnv)
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					if l != "" {
						env = append(env, l)
					}
				}
				for k, v := range s.env {
					if v == "${{ secrets.PYINDEX_TOKEN }}" {
						v = tok
					}
					env = append(env, k+"="+v)
				}
				// GitHub's default shell on Linux.
				shell(t, dir, renv.environ(env...), "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.run)
				ran++
			}
		}
		if ran < 5 {
			t.Errorf("ran %d run steps of the GitHub recipe", ran)
		}
		b, _ := os.ReadFile(githubEnv)
		if !strings.Contains(string(b), "SETUPTOOLS_SCM_PRETEND_VERSION=1.2.4.dev4\n") {
			t.Errorf("$GITHUB_ENV is %q, want SETUPTOOLS_SCM_PRETEND_VERSION=1.2.4.dev4", b)
		}
		check(t, "1.2.4.dev4", sha, "main")
	})

	// The builds of the three shallow clones sort after the full clone's:
	// pip --pre installs the last one.
	target := t.TempDir()
	run(t, "", nil, pyenvPip(t), "-m", "pip", "install", "--no-cache-dir", "--pre", "--index-url", m.URL()+"/simple/", "--target", target, "demo")
	if got := installed(t, target); len(got) != 1 || got[0] != "demo==1.2.4.dev4" {
		t.Errorf("pip --pre installed %v, want demo==1.2.4.dev4", got)
	}
}
