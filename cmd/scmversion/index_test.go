package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pyindex/pyindex/index/devapi"
	"github.com/pyindex/pyindex/index/pep440"
)

// fakeIndex implements the dev-versions contract: numbers strictly
// increasing per project and base, the same commit (base and dirty digest)
// answered with the same number again, upload-scope Bearer token required;
// GET answers the project's newest version, and an above_all request whose
// version would not be above it gets 409 with the newest. Without a base
// it uses serverBase. seed holds versions the project has (uploads).
type fakeIndex struct {
	token      string
	serverBase string

	mu       sync.Mutex
	seed     map[string][]string   // project -> versions already there
	last     map[string]int        // project + base -> last number handed out
	byCommit map[string]fakeAnswer // project + base + commit + dirty -> answer
	requests []devapi.Request      // in arrival order (POST only)
	projects []string              // project of each request
	headers  []http.Header         // headers of each request
	gets     int                   // GET requests
	// beforePost, when set, runs (under mu) before a POST is answered: a
	// release that comes in between GET and POST.
	beforePost func()
	srv        *httptest.Server
}

// fakeAnswer is a number the fake handed out.
type fakeAnswer struct {
	project string
	resp    devapi.Response
}

func newFakeIndex(t *testing.T) *fakeIndex {
	f := &fakeIndex{
		token: "s3cret", serverBase: "3.0.0", seed: map[string][]string{},
		last: map[string]int{}, byCommit: map[string]fakeAnswer{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// newest is the project's greatest version (seeded or handed out).
func (f *fakeIndex) newest(project string) string {
	var best string
	var bv pep440.Version
	consider := func(s string) {
		v := pep440.MustParse(s)
		if best == "" || pep440.Compare(v, bv) > 0 {
			best, bv = s, v
		}
	}
	for _, s := range f.seed[project] {
		consider(s)
	}
	for _, a := range f.byCommit {
		if a.project == project {
			consider(a.resp.Version)
		}
	}
	return best
}

func (f *fakeIndex) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	project, ok := strings.CutPrefix(r.URL.Path, "/api/v1/projects/")
	project, ok2 := strings.CutSuffix(project, "/dev-versions")
	if (r.Method != http.MethodPost && r.Method != http.MethodGet) || !ok || !ok2 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid or missing token"})
		return
	}
	if r.Method == http.MethodGet {
		f.gets++
		writeJSON(w, http.StatusOK, devapi.State{Project: project, Newest: f.newest(project)})
		return
	}
	var req devapi.Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Commit == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "commit is required"})
		return
	}
	f.requests = append(f.requests, req)
	f.projects = append(f.projects, project)
	f.headers = append(f.headers, r.Header.Clone())
	if f.beforePost != nil {
		f.beforePost()
		f.beforePost = nil
	}
	base := req.Base
	if base == "" {
		base = f.serverBase
	}
	key := project + "\x00" + base
	if a, ok := f.byCommit[key+"\x00"+req.Commit+"\x00"+req.Dirty]; ok {
		writeJSON(w, http.StatusOK, a.resp)
		return
	}
	n := f.last[key] + 1
	for _, s := range f.seed[project] {
		if b, d, ok := strings.Cut(s, ".dev"); ok && b == base {
			if m, _ := strconv.Atoi(d); m >= n {
				n = m + 1
			}
		}
	}
	version := base + ".dev" + strconv.Itoa(n)
	if newest := f.newest(project); req.AboveAll && newest != "" && pep440.Compare(pep440.MustParse(version), pep440.MustParse(newest)) <= 0 {
		writeJSON(w, http.StatusConflict, devapi.Conflict{Error: "base is behind", Newest: newest})
		return
	}
	f.last[key] = n
	resp := devapi.Response{Base: base, Version: version, Number: n, Dirty: req.Dirty}
	f.byCommit[key+"\x00"+req.Commit+"\x00"+req.Dirty] = fakeAnswer{project: project, resp: resp}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeIndex) nRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeIndex) lastRequest(t *testing.T) devapi.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("the index got no request")
	}
	return f.requests[len(f.requests)-1]
}

// TestIndexShallowClone is the CI case: a depth-1 clone has no tag, so the
// base is what setuptools_scm uses without a tag (0.1 under
// guess-next-dev) and the number comes from the index.
func TestIndexShallowClone(t *testing.T) {
	idx := newFakeIndex(t)
	dir := clone(t, "t15", "--depth", "1")
	head := git(t, dir, "rev-parse", "HEAD")
	e := env("PYINDEX_TOKEN=s3cret")
	args := []string{"--root", dir, "--index", idx.srv.URL, "--project", "demo", "--local-scheme", "no-local-version"}

	if got := mustCLI(t, e, args...); got != "0.1.dev1\n" {
		t.Errorf("first run: %q", got)
	}
	req := idx.lastRequest(t)
	if req.Base != "0.1" || req.Commit != head || req.Branch != "main" {
		t.Errorf("request %+v, want base 0.1, commit %s, branch main", req, head)
	}
	// A retry for the same commit gets the same number.
	if got := mustCLI(t, e, args...); got != "0.1.dev1\n" {
		t.Errorf("same commit again: %q", got)
	}
	// A new commit gets the next one.
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "new.txt")
	git(t, dir, "commit", "-q", "-m", "new")
	if got := mustCLI(t, e, args...); got != "0.1.dev2\n" {
		t.Errorf("next commit: %q", got)
	}
	// The default local scheme still applies, with the node of HEAD.
	node := git(t, dir, "rev-parse", "HEAD")[:9]
	if got := mustCLI(t, e, "--root", dir, "--index", idx.srv.URL, "--project", "demo"); got != "0.1.dev2+g"+node+"\n" {
		t.Errorf("node-and-date: %q", got)
	}
	// The full clone computes base 1.2.4 from the tag, and compat 7 sends
	// the full hash although it prints 7 hex digits.
	full := repos.Path("t15")
	if got := mustCLI(t, e, "--root", full, "--index", idx.srv.URL, "--project", "demo", "--compat", "7"); got != "1.2.4.dev1+g594b2a1\n" {
		t.Errorf("full clone: %q", got)
	}
	if req := idx.lastRequest(t); req.Base != "1.2.4" || req.Commit != git(t, full, "rev-parse", "HEAD") {
		t.Errorf("full clone request %+v", req)
	}
}

func TestIndexServerBase(t *testing.T) {
	idx := newFakeIndex(t)
	dir := clone(t, "t15", "--depth", "1")
	got := mustCLI(t, env("PYINDEX_TOKEN=s3cret"), "--root", dir, "--index", idx.srv.URL+"/simple/", "--project", "demo",
		"--server-base", "--local-scheme", "no-local-version", "--format", "json")
	for _, want := range []string{`"version": "3.0.0.dev1"`, `"base": "3.0.0"`, `"dev_number": 1`} {
		if !strings.Contains(got, want) {
			t.Errorf("json lacks %s:\n%s", want, got)
		}
	}
	if req := idx.lastRequest(t); req.Base != "" {
		t.Errorf("--server-base sent base %q", req.Base)
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if ct := idx.headers[0].Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestIndexNoRequest: an exact tag or a pretend version is printed without
// asking the index.
func TestIndexNoRequest(t *testing.T) {
	idx := newFakeIndex(t)
	e := env("PYINDEX_TOKEN=s3cret")
	if got := mustCLI(t, e, "--root", repos.Path("t06"), "--index", idx.srv.URL, "--project", "demo"); got != "1.2.3\n" {
		t.Errorf("exact tag: %q", got)
	}
	if got := mustCLI(t, append(e, "SETUPTOOLS_SCM_PRETEND_VERSION=5.5"), "--root", repos.Path("t15"), "--index", idx.srv.URL, "--project", "demo"); got != "5.5\n" {
		t.Errorf("pretend: %q", got)
	}
	if n := idx.nRequests(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestIndexAuth(t *testing.T) {
	idx := newFakeIndex(t)
	args := []string{"--root", repos.Path("t15"), "--index", idx.srv.URL, "--project", "demo", "--local-scheme", "no-local-version"}

	// No token at all: 401, and a hint.
	out, errOut, code := cli(t, env(), args...)
	if code != 1 || out != "" || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "PYINDEX_TOKEN") {
		t.Errorf("no token: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The netrc password for the index's host.
	netrc := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(netrc, []byte("machine 127.0.0.1 login __token__ password s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustCLI(t, env("NETRC="+netrc), args...); got != "1.2.4.dev1\n" {
		t.Errorf("netrc: %q", got)
	}
	// PYINDEX_TOKEN wins over netrc.
	_, errOut, code = cli(t, env("NETRC="+netrc, "PYINDEX_TOKEN=wrong"), args...)
	if code != 1 || !strings.Contains(errOut, "invalid or missing token") {
		t.Errorf("wrong PYINDEX_TOKEN: exit %d, stderr %q", code, errOut)
	}
}

func TestIndexErrors(t *testing.T) {
	idx := newFakeIndex(t)
	e := env("PYINDEX_TOKEN=s3cret")
	root := repos.Path("t15")
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"scheme without .devN", []string{"--version-scheme", "post-release", "--project", "demo"}, "does not end in .devN"},
		{"no project", nil, "--project"},
		{"bad URL", []string{"--project", "demo", "--index", "pypi.example.com"}, "--index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--root", root, "--index", idx.srv.URL}, tc.args...)
			out, errOut, code := cli(t, e, args...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errOut, tc.msg)
			}
		})
	}
	// [project] name stands in for --project.
	dir := clone(t, "t15")
	if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\nname = \"from-file\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, e, "--root", dir, "--index", idx.srv.URL)
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if p := idx.projects[len(idx.projects)-1]; p != "from-file" {
		t.Errorf("project %q, want from-file", p)
	}
}

// TestIndexBranchFromCI: CI checks out a detached HEAD; the branch sent to
// the index then comes from the CI system's variables.
func TestIndexBranchFromCI(t *testing.T) {
	idx := newFakeIndex(t)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"GITHUB_REF_NAME=feature-x"}, "feature-x"},
		{[]string{"CI_COMMIT_REF_NAME=gl-branch"}, "gl-branch"},
		{[]string{"GIT_BRANCH=origin/jenkins"}, "jenkins"},
		{nil, "HEAD"},
	} {
		e := append(env("PYINDEX_TOKEN=s3cret"), tc.env...)
		mustCLI(t, e, "--root", repos.Path("t55"), "--index", idx.srv.URL, "--project", "demo")
		if got := idx.lastRequest(t).Branch; got != tc.want {
			t.Errorf("%v: branch %q, want %q", tc.env, got, tc.want)
		}
	}
}

// TestIndexShallowBaseFromIndex: in a clone without tags the base comes
// from the project's newest version on the index, advanced as the version
// scheme would, so that the build sorts above every earlier one.
func TestIndexShallowBaseFromIndex(t *testing.T) {
	e := env("PYINDEX_TOKEN=s3cret")
	for _, tc := range []struct {
		name   string
		seed   []string
		scheme string
		want   string
	}{
		{"dev build newest", []string{"1.2.3", "1.2.4.dev2"}, "", "1.2.4.dev3"},
		{"release newest", []string{"1.2.3", "1.2.4.dev2", "1.2.4"}, "", "1.2.5.dev1"},
		{"pre-release newest", []string{"1.2.3", "2.0rc1"}, "", "2.0rc2.dev1"},
		{"release-branch-semver on main", []string{"1.2.3"}, "release-branch-semver", "1.3.0.dev1"},
		{"no-guess-dev", []string{"1.2.3"}, "no-guess-dev", "1.2.3.post1.dev1"},
		{"nothing on the index", nil, "", "0.1.dev1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := newFakeIndex(t)
			idx.seed["demo"] = tc.seed
			dir := clone(t, "t15", "--depth", "1")
			args := []string{"--root", dir, "--index", idx.srv.URL, "--project", "demo", "--local-scheme", "no-local-version"}
			if tc.scheme != "" {
				args = append(args, "--version-scheme", tc.scheme)
			}
			if got := mustCLI(t, e, args...); got != tc.want+"\n" {
				t.Errorf("got %q, want %s", got, tc.want)
			}
			if req := idx.lastRequest(t); !req.AboveAll {
				t.Errorf("request %+v lacks above_all", req)
			}
		})
	}

	t.Run("a release in between", func(t *testing.T) {
		idx := newFakeIndex(t)
		idx.seed["demo"] = []string{"1.2.3", "1.2.4.dev2"}
		idx.beforePost = func() { idx.seed["demo"] = append(idx.seed["demo"], "1.2.4") }
		dir := clone(t, "t15", "--depth", "1")
		got := mustCLI(t, e, "--root", dir, "--index", idx.srv.URL, "--project", "demo", "--local-scheme", "no-local-version",
			"--format", "json")
		for _, want := range []string{`"version": "1.2.5.dev1"`, `"base": "1.2.5"`, `"base_from": "index: no tag in the clone, newest version 1.2.4"`} {
			if !strings.Contains(got, want) {
				t.Errorf("json lacks %s:\n%s", want, got)
			}
		}
		if n := idx.nRequests(); n != 2 {
			t.Errorf("%d POSTs, want 2 (409, then the new base)", n)
		}
	})

	t.Run("the shallow warning once", func(t *testing.T) {
		idx := newFakeIndex(t)
		dir := clone(t, "t15", "--depth", "1")
		_, errOut, code := cli(t, e, "--root", dir, "--index", idx.srv.URL, "--project", "demo", "--format", "json")
		if code != 0 || strings.Count(errOut, "is shallow") != 1 {
			t.Errorf("exit %d, stderr %q: want one shallow warning", code, errOut)
		}
	})
}

// TestIndexDirty: a dirty tree is numbered apart from its clean commit
// (the same changes get the same number again), so that its upload never
// collides with the clean build's files under no-local-version.
func TestIndexDirty(t *testing.T) {
	idx := newFakeIndex(t)
	e := env("PYINDEX_TOKEN=s3cret")
	dir := clone(t, "t15")
	args := []string{"--root", dir, "--index", idx.srv.URL, "--project", "demo", "--local-scheme", "no-local-version"}
	if got := mustCLI(t, e, args...); got != "1.2.4.dev1\n" {
		t.Fatalf("clean: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "a.txt")
	if got := mustCLI(t, e, args...); got != "1.2.4.dev2\n" {
		t.Errorf("dirty: %q, want 1.2.4.dev2", got)
	}
	d := idx.lastRequest(t).Dirty
	if len(d) != 16 {
		t.Errorf("dirty digest %q", d)
	}
	if got := mustCLI(t, e, args...); got != "1.2.4.dev2\n" || idx.lastRequest(t).Dirty != d {
		t.Errorf("same changes again: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed again\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustCLI(t, e, args...); got != "1.2.4.dev3\n" {
		t.Errorf("other changes: %q, want 1.2.4.dev3", got)
	}
	git(t, dir, "checkout", "-q", "--", ".")
	git(t, dir, "reset", "-q", "--hard")
	if got := mustCLI(t, e, args...); got != "1.2.4.dev1\n" || idx.lastRequest(t).Dirty != "" {
		t.Errorf("clean again: %q", got)
	}
}
