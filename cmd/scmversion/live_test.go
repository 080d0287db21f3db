package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// livePython returns an interpreter that can import setuptools_scm:
// $SCM_PYTHON, else python3 on PATH, else /usr/bin/python3 (Debian's
// python3-setuptools-scm lives there even when a pyenv python3 comes first
// on PATH). It skips the test when there is none, except under CI=true,
// where a missing setuptools_scm is a failure.
func livePython(t *testing.T) (python, version string) {
	t.Helper()
	candidates := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("SCM_PYTHON"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		out, err := exec.Command(p, "-c",
			"import setuptools_scm, importlib.metadata as m; print(m.version('setuptools_scm'))").Output()
		if err == nil {
			return p, strings.TrimSpace(string(out))
		}
	}
	msg := "no python3 with setuptools_scm (apt-get install -y python3-setuptools-scm, or set SCM_PYTHON)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return "", ""
}

// compatFor maps a setuptools_scm version to --compat.
func compatFor(version string) string {
	major, _, _ := strings.Cut(version, ".")
	switch major {
	case "7", "8", "9":
		return major
	}
	return "10"
}

// liveSample is a sample of the oracle cases, each with one scheme pair,
// chosen so that every version scheme, every local scheme, the errors and
// the configuration and environment cases are covered.
var liveSample = []struct{ caseName, vs, ls string }{
	{"t01", "guess-next-dev", "node-and-date"},
	{"t03", "post-release", "node-and-date"},
	{"t04", "guess-next-dev", "node-and-timestamp"},
	{"t05", "no-guess-dev", "node-and-date"},
	{"t07", "guess-next-dev", "node-and-timestamp"},
	{"t08", "guess-next-dev", "node-and-date"},
	{"t09", "dirty-tag", "dirty-tag"}, // unknown version scheme name: an error
	{"t11", "python-simplified-semver", "node-and-date"},
	{"t13", "release-branch-semver", "node-and-date"},
	{"t14", "guess-next-dev", "no-local-version"},
	{"t16", "calver-by-date", "node-and-date"},
	{"t18", "release-branch-semver", "dirty-tag"},
	{"t19", "no-guess-dev", "node-and-date"},
	{"t21", "python-simplified-semver", "node-and-date"},
	{"t23", "guess-next-dev", "node-and-date"},
	{"t24", "guess-next-dev", "node-and-date"},
	{"t26", "guess-next-dev", "node-and-date"},
	{"t27", "post-release", "node-and-date"},
	{"t28", "guess-next-dev", "node-and-date"},
	{"t30", "python-simplified-semver", "node-and-date"},
	{"t32", "release-branch-semver", "node-and-date"},
	{"t33", "guess-next-dev", "node-and-date"},
	{"t36", "guess-next-dev", "no-local-version"},
	{"t37", "guess-next-dev", "node-and-date"},
	{"t39", "calver-by-date", "node-and-date"},
	{"t40", "guess-next-dev", "node-and-date"},
	{"t42", "guess-next-dev", "node-and-date"},
	{"t43b", "guess-next-dev", "node-and-date"},
	{"t47", "guess-next-dev", "node-and-date"},
	{"t48", "release-branch-semver", "node-and-date"},
	{"t51", "release-branch-semver", "node-and-date"},
	{"t52", "python-simplified-semver", "node-and-date"},
	{"t55", "release-branch-semver", "node-and-date"},
	{"t57", "guess-next-dev", "node-and-timestamp"},
	{"t58", "guess-next-dev", "node-and-date"},
	{"t60", "guess-next-dev", "node-and-date"},
	{"t62", "calver-by-date", "node-and-date"},
	{"t64", "calver-by-date", "node-and-date"},
	{"t66", "calver-by-date", "node-and-date"},
	{"t67", "calver-by-date", "node-and-date"},
	{"t69", "guess-next-dev", "node-and-date"},
	{"t69e", "guess-next-dev", "node-and-date"},
	{"t69g", "guess-next-dev", "node-and-date"},
	{"t70", "guess-next-dev", "node-and-date"},
	{"t70b", "guess-next-dev", "node-and-date"},
}

// tomlValue renders a JSON scalar from an oracle case's config as TOML.
func tomlValue(v any) string {
	switch v := v.(type) {
	case bool:
		return fmt.Sprint(v)
	case string:
		if !strings.Contains(v, "'") {
			return "'" + v + "'"
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	panic(fmt.Sprintf("no TOML for %T", v))
}

// liveDriver runs `python -m setuptools_scm ARGS` for many jobs in one
// interpreter: runpy.run_module(..., run_name="__main__", alter_sys=True)
// is what -m does. Starting Python and scanning entry points costs about a
// second per process, which 45 separate processes would pay 45 times. Each
// job gets its own argv, working directory and environment (os.environ is
// replaced, and setuptools_scm reads it at call time and passes it to git).
const liveDriver = `
import contextlib, io, json, os, runpy, sys, traceback
jobs = json.load(sys.stdin)
results = []
for job in jobs:
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    sys.argv = ["setuptools_scm"] + job["args"]
    out, err = io.StringIO(), io.StringIO()
    ok = True
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module("setuptools_scm", run_name="__main__", alter_sys=True)
        except SystemExit as e:
            ok = e.code in (None, 0)
            if not ok:
                print(e.code, file=err)
        except BaseException as e:
            ok = False
            print("%s: %s" % (type(e).__name__, e), file=err)
    results.append({"ok": ok, "out": out.getvalue(), "err": err.getvalue()})
json.dump(results, sys.__stdout__)
`

type liveJob struct {
	Cwd  string            `json:"cwd"`
	Env  map[string]string `json:"env"`
	Args []string          `json:"args"`
}

type liveResult struct {
	OK  bool   `json:"ok"`
	Out string `json:"out"`
	Err string `json:"err"`
}

// TestLiveSetuptoolsSCM runs setuptools_scm's command line (python -m
// setuptools_scm) and scmversion on a sample of the oracle repositories
// with the same pyproject.toml (kept outside the repository, passed with -c
// / --config) and compares their stdout: either both fail or both print the
// same version. The first sample also runs as a separate `python3 -m
// setuptools_scm` process, to check the one-interpreter driver against it.
func TestLiveSetuptoolsSCM(t *testing.T) {
	python, version := livePython(t)
	compat := compatFor(version)
	t.Logf("%s has setuptools_scm %s: --compat %s", python, version, compat)

	type sample struct {
		name, root, cfgPath, toml string
		env                       []string
	}
	var samples []sample
	var jobs []liveJob
	for _, s := range liveSample {
		c, ok := repos.Cases[s.caseName]
		if !ok {
			t.Fatalf("no oracle case %s", s.caseName)
		}
		root := repos.Path(c.Name)
		var toml strings.Builder
		// The pin lets --compat auto (the default) find the release line.
		fmt.Fprintf(&toml, "[build-system]\nrequires = [\"setuptools>=61\", \"setuptools_scm==%s\"]\n\n", version)
		fmt.Fprintf(&toml, "[project]\nname = 'live-sample'\n\n[tool.setuptools_scm]\nversion_scheme = %s\nlocal_scheme = %s\n",
			tomlValue(s.vs), tomlValue(s.ls))
		if c.Config != "" {
			var cfg map[string]any
			if err := json.Unmarshal([]byte(c.Config), &cfg); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 0, len(cfg))
			for k := range cfg {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&toml, "%s = %s\n", k, tomlValue(cfg[k]))
			}
		}
		cfgPath := filepath.Join(t.TempDir(), "pyproject.toml")
		if err := os.WriteFile(cfgPath, []byte(toml.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		e := append(env(c.Env...), "PYTHONWARNINGS=ignore")
		samples = append(samples, sample{name: s.caseName, root: root, cfgPath: cfgPath, toml: toml.String(), env: e})
		jobs = append(jobs, liveJob{Cwd: root, Env: envMap(e), Args: []string{"-r", root, "-c", cfgPath}})
	}

	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", liveDriver)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Env = append(env(), "PYTHONWARNINGS=ignore")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python driver: %v\n%s", err, stderr.String())
	}
	var results []liveResult
	if err := json.Unmarshal(raw, &results); err != nil || len(results) != len(jobs) {
		t.Fatalf("python driver answered %d results (%v), want %d:\n%s", len(results), err, len(jobs), raw)
	}

	// Cross-check the driver with a real `python3 -m setuptools_scm`.
	first := samples[0]
	sub := exec.Command(python, "-m", "setuptools_scm", "-r", first.root, "-c", first.cfgPath)
	sub.Dir = first.root
	sub.Env = first.env
	if out, err := sub.Output(); err != nil || string(out) != results[0].Out {
		t.Errorf("python -m setuptools_scm printed %q (%v), the driver %q", out, err, results[0].Out)
	}

	// --compat auto reads the pin.
	js := mustCLI(t, first.env, "--root", first.root, "--config", first.cfgPath, "--format", "json")
	for _, want := range []string{`"compat": ` + compat + ",", `"compat_from": "pyproject.toml build-system requires setuptools_scm==` + version + `"`} {
		if !strings.Contains(js, want) {
			t.Errorf("json lacks %s:\n%s", want, js)
		}
	}
	for i, s := range samples {
		res := results[i]
		want := strings.TrimSpace(res.Out)
		out, errOut, code := cli(t, s.env, "--root", s.root, "--config", s.cfgPath)
		got := strings.TrimSpace(out)
		switch {
		case !res.OK && code == 0:
			t.Errorf("%s: setuptools_scm failed (%s) but scmversion printed %q", s.name, lastLine(res.Err), got)
		case res.OK && code != 0:
			t.Errorf("%s: setuptools_scm printed %q but scmversion failed: %s", s.name, want, errOut)
		case got != want:
			t.Errorf("%s: scmversion %q, setuptools_scm %q\n%s", s.name, got, want, s.toml)
		case code != 0:
			t.Logf("%s: both fail; setuptools_scm: %s; scmversion: %s", s.name, lastLine(res.Err), lastLine(errOut))
		default:
			t.Logf("%s: both print %q", s.name, got)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
