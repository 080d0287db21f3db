package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
)

// apiRaw makes an API request with set's credentials and returns the
// status and the body as sent.
func apiRaw(t *testing.T, m *pyindex.Main, method, path, body string, set func(*http.Request)) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, m.URL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	code, b, _ := do(t, req, set)
	return code, []byte(b)
}

// sameJSON fails unless a and b are the same JSON, byte for byte once
// whitespace is compacted (the CLI indents, the API does not).
func sameJSON(t *testing.T, what string, api, cli []byte) {
	t.Helper()
	var a, c bytes.Buffer
	if err := json.Compact(&a, api); err != nil {
		t.Fatalf("%s: API JSON: %v\n%s", what, err, api)
	}
	if err := json.Compact(&c, []byte(cli)); err != nil {
		t.Fatalf("%s: CLI JSON: %v\n%s", what, err, cli)
	}
	if a.String() != c.String() {
		t.Errorf("%s: the CLI's --json differs from the API's\nAPI: %s\nCLI: %s", what, a.String(), c.String())
	}
}

// upload sends one file of testdata/dists and returns the status and body.
func upload(t *testing.T, m *pyindex.Main, file, version, user, pass string) (int, string) {
	t.Helper()
	kind := "bdist_wheel"
	if strings.HasSuffix(file, ".tar.gz") {
		kind = "sdist"
	}
	code, body, _ := do(t, uploadRequest(t, m.URL(), file, "acme-util", version, kind), basic(user, pass))
	return code, body
}

// TestSharedOwnership: owners change through the CLI and the API (real
// HTTP), with the rules the README gives: an owner may add and remove
// owners with a password but not with a token, only an admin removes the
// last owner, and a user who owns projects is removed only with --force.
// Each change is audited, and uploads follow the owners at once.
func TestSharedOwnership(t *testing.T) {
	m := startServer(t, func(c *pyindex.Config) { c.Auth.MaxFailedLogins = 0 })
	for _, u := range []string{"alice", "bob", "carol"} {
		addUser(t, m, u, u+"-password", false)
	}
	addUser(t, m, "root", "root-password", true)
	aliceTok := createToken(t, m, "alice")
	catalog := filepath.Join(m.Config.Data, "catalog.db")

	if code, body := upload(t, m, "acme_util-0.1-py3-none-any.whl", "0.1", "alice", "alice-password"); code != 200 {
		t.Fatalf("alice's first upload: %d %s", code, body)
	}
	if code, _ := upload(t, m, "acme_util-0.1.tar.gz", "0.1", "bob", "bob-password"); code != 403 {
		t.Fatalf("bob, not an owner, uploaded: %d", code)
	}

	// The CLI adds bob; the output names the catalog and the owners.
	out := cli(t, m, "", "owner", "add", "acme_util", "bob")
	if !strings.Contains(out, "added bob to the owners of acme-util in "+catalog) || !strings.Contains(out, "owners: alice, bob") {
		t.Errorf("owner add said %q", out)
	}
	if code, body := upload(t, m, "acme_util-0.1.tar.gz", "0.1", "bob", "bob-password"); code != 200 {
		t.Fatalf("bob, now an owner: %d %s", code, body)
	}

	owners := "/api/v1/projects/Acme.Util/owners"
	steps := []struct {
		name, method, path, body string
		set                      func(*http.Request)
		code                     int
		want                     string
	}{
		{"anonymous", "GET", owners, "", nil, 401, "Authentication required"},
		{"wrong password", "GET", owners, "", basic("alice", "wrong-password"), 401, ""},
		{"not an owner", "GET", owners, "", basic("carol", "carol-password"), 403, "does not own"},
		{"owner's token", "POST", owners, `{"user": "carol"}`, bearer(aliceTok), 403, "API tokens cannot manage"},
		{"owner lists", "GET", owners, "", basic("alice", "alice-password"), 200, `{"project":"acme-util","owners":["alice","bob"]}`},
		{"owner adds", "POST", owners, `{"user": "carol"}`, basic("alice", "alice-password"), 201, `"owners":["alice","bob","carol"]`},
		{"twice", "POST", owners, `{"user": "carol"}`, basic("alice", "alice-password"), 409, "carol already owns acme-util"},
		{"unknown user", "POST", owners, `{"user": "nobody"}`, basic("alice", "alice-password"), 404, `user \"nobody\"`},
		{"no user", "POST", owners, `{}`, basic("alice", "alice-password"), 400, "must name the new owner"},
		{"unknown field", "POST", owners, `{"name": "carol"}`, basic("alice", "alice-password"), 400, "unknown field"},
		{"unknown project", "GET", "/api/v1/projects/nope/owners", "", basic("root", "root-password"), 404, "nope"},
		{"owner removes another", "DELETE", owners + "/bob", "", basic("carol", "carol-password"), 200, `"owners":["alice","carol"]`},
		{"not an owner any more", "DELETE", owners + "/bob", "", basic("alice", "alice-password"), 404, "bob is not an owner"},
		{"owner removes herself", "DELETE", owners + "/alice", "", basic("alice", "alice-password"), 200, `"owners":["carol"]`},
		{"last owner stays", "DELETE", owners + "/carol", "", basic("carol", "carol-password"), 403, "last owner"},
		{"admin removes the last", "DELETE", owners + "/carol", "", basic("root", "root-password"), 200, `"owners":[]`},
	}
	for _, s := range steps {
		code, body := apiRaw(t, m, s.method, s.path, s.body, s.set)
		if code != s.code || !strings.Contains(string(body), s.want) {
			t.Errorf("%s: %s %s: %d %s, want %d with %q", s.name, s.method, s.path, code, body, s.code, s.want)
		}
	}
	// Admin-only now: the former owners are refused, an admin may upload.
	if code, _ := upload(t, m, "acme_util-0.2-py3-none-any.whl", "0.2", "carol", "carol-password"); code != 403 {
		t.Errorf("carol uploaded to an admin-only project: %d", code)
	}
	if code, body := upload(t, m, "acme_util-0.2-py3-none-any.whl", "0.2", "root", "root-password"); code != 200 {
		t.Errorf("admin upload to an admin-only project: %d %s", code, body)
	}
	if out := cli(t, m, "", "owner", "list", "acme-util"); out != "" {
		t.Errorf("owner list of an admin-only project printed %q", out)
	}

	// The admin hands the project to alice and bob; removing alice is
	// refused (CLI and API) until forced; bob keeps the project.
	cli(t, m, "", "owner", "add", "acme-util", "alice")
	if code, body := apiRaw(t, m, "POST", owners, `{"user": "bob"}`, basic("root", "root-password")); code != 201 {
		t.Fatalf("admin adds bob: %d %s", code, body)
	}
	_, apiOwners := apiRaw(t, m, "GET", owners, "", basic("bob", "bob-password"))
	sameJSON(t, "owner list", apiOwners, []byte(cli(t, m, "", "owner", "list", "acme-util", "--json")))
	if out, err := runCLI(t, nil, "", "user", "remove", "alice", "--data", m.Config.Data); err == nil ||
		!strings.Contains(err.Error(), "alice owns acme-util") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("user remove of an owner: %v\n%s", err, out)
	}
	if code, body := apiRaw(t, m, "DELETE", "/api/v1/users/alice", "", basic("root", "root-password")); code != 409 || !strings.Contains(string(body), "acme-util") {
		t.Errorf("API removal of an owner: %d %s", code, body)
	}
	out = cli(t, m, "", "user", "remove", "alice", "--force")
	if !strings.Contains(out, "removed alice from "+catalog) || !strings.Contains(out, "acme-util: owners: bob") {
		t.Errorf("user remove --force said %q", out)
	}
	// bob, the last owner, removed through the API with force: admin-only.
	code, body := apiRaw(t, m, "DELETE", "/api/v1/users/bob?force=true", "", basic("root", "root-password"))
	if code != 200 || !strings.Contains(string(body), `{"owners":[],"project":"acme-util"}`) && !strings.Contains(string(body), `"project":"acme-util","owners":[]`) {
		t.Errorf("API forced removal: %d %s", code, body)
	}

	// The audit log has every change, with its project.
	out = cli(t, m, "", "audit", "--project", "acme-util", "--json")
	var log struct {
		Events []struct{ Actor, Action, Project, Detail string }
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log.Events {
		if strings.HasPrefix(e.Action, "owner") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Detail)
		}
	}
	want := []string{
		"root owner remove user bob (removed with the user); no owners left: admin-only",
		"cli:" + cliUser() + " owner remove user alice (removed with the user)",
		"root owner add user bob",
		"cli:" + cliUser() + " owner add user alice",
		"root owner remove user carol; no owners left: admin-only",
		"alice owner remove user alice",
		"carol owner remove user bob",
		"alice owner add user carol",
		"cli:" + cliUser() + " owner add user bob",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("owner events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	users := cli(t, m, "", "audit", "--action", "user remove")
	if !strings.Contains(users, "forced, owned acme-util") {
		t.Errorf("the forced removal is not audited as such:\n%s", users)
	}
}

// cliUser is the $USER the CLI records as "cli:$USER".
func cliUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
