package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
)

// TestAdminPagesNeedAdmin: every admin page and action refuses a user who
// is not an admin (403) and sends a visitor to the login form.
func TestAdminPagesNeedAdmin(t *testing.T) {
	en := manageEnv(t)
	alice := en.browser()
	alice.login("alice", "alice-password")
	mustNotContain(t, "a user's menu", alice.get("/projects/").body, "/manage/")
	token := csrfOf(t, alice.get("/projects/").body)
	anon := en.browser()
	for _, path := range []string{"/manage/prune", "/manage/audit", "/manage/users", "/manage/tokens"} {
		if r := alice.get(path); r.code != http.StatusForbidden {
			t.Errorf("alice GET %s: %d", path, r.code)
		}
		if r := anon.get(path); r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/login") {
			t.Errorf("anonymous GET %s: %d", path, r.code)
		}
	}
	for _, path := range []string{"/manage/prune", "/manage/users", "/manage/users/bob/remove", "/manage/users/bob/password", "/manage/tokens", "/manage/tokens/1/revoke"} {
		if r := alice.do(http.MethodPost, path, url.Values{"csrf": {token}, "name": {"eve"}, "password": {"eve-password"}, "admin": {"1"},
			"user": {"alice"}, "scope": {"admin"}, "keep_dev": {"1"}}); r.code != http.StatusForbidden {
			t.Errorf("alice POST %s: %d", path, r.code)
		}
	}
	if _, err := en.cat.GetUser(context.Background(), "eve"); err == nil {
		t.Fatal("a refused request created eve")
	}
	if _, err := en.cat.GetUser(context.Background(), "bob"); err != nil {
		t.Fatal("a refused request removed bob")
	}
}

func TestPrunePage(t *testing.T) {
	en := manageEnv(t)
	for _, v := range []string{"2.0.dev1", "2.0.dev2", "2.0.dev3"} {
		en.release("alpha", v, dist.Metadata{}, "alice")
	}
	root := en.browser()
	root.login("root", "root-password")
	mustContain(t, "the admin's menu", root.get("/projects/").body, `href="/manage/prune"`, `href="/manage/audit"`, `href="/manage/users"`, `href="/manage/tokens"`)
	page := root.get("/manage/prune")
	mustContain(t, "the prune form", page.body, `<label for="keep_dev">`, `<label for="project">`, "Preview")

	// The preview lists exactly what would go, and deletes nothing.
	page = root.get("/manage/prune?project=alpha&keep_dev=1")
	if page.code != http.StatusOK {
		t.Fatalf("preview: %d %s", page.code, page.body)
	}
	mustContain(t, "the preview", page.body, "Would delete", "alpha-2.0.dev1-py3-none-any.whl", "alpha-2.0.dev2-py3-none-any.whl", "keep_dev", `class="danger">Prune</button>`)
	mustNotContain(t, "the preview", page.body, "alpha-2.0.dev3-py3-none-any.whl (", "alpha-1.0-py3")
	if _, err := en.cat.File(context.Background(), "alpha-2.0.dev1-py3-none-any.whl"); err != nil {
		t.Fatal("the preview deleted a file")
	}
	if r := root.get("/manage/prune?keep_dev=-1"); r.code != http.StatusBadRequest || !strings.Contains(r.body, "keep_dev must not be negative") {
		t.Errorf("bad rules: %d", r.code)
	}
	if r := root.get("/manage/prune?dev_older_than=soon"); r.code != http.StatusBadRequest {
		t.Errorf("a bad duration: %d", r.code)
	}

	form := hiddenFields(t, page.body, "/manage/prune")
	// When the catalog changed since the preview, nothing is deleted and
	// the new list is shown.
	en.release("alpha", "2.0.dev4", dist.Metadata{}, "alice")
	r := root.do(http.MethodPost, "/manage/prune", form)
	if r.code != http.StatusConflict || !strings.Contains(r.body, "changed since the preview") || !strings.Contains(r.body, "alpha-2.0.dev3-py3-none-any.whl") {
		t.Fatalf("a stale preview: %d %s", r.code, r.body)
	}
	if _, err := en.cat.File(context.Background(), "alpha-2.0.dev1-py3-none-any.whl"); err != nil {
		t.Fatal("a stale preview deleted a file")
	}
	// The new preview, applied, deletes exactly its list.
	form = hiddenFields(t, r.body, "/manage/prune")
	r = root.do(http.MethodPost, "/manage/prune", form)
	if r.code != http.StatusOK || !strings.Contains(r.body, "Deleted 3 releases and 3 files") {
		t.Fatalf("prune: %d %s", r.code, r.body)
	}
	for _, v := range []string{"2.0.dev1", "2.0.dev2", "2.0.dev3"} {
		if _, err := en.cat.File(context.Background(), "alpha-"+v+"-py3-none-any.whl"); err == nil {
			t.Errorf("%s survived the prune", v)
		}
	}
	if _, err := en.cat.File(context.Background(), "alpha-2.0.dev4-py3-none-any.whl"); err != nil {
		t.Error("the prune deleted the newest dev build")
	}
	// A prune without the token changes nothing.
	delete(form, "csrf")
	if r := root.do(http.MethodPost, "/manage/prune", form); r.code != http.StatusForbidden {
		t.Errorf("a prune without the token: %d", r.code)
	}
}

var inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenFields returns the hidden fields of the form posting to action.
func hiddenFields(t *testing.T, body, action string) url.Values {
	t.Helper()
	i := strings.Index(body, `<form method="post" action="`+action+`">`)
	if i < 0 {
		t.Fatalf("no form to %s:\n%s", action, body)
	}
	form := body[i:]
	form = form[:strings.Index(form, "</form>")]
	vals := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(form, -1) {
		vals.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	return vals
}

func TestAuditPage(t *testing.T) {
	en := manageEnv(t)
	if _, err := en.cat.Yank(context.Background(), "bravo", "1.0", "<b>why</b>", index.Actor{Name: "bob", RemoteAddr: "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	root := en.browser()
	root.login("root", "root-password")
	r := root.get("/manage/audit")
	mustContain(t, "the audit log", r.body, "upload", "alpha", "bravo", "yank", "&lt;b&gt;why&lt;/b&gt;", "10.0.0.9", `<label for="a-project">Project</label>`)
	r = root.get("/manage/audit?project=Bravo&action=yank")
	mustContain(t, "the filtered log", r.body, "yank", "bob")
	mustNotContain(t, "the filtered log", r.body, `href="/project/alpha/"`)
	r = root.get("/manage/audit?actor=nobody")
	mustContain(t, "an empty log", r.body, "No entries match")
}

func TestUsersPage(t *testing.T) {
	en := manageEnv(t)
	ctx := context.Background()
	root := en.browser()
	root.login("root", "root-password")
	page := root.get("/manage/users")
	mustContain(t, "the users page", page.body, "alice", "bob", `<label for="new-name">User name</label>`, `<label for="new-admin">Admin</label>`)

	r := root.post("/manage/users", "/manage/users", url.Values{"name": {"carol"}, "password": {"carol-password"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("add: %d %s", r.code, r.body)
	}
	if u, err := en.cat.GetUser(ctx, "carol"); err != nil || u.Admin {
		t.Fatalf("carol: %+v %v", u, err)
	}
	if r := root.post("/manage/users", "/manage/users", url.Values{"name": {"carol"}, "password": {"carol-password"}}); r.code != http.StatusBadRequest || !strings.Contains(r.body, "exists already") {
		t.Errorf("a taken name: %d", r.code)
	}
	if r := root.post("/manage/users", "/manage/users", url.Values{"name": {"dave"}, "password": {"short"}}); r.code != http.StatusBadRequest || !strings.Contains(r.body, "at least 8") {
		t.Errorf("a short password: %d", r.code)
	}
	if r := root.post("/manage/users", "/manage/users", url.Values{"name": {"<x>"}, "password": {"long-enough"}}); r.code != http.StatusBadRequest || strings.Contains(r.body, "<x>") {
		t.Errorf("a bad name: %d", r.code)
	}

	// A new password ends the user's sessions.
	carol := en.browser()
	carol.login("carol", "carol-password")
	r = root.post("/manage/users", "/manage/users/carol/password", url.Values{"password": {"carol-new-password"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("password: %d %s", r.code, r.body)
	}
	mustContain(t, "carol after the change", carol.get("/projects/").body, ">Log in<")
	if r := carol.login("carol", "carol-new-password"); r.code != http.StatusSeeOther {
		t.Errorf("login with the new password: %d", r.code)
	}
	r = root.post("/manage/users", "/manage/users/carol/remove", nil)
	if r.code != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", r.code, r.body)
	}
	if _, err := en.cat.GetUser(ctx, "carol"); err == nil {
		t.Fatal("carol is still there")
	}
	mustContain(t, "carol after the removal", carol.get("/projects/").body, ">Log in<")
	if r := root.post("/manage/users", "/manage/users/nobody/remove", nil); r.code != http.StatusNotFound {
		t.Errorf("removing an unknown user: %d", r.code)
	}
}

func TestTokensPage(t *testing.T) {
	en := manageEnv(t)
	ctx := context.Background()
	root := en.browser()
	root.login("root", "root-password")
	page := root.get("/manage/tokens")
	mustContain(t, "the tokens page", page.body, "No tokens", `<label for="t-scope">Scope</label>`, `<option value="alice">alice</option>`)

	r := root.post("/manage/tokens", "/manage/tokens", url.Values{"user": {"alice"}, "scope": {"upload"}, "projects": {"alpha, Bravo"}, "expires": {"720h"}, "description": {"CI <job>"}})
	if r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	secret := regexp.MustCompile(`<pre id="new-secret" class="secret">(pyi_[a-z2-7]+)</pre>`).FindStringSubmatch(r.body)
	if secret == nil {
		t.Fatalf("no secret on the page:\n%s", r.body)
	}
	if r.hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("the secret's page may be stored: %v", r.hdr)
	}
	p, err := en.cat.CheckToken(ctx, secret[1])
	if err != nil || p.User != "alice" || p.Scope != index.ScopeUpload || strings.Join(p.Projects, " ") != "alpha bravo" {
		t.Fatalf("the token: %+v %v", p, err)
	}
	// Shown once: the list never shows it again.
	page = root.get("/manage/tokens")
	mustContain(t, "the list", page.body, "CI &lt;job&gt;", "alpha, bravo")
	mustNotContain(t, "the list", page.body, secret[1])

	for name, form := range map[string]url.Values{
		"a bad scope":             {"user": {"alice"}, "scope": {"root"}},
		"an admin token of alice": {"user": {"alice"}, "scope": {"admin"}},
		"a bad expiry":            {"user": {"alice"}, "scope": {"read"}, "expires": {"tomorrow"}},
		"an unknown user":         {"user": {"nobody"}, "scope": {"read"}},
	} {
		if r := root.post("/manage/tokens", "/manage/tokens", form); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	tokens, _ := en.cat.Tokens(ctx, "")
	if len(tokens) != 1 {
		t.Fatalf("tokens: %v", tokens)
	}
	r = root.post("/manage/tokens", "/manage/tokens/"+itoa(tokens[0].ID)+"/revoke", nil)
	if r.code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if _, err := en.cat.CheckToken(ctx, secret[1]); err == nil {
		t.Error("the revoked token still works")
	}
	if r := root.post("/manage/tokens", "/manage/tokens/999/revoke", nil); r.code != http.StatusNotFound {
		t.Errorf("revoking an unknown token: %d", r.code)
	}
}

func itoa(n int64) string { return strconvFormat(n) }

// TestOwnerPruneAndAudit: an owner prunes and reads the audit log of their
// own projects, and of no other (nor of every project).
func TestOwnerPruneAndAudit(t *testing.T) {
	en := manageEnv(t)
	for _, v := range []string{"2.0.dev1", "2.0.dev2"} {
		en.release("alpha", v, dist.Metadata{}, "alice")
		en.release("bravo", v, dist.Metadata{}, "bob")
	}
	alice := en.browser()
	alice.login("alice", "alice-password")
	mustContain(t, "alice's project page", alice.get("/project/alpha/").body, `href="/manage/prune?project=alpha"`, `href="/manage/audit?project=alpha"`)
	mustNotContain(t, "bob's project page for alice", alice.get("/project/bravo/").body, `/manage/prune`)
	mustContain(t, "alice's prune form", alice.get("/manage/prune?project=alpha").body, `value="alpha" required`)
	for _, path := range []string{"/manage/prune?keep_dev=1", "/manage/prune?project=bravo&keep_dev=1", "/manage/audit", "/manage/audit?project=bravo"} {
		if r := alice.get(path); r.code != http.StatusForbidden {
			t.Errorf("alice GET %s: %d", path, r.code)
		}
	}
	token := csrfOf(t, alice.get("/projects/").body)
	if r := alice.do(http.MethodPost, "/manage/prune", url.Values{"csrf": {token}, "keep_dev": {"1"}}); r.code != http.StatusForbidden {
		t.Errorf("alice prunes every project: %d", r.code)
	}
	if r := alice.do(http.MethodPost, "/manage/prune", url.Values{"csrf": {token}, "keep_dev": {"1"}, "project": {"Bravo"}}); r.code != http.StatusForbidden {
		t.Errorf("alice prunes bravo: %d", r.code)
	}
	if _, err := en.cat.File(context.Background(), "bravo-2.0.dev1-py3-none-any.whl"); err != nil {
		t.Fatal("a refused prune deleted bob's file")
	}
	page := alice.get("/manage/prune?project=alpha&keep_dev=1")
	mustContain(t, "alice's preview", page.body, "alpha-2.0.dev1-py3-none-any.whl")
	mustNotContain(t, "alice's preview", page.body, "bravo-")
	if r := alice.do(http.MethodPost, "/manage/prune", hiddenFields(t, page.body, "/manage/prune")); r.code != http.StatusOK || !strings.Contains(r.body, "Deleted 1 release") {
		t.Fatalf("alice's prune: %d %s", r.code, r.body)
	}
	if _, err := en.cat.File(context.Background(), "bravo-2.0.dev1-py3-none-any.whl"); err != nil {
		t.Fatal("alice's prune deleted bob's file")
	}
	r := alice.get("/manage/audit?project=alpha")
	mustContain(t, "alice's audit log", r.body, "prune", "alice")
	mustNotContain(t, "alice's audit log", r.body, `href="/project/bravo/"`)
}
