package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
)

func (en *env) owners(project string) []string {
	en.t.Helper()
	o, err := en.cat.Owners(context.Background(), project)
	if err != nil {
		en.t.Fatal(err)
	}
	return o
}

// TestOwnersPermissions: only owners and admins are offered the owner
// forms, and every other POST is refused and changes nothing.
func TestOwnersPermissions(t *testing.T) {
	en := manageEnv(t) // alpha owned by alice, bravo by bob, root an admin
	anon := en.browser()
	page := anon.get("/project/alpha/")
	mustContain(t, "the anonymous page", page.body, `<section id="owners"><h2>Owners</h2>`, "<li>alice</li>")
	mustNotContain(t, "the anonymous page", page.body, "/owners/add", "/owners/remove", "Add owner")
	if r := anon.do(http.MethodPost, "/project/alpha/owners/add", url.Values{"user": {"bob"}}); r.code < 300 || r.code == http.StatusOK {
		t.Errorf("an anonymous add: %d", r.code)
	}
	bob := en.browser()
	bob.login("bob", "bob-password")
	mustNotContain(t, "bob's view of alpha", bob.get("/project/alpha/").body, "/owners/add", "Remove")
	if r := bob.post("/project/bravo/", "/project/alpha/owners/add", url.Values{"user": {"bob"}}); r.code != http.StatusForbidden {
		t.Errorf("bob adds himself to alpha: %d", r.code)
	}
	if r := bob.post("/project/bravo/", "/project/alpha/owners/remove", url.Values{"user": {"alice"}}); r.code != http.StatusForbidden {
		t.Errorf("bob removes alice from alpha: %d", r.code)
	}
	if r := bob.post("/project/bravo/", "/project/nope/owners/add", url.Values{"user": {"bob"}}); r.code != http.StatusNotFound {
		t.Errorf("an unknown project: %d", r.code)
	}
	alice := en.browser()
	alice.login("alice", "alice-password")
	if r := alice.do(http.MethodPost, "/project/alpha/owners/add", url.Values{"user": {"bob"}}); r.code != http.StatusForbidden {
		t.Errorf("an add without the CSRF token: %d", r.code)
	}
	if r := alice.do(http.MethodPost, "/project/alpha/owners/add", url.Values{"user": {"bob"}, "csrf": {"forged"}}); r.code != http.StatusForbidden {
		t.Errorf("an add with a wrong CSRF token: %d", r.code)
	}
	if got := en.owners("alpha"); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("refused changes changed the owners: %v", got)
	}
	if ev, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Action: "owner add"}); len(ev) != 0 {
		t.Errorf("refused changes were audited: %v", ev)
	}
}

func TestOwnersAddRemove(t *testing.T) {
	en := manageEnv(t)
	ctx := context.Background()
	alice := en.browser()
	alice.login("alice", "alice-password")
	page := alice.get("/project/alpha/")
	mustContain(t, "the owner's page", page.body, `<label for="owner-user">User name</label>`, `<button type="submit">Add owner</button>`,
		`action="/project/alpha/owners/remove"`, `<input type="hidden" name="user" value="alice">`, ">Remove</button>")

	r := alice.post("/project/alpha/", "/project/alpha/owners/add", url.Values{"user": {" bob "}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/project/alpha/?done=owner-added#owners" {
		t.Fatalf("add bob: %d %s %s", r.code, r.hdr.Get("Location"), r.body)
	}
	if got := en.owners("alpha"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("after the add: %v", got)
	}
	page = alice.get("/project/alpha/?done=owner-added")
	mustContain(t, "the page after the add", page.body, `<p class="notice" role="status">Owner added.</p>`, `<span>bob</span>`)
	ev, err := en.cat.AuditEvents(ctx, index.AuditQuery{Action: "owner add"})
	if err != nil || len(ev) != 1 || ev[0].Actor != "alice" || ev[0].Project != "alpha" || !strings.Contains(ev[0].Detail, "bob") {
		t.Errorf("audit: %v %v", ev, err)
	}
	// bob, now an owner, may manage too.
	bob := en.browser()
	bob.login("bob", "bob-password")
	mustContain(t, "bob's view of alpha", bob.get("/project/alpha/").body, "Add owner")

	// Refusals are shown on the page, the user name kept, nothing changed.
	r = alice.post("/project/alpha/", "/project/alpha/owners/add", url.Values{"user": {`no"body<x>`}})
	mustContain(t, "an unknown user", r.body, `role="alert" id="owner-error">There is no user named &#34;no\&#34;body&lt;x&gt;&#34;`, `value="no&#34;body&lt;x&gt;"`)
	mustNotContain(t, "an unknown user", r.body, "<x>")
	if r.code != http.StatusNotFound {
		t.Errorf("an unknown user: %d", r.code)
	}
	r = alice.post("/project/alpha/", "/project/alpha/owners/add", url.Values{"user": {"bob"}})
	mustContain(t, "an owner added again", r.body, "bob already owns alpha.")
	if r.code != http.StatusConflict {
		t.Errorf("an owner added again: %d", r.code)
	}
	if r := alice.post("/project/alpha/", "/project/alpha/owners/add", url.Values{"user": {"  "}}); r.code != http.StatusBadRequest || !strings.Contains(r.body, "Enter a user name.") {
		t.Errorf("an empty name: %d", r.code)
	}
	r = alice.post("/project/alpha/", "/project/alpha/owners/remove", url.Values{"user": {"root"}})
	mustContain(t, "removing a non-owner", r.body, "root is not an owner of alpha.")

	// alice removes bob; then she is the last owner and cannot go.
	r = alice.post("/project/alpha/", "/project/alpha/owners/remove", url.Values{"user": {"bob"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/project/alpha/?done=owner-removed#owners" {
		t.Fatalf("remove bob: %d %s", r.code, r.body)
	}
	r = alice.post("/project/alpha/", "/project/alpha/owners/remove", url.Values{"user": {"alice"}})
	if r.code != http.StatusForbidden {
		t.Errorf("the last owner removing herself: %d", r.code)
	}
	mustContain(t, "the last owner's refusal", r.body, "is the last owner of &#39;alpha&#39;: add another owner first", "<span>alice</span>")
	if got := en.owners("alpha"); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("after the refusals: %v", got)
	}
	// An admin may remove the last owner; the project is then admin-only,
	// and the admin still gets the form.
	root := en.browser()
	root.login("root", "root-password")
	if r := root.post("/project/alpha/", "/project/alpha/owners/remove", url.Values{"user": {"alice"}}); r.code != http.StatusSeeOther {
		t.Fatalf("the admin removes the last owner: %d %s", r.code, r.body)
	}
	page = root.get("/project/alpha/")
	mustContain(t, "an admin-only project", page.body, "None: only admins may upload.", "Add owner")
	mustNotContain(t, "alice's view now", alice.get("/project/alpha/").body, "Add owner", `id="owners"`)
	if r := alice.post("/project/bravo/", "/project/alpha/owners/add", url.Values{"user": {"alice"}}); r.code != http.StatusForbidden {
		t.Errorf("a former owner adds herself back: %d", r.code)
	}
}

// TestNoticesAreFixed: a done code shows its fixed message; any other
// text in the link shows nothing.
func TestNoticesAreFixed(t *testing.T) {
	en := manageEnv(t)
	root := en.browser()
	root.login("root", "root-password")
	for page, want := range map[string]string{
		"/manage/users?done=user-added":      "User added.",
		"/manage/users?done=password-set":    "Password changed; the user&#39;s sessions ended.",
		"/manage/tokens?done=token-revoked":  "Token revoked.",
		"/project/alpha/?done=owner-removed": "Owner removed.",
	} {
		mustContain(t, page, root.get(page).body, want)
	}
	for _, page := range []string{"/manage/users", "/manage/tokens", "/project/alpha/"} {
		body := root.get(page + "?done=" + url.QueryEscape("Your password expired: log in at evil.example")).body
		mustNotContain(t, page+" with a crafted notice", body, "evil.example", `class="notice"`)
	}
	// The actions link to their codes.
	r := root.post("/manage/users", "/manage/users", url.Values{"name": {"carol"}, "password": {"carol-password-1"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/manage/users?done=user-added" {
		t.Errorf("add a user: %d %s", r.code, r.hdr.Get("Location"))
	}
}
