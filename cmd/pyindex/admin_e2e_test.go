package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
)

// buildWheel builds a universal wheel of a tiny setuptools project with
// python3 -m build (no network: --no-isolation) into out.
func buildWheel(t *testing.T, out, name, version string) {
	t.Helper()
	python := need(t, "/usr/bin/python3")
	src := filepath.Join(t.TempDir(), name+"-"+version)
	mod := strings.ReplaceAll(name, "-", "_")
	files := map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n",
		"setup.cfg": "[metadata]\nname = " + name + "\nversion = " + version +
			"\n\n[options]\npy_modules = " + mod + "\n\n[bdist_wheel]\nuniversal = 1\n",
		mod + ".py": "VERSION = \"" + version + "\"\n",
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(src, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(python, "-m", "build", "--no-isolation", "--wheel", "--outdir", out, src)
	cmd.Env = append(cleanEnv(), "SOURCE_DATE_EPOCH=1700000000")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s %s: %v\n%s", name, version, err, b)
	}
}

// pyindexCLI runs a pyindex subcommand in-process against the server's data
// folder (while the server runs) and returns its output.
func pyindexCLI(t *testing.T, m *pyindex.Main, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := pyindex.NewRootCmd(strings.NewReader(""), &out, &out, func(string) (string, bool) { return "", false })
	cmd.SetArgs(append(args, "--data", m.Config.Data))
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("pyindex %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func apiCall(t *testing.T, m *pyindex.Main, method, path, user, password, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestYankWithPip: real pip skips a release yanked through the admin API,
// but installs it when pinned with ==; after "pyindex unyank" (the CLI,
// while the server runs) it installs it again unpinned.
func TestYankWithPip(t *testing.T) {
	m := startServer(t, nil)
	dist := t.TempDir()
	buildWheel(t, dist, "e2e-yank", "1.0")
	buildWheel(t, dist, "e2e-yank", "1.1")
	addUser(t, m, "ci", "ci-password-1", false)
	addUser(t, m, "root", "root-password-1", true)
	files, _ := filepath.Glob(filepath.Join(dist, "*.whl"))
	if len(files) != 2 {
		t.Fatalf("built %v", files)
	}
	twineUpload(t, m, "ci", "ci-password-1", files...)

	// The uploader may not yank; anonymous callers are asked to log in.
	if code, _ := apiCall(t, m, "POST", "/api/v1/projects/e2e-yank/releases/1.1/yank", "", "", `{"reason": "x"}`); code != http.StatusUnauthorized {
		t.Fatalf("anonymous yank: %d", code)
	}
	if code, _ := apiCall(t, m, "POST", "/api/v1/projects/e2e-yank/releases/1.1/yank", "ci", "ci-password-1", `{"reason": "x"}`); code != http.StatusForbidden {
		t.Fatalf("uploader yank: %d", code)
	}
	code, rel := apiCall(t, m, "POST", "/api/v1/projects/e2e-yank/releases/1.1/yank", "root", "root-password-1", `{"reason": "broken build"}`)
	if code != http.StatusOK || rel["yanked"] != true {
		t.Fatalf("yank: %d %v", code, rel)
	}

	index := m.URL() + "/simple/"
	clients := pips(t)
	// The group returns once its parallel subtests have all finished.
	t.Run("yanked", func(t *testing.T) {
		for _, p := range clients {
			if strings.HasPrefix(p.name, "pip18") {
				continue // pip 18 predates PEP 592 (pip 19.2) and installs yanked files
			}
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				target := t.TempDir()
				run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "--target", target, "e2e-yank")
				if got := installed(t, target); strings.Join(got, " ") != "e2e-yank==1.0" {
					t.Errorf("unpinned install took %v, want the unyanked e2e-yank==1.0", got)
				}
				pinned := t.TempDir()
				out := run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "--target", pinned, "e2e-yank==1.1")
				if got := installed(t, pinned); strings.Join(got, " ") != "e2e-yank==1.1" {
					t.Errorf("pinned install took %v, want e2e-yank==1.1", got)
				}
				if !strings.Contains(out, "broken build") {
					t.Errorf("pip did not show the yank reason:\n%s", out)
				}
			})
		}
	})
	t.Run("unyank", func(t *testing.T) {
		out := pyindexCLI(t, m, "unyank", "e2e-yank", "1.1")
		if !strings.Contains(out, "unyanked e2e-yank 1.1") {
			t.Errorf("unyank said %q", out)
		}
		target := t.TempDir()
		run(t, "", nil, "/usr/bin/python3", "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "--target", target, "e2e-yank")
		if got := installed(t, target); strings.Join(got, " ") != "e2e-yank==1.1" {
			t.Errorf("after unyank pip took %v, want e2e-yank==1.1", got)
		}
	})
}

// TestAdminCLI runs prune, yank and delete from the command line while the
// server runs, and checks the server sees the changes at once.
func TestAdminCLI(t *testing.T) {
	m := startServer(t, nil)
	dist := t.TempDir()
	for _, v := range []string{"1.0.dev1", "1.0.dev2", "1.0.dev3", "1.0"} {
		buildWheel(t, dist, "e2e-prune", v)
	}
	addUser(t, m, "ci", "ci-password-1", false)
	files, _ := filepath.Glob(filepath.Join(dist, "*.whl"))
	twineUpload(t, m, "ci", "ci-password-1", files...)

	dry := pyindexCLI(t, m, "prune", "--keep-dev", "1", "--dry-run", "--json")
	var plan struct {
		Files  []map[string]any `json:"files"`
		DryRun bool             `json:"dry_run"`
	}
	if err := json.Unmarshal([]byte(dry), &plan); err != nil || !plan.DryRun || len(plan.Files) != 2 {
		t.Fatalf("dry run: %v\n%s", err, dry)
	}
	out := pyindexCLI(t, m, "prune", "--keep-dev", "1")
	for _, want := range []string{"PROJECT", "e2e-prune  1.0.dev1", "keep_dev", "deleted 2 releases, 2 files"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune output lacks %q:\n%s", want, out)
		}
	}
	_, page := get(t, m.URL()+"/simple/e2e-prune/", "", "")
	if strings.Contains(page, "1.0.dev1") || strings.Contains(page, "1.0.dev2") || !strings.Contains(page, "1.0.dev3") {
		t.Errorf("simple page after prune:\n%s", page)
	}
	out = pyindexCLI(t, m, "yank", "e2e-prune", "1.0", "--reason", "bad")
	_, page = get(t, m.URL()+"/simple/e2e-prune/", "", "")
	if !strings.Contains(out, "yanked e2e-prune 1.0 in "+filepath.Join(m.Config.Data, "catalog.db")+": bad") || !strings.Contains(page, `data-yanked="bad"`) {
		t.Errorf("yank: %s\n%s", out, page)
	}
	out = pyindexCLI(t, m, "delete", "e2e-prune", "1.0.dev3", "e2e_prune-1.0.dev3-py2.py3-none-any.whl")
	if !strings.Contains(out, "deleted 1 files") {
		t.Errorf("delete file: %s", out)
	}
	// A whole project goes only once its name is typed, or with --yes.
	for _, stdin := range []string{"", "e2e\n", "y\n"} {
		if out, err := runCLI(t, nil, stdin, "delete", "e2e-prune", "--data", m.Config.Data); err == nil || !strings.Contains(err.Error(), "not confirmed") {
			t.Errorf("delete with %q typed: %v\n%s", stdin, err, out)
		}
	}
	if code, _ := get(t, m.URL()+"/simple/e2e-prune/", "", ""); code != http.StatusOK {
		t.Fatalf("an unconfirmed delete removed the project (%d)", code)
	}
	if out, err := runCLI(t, nil, "e2e-prune\n", "delete", "e2e-prune", "1.0", "e2e_prune-1.0-py2.py3-none-any.whl", "--data", m.Config.Data); err != nil {
		t.Fatalf("a file delete asks nothing: %v\n%s", err, out)
	}
	buildWheel(t, dist, "e2e-prune", "1.1")
	twineUpload(t, m, "ci", "ci-password-1", filepath.Join(dist, "e2e_prune-1.1-py2.py3-none-any.whl"))
	if out, err := runCLI(t, nil, "e2e-prune\n", "delete", "e2e-prune", "--data", m.Config.Data); err != nil || !strings.Contains(out, "deleted 1 files") {
		t.Errorf("delete confirmed by name: %v\n%s", err, out)
	}
	twineUpload(t, m, "ci", "ci-password-1", filepath.Join(dist, "e2e_prune-1.0-py2.py3-none-any.whl"))
	out = pyindexCLI(t, m, "delete", "e2e-prune", "--json", "--yes")
	if !strings.Contains(out, `"filename": "e2e_prune-1.0-py2.py3-none-any.whl"`) {
		t.Errorf("delete project: %s", out)
	}
	resp, err := http.Get(m.URL() + "/simple/e2e-prune/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted project answers %d", resp.StatusCode)
	}
}
