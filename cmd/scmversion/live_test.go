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

// TestLiveSetuptoolsSCM runs `python3 -m setuptools_scm` and scmversion on
// a sample of the oracle repositories with the same pyproject.toml (kept
// outside the repository, passed with -c / --config) and compares their
// stdout. Either both fail or both print the same version.
func TestLiveSetuptoolsSCM(t *testing.T) {
	python, version := livePython(t)
	compat := compatFor(version)
	t.Logf("%s has setuptools_scm %s: --compat %s", python, version, compat)
	for _, s := range liveSample {
		c, ok := repos.Cases[s.caseName]
		if !ok {
			t.Fatalf("no oracle case %s", s.caseName)
		}
		t.Run(s.caseName, func(t *testing.T) {
			t.Parallel()
			root := repos.Path(c.Name)
			var toml strings.Builder
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

			cmd := exec.Command(python, "-m", "setuptools_scm", "-r", root, "-c", cfgPath)
			cmd.Dir = root
			cmd.Env = e
			var pyErr strings.Builder
			cmd.Stderr = &pyErr
			pyOut, pyRunErr := cmd.Output()
			want := strings.TrimSpace(string(pyOut))

			out, errOut, code := cli(t, e, "--compat", compat, "--root", root, "--config", cfgPath)
			got := strings.TrimSpace(out)
			switch {
			case pyRunErr != nil && code == 0:
				t.Errorf("setuptools_scm failed (%v: %s) but scmversion printed %q", pyRunErr, lastLine(pyErr.String()), got)
			case pyRunErr == nil && code != 0:
				t.Errorf("setuptools_scm printed %q but scmversion failed: %s", want, errOut)
			case got != want:
				t.Errorf("scmversion %q, setuptools_scm %q\n%s", got, want, toml.String())
			case code != 0:
				t.Logf("both failed; setuptools_scm: %s; scmversion: %s", lastLine(pyErr.String()), strings.TrimSpace(errOut))
			default:
				t.Logf("both print %q", got)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
