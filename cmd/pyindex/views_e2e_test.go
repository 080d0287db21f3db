package main_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestCLIParity: pyindex list, show and audit answer what the admin API
// answers: each --json is the API's JSON for the same question, byte for
// byte (once compacted), filters and paging included; the text forms mark
// yanked releases.
func TestCLIParity(t *testing.T) {
	m := startServer(t, nil)
	addUser(t, m, "ci", "ci-password", false)
	addUser(t, m, "root", "root-password", true)
	for _, f := range [][3]string{
		{"acme_util-0.1-py3-none-any.whl", "acme-util", "0.1"},
		{"acme_util-0.1.tar.gz", "acme-util", "0.1"},
		{"acme_util-1.0rc1-py3-none-any.whl", "acme-util", "1.0rc1"},
		{"acme_core-1.0-py3-none-any.whl", "acme-core", "1.0"},
		{"acme_future-1.0-py3-none-any.whl", "acme-future", "1.0"},
	} {
		kind := "bdist_wheel"
		if strings.HasSuffix(f[0], ".tar.gz") {
			kind = "sdist"
		}
		if code, body, _ := do(t, uploadRequest(t, m.URL(), f[0], f[1], f[2], kind), basic("ci", "ci-password")); code != 200 {
			t.Fatalf("upload %s: %d %s", f[0], code, body)
		}
	}
	cli(t, m, "", "yank", "acme-util", "0.1", "--reason", "broken wheel")
	root := basic("root", "root-password")

	// list: the first page of 2, the next page from its cursor, a query.
	_, page1 := apiRaw(t, m, "GET", "/api/v1/projects?limit=2", "", root)
	sameJSON(t, "list --limit 2", page1, []byte(cli(t, m, "", "list", "--limit", "2", "--json")))
	var first struct{ Next string }
	mustUnmarshal(t, page1, &first)
	if first.Next == "" {
		t.Fatalf("no next page: %s", page1)
	}
	_, page2 := apiRaw(t, m, "GET", "/api/v1/projects?limit=2&cursor="+url.QueryEscape(first.Next), "", root)
	sameJSON(t, "list --cursor", page2, []byte(cli(t, m, "", "list", "--limit", "2", "--cursor", first.Next, "--json")))
	_, queried := apiRaw(t, m, "GET", "/api/v1/projects?q=Acme_Ut", "", root)
	sameJSON(t, "list --query", queried, []byte(cli(t, m, "", "list", "--query", "Acme_Ut", "--json")))
	text, err := runCLI(t, nil, "", "list", "--limit", "2", "--data", m.Config.Data)
	if err != nil || !strings.Contains(text, "acme-core") || !strings.Contains(text, "acme-future") ||
		strings.Contains(text, "acme-util ") || !strings.Contains(text, "pyindex list --cursor "+first.Next) {
		t.Errorf("list --limit 2 (%v):\n%s", err, text)
	}

	// show: a project (any spelling) and one release.
	_, project := apiRaw(t, m, "GET", "/api/v1/projects/Acme_Util", "", root)
	sameJSON(t, "show", project, []byte(cli(t, m, "", "show", "Acme_Util", "--json")))
	_, release := apiRaw(t, m, "GET", "/api/v1/projects/acme-util/releases/0.1.0", "", root)
	sameJSON(t, "show VERSION", release, []byte(cli(t, m, "", "show", "acme-util", "0.1.0", "--json")))
	if !strings.Contains(string(release), `"yanked":true`) || !strings.Contains(string(release), "acme_util-0.1.tar.gz") {
		t.Errorf("release JSON: %s", release)
	}
	text = cli(t, m, "", "show", "acme-util")
	for _, want := range []string{"owners: ci", "1.0rc1", "acme_util-0.1.tar.gz", "yanked", "0.1 is yanked: broken wheel"} {
		if !strings.Contains(text, want) {
			t.Errorf("show lacks %q:\n%s", want, text)
		}
	}
	if text := cli(t, m, "", "show", "acme-util", "0.1"); !strings.Contains(text, "acme-util 0.1 (yanked: broken wheel)") {
		t.Errorf("show VERSION:\n%s", text)
	}
	for _, args := range [][]string{{"show", "nope"}, {"show", "acme-util", "9.9"}, {"show", "acme-util", "not a version"}} {
		if _, err := runCLI(t, nil, "", append(args, "--data", m.Config.Data)...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}

	// audit: each filter, and the limit.
	for _, q := range []struct {
		query string
		args  []string
	}{
		{"", nil},
		{"?project=ACME.util", []string{"--project", "ACME.util"}},
		{"?actor=ci&limit=2", []string{"--actor", "ci", "--limit", "2"}},
		{"?action=yank", []string{"--action", "yank"}},
	} {
		_, api := apiRaw(t, m, "GET", "/api/v1/audit"+q.query, "", root)
		sameJSON(t, "audit"+q.query, api, []byte(cli(t, m, "", append([]string{"audit", "--json"}, q.args...)...)))
	}
	if text := cli(t, m, "", "audit", "--action", "yank"); !strings.Contains(text, "yank") || !strings.Contains(text, "acme-util") {
		t.Errorf("audit text:\n%s", text)
	}
	if _, err := runCLI(t, nil, "", "audit", "--limit", "0", "--data", m.Config.Data); err == nil {
		t.Errorf("audit --limit 0 succeeded")
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
