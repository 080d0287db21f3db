package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pgtest"
)

// The end-to-end tests drive the real program in-process with real clients:
// python3 -m build makes the distributions, twine uploads them, and pip of
// several versions installs them. Outside CI a missing client skips the
// test; with CI=true it fails it, so a green CI run means they really ran.

func inCI() bool { return os.Getenv("CI") == "true" }

// need returns the path of a tool, or skips (fails in CI) when it is absent.
func need(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() && !inCI() {
		t.Skip("end-to-end test skipped with -short")
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if filepath.IsAbs(name) {
			if _, serr := os.Stat(name); serr == nil {
				return name
			}
		}
		if inCI() {
			t.Fatalf("%s is required in CI but missing (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// startServer runs pyindex on 127.0.0.1:0 with a fresh data folder.
func startServer(t testing.TB, mutate func(*pyindex.Config)) *pyindex.Main {
	t.Helper()
	return startServerWith(t, mutate, nil)
}

// startServerWith is startServer with a hook that may change the Main
// before it runs (to wrap its store, for example).
func startServerWith(t testing.TB, mutate func(*pyindex.Config), prepare func(*pyindex.Main)) *pyindex.Main {
	t.Helper()
	cfg := pyindex.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.LogLevel = "warn"
	// The default upstream is pypi.org: no test may reach the internet.
	// Mirror tests point mutate at a local upstream (mirror/mirrortest).
	cfg.Mirror.Upstream = ""
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := pyindex.NewMain(cfg, &testLogWriter{t: t})
	if prepare != nil {
		prepare(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

type testLogWriter struct {
	mu sync.Mutex
	t  testing.TB
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Logf("server: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// run executes a command and fails the test with its output on error.
func run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cleanEnv is the environment for client tools: no user pip configuration,
// no proxies, no version checks, nothing that could reach the internet.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "TWINE_") || strings.HasSuffix(strings.ToLower(k), "_proxy") || k == "PYTHONPATH" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_CONFIG_FILE=/dev/null",
		"PYTHONDONTWRITEBYTECODE=1")
}

// project describes a tiny setuptools project for the tests.
type project struct {
	name, version, requiresPython string
	deps                          []string
}

var e2eProjects = []project{
	{name: "e2e-lib", version: "1.0"},
	{name: "e2e-lib", version: "1.5", requiresPython: ">=3.99"},
	{name: "e2e-lib", version: "2.0rc1"},
	{name: "e2e-app", version: "1.0", deps: []string{"e2e-lib>=1.0"}},
}

var (
	distsOnce sync.Once
	distsDir  string
	distsErr  string
)

// buildDists builds every e2eProjects entry once per test binary with
// python3 -m build (Debian's python3-build and setuptools, no network:
// --no-isolation). Wheels are universal (py2.py3) so that pip 19 on
// Python 2.7 can install them too.
func buildDists(t *testing.T) string {
	t.Helper()
	python := need(t, "/usr/bin/python3")
	distsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pyindex-e2e-dists-")
		if err != nil {
			distsErr = err.Error()
			return
		}
		distsDir = dir
		for _, p := range e2eProjects {
			src := filepath.Join(dir, "src", p.name+"-"+p.version)
			mod := strings.ReplaceAll(p.name, "-", "_")
			files := map[string]string{
				"pyproject.toml": "[build-system]\nrequires = [\"setuptools\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n",
				"setup.cfg": "[metadata]\nname = " + p.name + "\nversion = " + p.version +
					"\ndescription = pyindex end-to-end test project\n\n[options]\npy_modules = " + mod +
					pyReq(p.requiresPython) + installRequires(p.deps) + "\n[bdist_wheel]\nuniversal = 1\n",
				mod + ".py": "VERSION = " + `"` + p.version + `"` + "\n",
			}
			if err := os.MkdirAll(src, 0o755); err != nil {
				distsErr = err.Error()
				return
			}
			for name, body := range files {
				if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
					distsErr = err.Error()
					return
				}
			}
			cmd := exec.Command(python, "-m", "build", "--no-isolation", "--outdir", filepath.Join(dir, "dist"), src)
			cmd.Env = append(cleanEnv(), "SOURCE_DATE_EPOCH=1700000000")
			if out, err := cmd.CombinedOutput(); err != nil {
				distsErr = "python3 -m build " + p.name + ": " + err.Error() + "\n" + string(out)
				return
			}
		}
	})
	if distsErr != "" {
		t.Fatal(distsErr)
	}
	return filepath.Join(distsDir, "dist")
}

func pyReq(s string) string {
	if s == "" {
		return ""
	}
	return "\npython_requires = " + s
}

func installRequires(deps []string) string {
	if len(deps) == 0 {
		return ""
	}
	return "\ninstall_requires =\n    " + strings.Join(deps, "\n    ")
}

func TestMain(m *testing.M) {
	index.PasswordCost = bcrypt.MinCost // fast logins under -race
	code := m.Run()
	pgtest.Stop()
	if distsDir != "" {
		os.RemoveAll(distsDir)
	}
	os.Exit(code)
}

// addUser runs the real "pyindex user add" command against the server's
// data folder while the server runs.
func addUser(t testing.TB, m *pyindex.Main, name, password string, admin bool) {
	t.Helper()
	args := []string{"user", "add", name, "--password-stdin", "--data", m.Config.Data}
	if admin {
		args = append(args, "--admin")
	}
	var out bytes.Buffer
	cmd := pyindex.NewRootCmd(strings.NewReader(password+"\n"), &out, &out, func(string) (string, bool) { return "", false })
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("user add: %v\n%s", err, out.String())
	}
}

func twineUpload(t testing.TB, m *pyindex.Main, user, password string, files ...string) string {
	t.Helper()
	twine := need(t, "twine")
	args := append([]string{"upload", "--non-interactive", "--disable-progress-bar", "--repository-url", m.URL() + "/legacy/", "-u", user, "-p", password}, files...)
	return run(t, "", nil, twine, args...)
}

// pipClient is one pip the machine has.
type pipClient struct {
	name   string // for subtest names
	python string
}

// pips returns the interpreters whose pip we test: the oldest and newest
// pyenv ones, those in between, and Debian's. Missing ones fail in CI.
func pips(t *testing.T) []pipClient {
	home, _ := os.UserHomeDir()
	pyenv := filepath.Join(home, ".pyenv", "versions")
	if root := os.Getenv("PYENV_ROOT"); root != "" {
		pyenv = filepath.Join(root, "versions")
	}
	all := []pipClient{
		{"pip18.1-py3.6", filepath.Join(pyenv, "3.6.15", "bin", "python")},
		{"pip19.2.3-py2.7", filepath.Join(pyenv, "2.7.18", "bin", "python")},
		{"pip22.0.4-py3.7", filepath.Join(pyenv, "3.7.16", "bin", "python")},
		{"pip23.0.1-debian", "/usr/bin/python3"},
		{"pip23.2.1-py3.12", filepath.Join(pyenv, "3.12.1", "bin", "python")},
		{"pip24.2-py3.13", filepath.Join(pyenv, "3.13.0", "bin", "python")},
	}
	var out []pipClient
	for _, p := range all {
		if _, err := os.Stat(p.python); err != nil {
			if inCI() {
				t.Errorf("%s: %s missing in CI", p.name, p.python)
			}
			continue
		}
		out = append(out, p)
	}
	if len(out) < 3 {
		if inCI() {
			t.Fatalf("fewer than three pip versions available")
		}
		t.Skip("fewer than three pip versions available")
	}
	return out
}

// installed lists "name==version" of what pip put into a --target folder.
func installed(t testing.TB, target string) []string {
	t.Helper()
	ents, err := os.ReadDir(target)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".dist-info"); ok {
			name, ver, _ := strings.Cut(n, "-")
			out = append(out, strings.ReplaceAll(strings.ToLower(name), "_", "-")+"=="+ver)
		}
	}
	sort.Strings(out)
	return out
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestUploadAndInstall is the foundation's acceptance test: build, upload
// with twine, install with pip of every version on the machine.
func TestUploadAndInstall(t *testing.T) {
	dist := buildDists(t)
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)

	files, _ := filepath.Glob(filepath.Join(dist, "*"))
	if len(files) != 2*len(e2eProjects) {
		t.Fatalf("built %d files, want %d: %v", len(files), 2*len(e2eProjects), files)
	}
	twineUpload(t, m, "ci", "ci-password-1", files...)
	// A retried upload of the same files succeeds (as on PyPI).
	twineUpload(t, m, "ci", "ci-password-1", files...)
	// The legacy sdist names of older setuptools and .zip sdists upload too.
	legacy := []string{filepath.Join("..", "..", "testdata", "dists", "acme-core-1.0.tar.gz"), filepath.Join("..", "..", "testdata", "dists", "Acme.Legacy-0.3.zip")}
	twineUpload(t, m, "ci", "ci-password-1", legacy...)

	index := m.URL() + "/simple/"
	// After every pip below (the subtests run in parallel, after this
	// function returns): their pages, metadata and files came through the
	// fast lane, the server's default.
	t.Cleanup(func() {
		if n := laneReplies(t, m); n == 0 {
			t.Error("no request of pip was answered by the fast lane")
		}
	})
	for _, p := range pips(t) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			target := t.TempDir()
			// Dependency resolution, requires-python filtering (1.5 needs
			// Python 3.99) and pre-release exclusion (2.0rc1).
			run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "--target", target, "e2e-app")
			got := installed(t, target)
			want := []string{"e2e-app==1.0", "e2e-lib==1.0"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("installed %v, want %v", got, want)
			}
			// --pre takes the release candidate.
			pre := t.TempDir()
			run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--pre", "--index-url", index, "--target", pre, "e2e-lib")
			if got := installed(t, pre); len(got) != 1 || got[0] != "e2e-lib==2.0rc1" {
				t.Errorf("--pre installed %v, want e2e-lib==2.0rc1", got)
			}
			// --require-hashes with the wheel's and sdist's sha256.
			whl := filepath.Join(dist, "e2e_lib-1.0-py2.py3-none-any.whl")
			sdist, _ := filepath.Glob(filepath.Join(dist, "e2e*lib-1.0.tar.gz"))
			if len(sdist) != 1 {
				t.Fatalf("sdist of e2e-lib 1.0 not found in %s", dist)
			}
			req := filepath.Join(t.TempDir(), "requirements.txt")
			os.WriteFile(req, []byte("e2e-lib==1.0 --hash=sha256:"+sha256File(t, whl)+" --hash=sha256:"+sha256File(t, sdist[0])+"\n"), 0o644)
			hashed := t.TempDir()
			run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--require-hashes", "--index-url", index, "--target", hashed, "-r", req)
			if got := installed(t, hashed); len(got) != 1 || got[0] != "e2e-lib==1.0" {
				t.Errorf("--require-hashes installed %v", got)
			}
			// A non-normalized name resolves to the same project, and the
			// legacy sdist name is served. Building an sdist's metadata needs
			// setuptools, which only Debian's interpreter has installed.
			if p.python == "/usr/bin/python3" {
				dl := t.TempDir()
				run(t, "", nil, p.python, "-m", "pip", "download", "--no-cache-dir", "--no-deps", "--no-build-isolation", "--no-binary", ":all:", "--index-url", index, "-d", dl, "Acme_Core==1.0")
				if _, err := os.Stat(filepath.Join(dl, "acme-core-1.0.tar.gz")); err != nil {
					t.Errorf("legacy sdist not downloaded: %v", err)
				}
			}
		})
	}
}

// TestUploadRefusals checks twine's view of refused uploads.
func TestUploadRefusals(t *testing.T) {
	dist := buildDists(t)
	twine := need(t, "twine")
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password-1", false)
	whl := filepath.Join(dist, "e2e_lib-1.0-py2.py3-none-any.whl")

	// Wrong password: refused, nothing stored.
	cmd := exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar", "--repository-url", m.URL()+"/legacy/", "-u", "ci", "-p", "wrong-password", whl)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("upload with a wrong password succeeded:\n%s", out)
	} else if !strings.Contains(string(out), "401") {
		t.Errorf("want a 401, twine said:\n%s", out)
	}
	resp, err := http.Get(m.URL() + "/simple/e2e-lib/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("after a refused upload the project page answers %d, want 404", resp.StatusCode)
	}

	// Other bytes under an existing filename: 409 File already exists.
	twineUpload(t, m, "ci", "ci-password-1", whl)
	// The same wheel with a zip comment: valid, same name, other bytes.
	b, err := os.ReadFile(whl)
	if err != nil {
		t.Fatal(err)
	}
	comment := "other build"
	b[len(b)-2], b[len(b)-1] = byte(len(comment)), 0
	b = append(b, comment...)
	other := filepath.Join(t.TempDir(), filepath.Base(whl))
	if err := os.WriteFile(other, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(twine, "upload", "--non-interactive", "--disable-progress-bar", "--verbose", "--repository-url", m.URL()+"/legacy/", "-u", "ci", "-p", "ci-password-1", other)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "409") || !strings.Contains(string(out), "File already exists") {
		t.Errorf("want 409 File already exists, twine said (err %v):\n%s", err, out)
	}
}

// execCommand is exec.CommandContext with the clean client environment.
func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = cleanEnv()
	return cmd
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
