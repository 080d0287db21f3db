package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
)

// manageEnv has two projects owned by different users, and an admin.
func manageEnv(t *testing.T) *env {
	en := publicEnv(t)
	en.user("alice", false)
	en.user("bob", false)
	en.user("root", true)
	en.release("alpha", "1.0", dist.Metadata{}, "alice")
	en.release("alpha", "1.1", dist.Metadata{}, "alice")
	en.release("bravo", "1.0", dist.Metadata{}, "bob")
	return en
}

func (en *env) yanked(project, version string) (bool, string) {
	en.t.Helper()
	_, rels, err := en.cat.ProjectDetail(context.Background(), project)
	if err != nil {
		en.t.Fatal(err)
	}
	for _, r := range rels {
		if r.Version == version {
			return r.Yanked, r.YankedReason
		}
	}
	en.t.Fatalf("no release %s %s", project, version)
	return false, ""
}

func TestYankUnyank(t *testing.T) {
	en := manageEnv(t)
	b := en.browser()
	b.login("alice", "alice-password")
	page := b.get("/project/alpha/1.1/")
	mustContain(t, "the owner's release page", page.body, `<label for="reason">Reason</label>`, `<button type="submit">Yank</button>`, "Delete release", "Delete…")
	r := b.post("/project/alpha/1.1/", "/project/alpha/1.1/yank", url.Values{"reason": {"broken <build>"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/project/alpha/1.1/" {
		t.Fatalf("yank: %d %s", r.code, r.body)
	}
	if y, reason := en.yanked("alpha", "1.1"); !y || reason != "broken <build>" {
		t.Fatalf("after the yank: %v %q", y, reason)
	}
	page = b.get("/project/alpha/1.1/")
	mustContain(t, "a yanked release", page.body, "Yanked: broken &lt;build&gt;", `<button type="submit">Unyank</button>`)
	// The project page now picks 1.0 as the latest.
	mustContain(t, "the project after the yank", b.get("/project/alpha/").body, `<h1>alpha <span class="muted">1.0</span>`)
	ev, err := en.cat.AuditEvents(context.Background(), index.AuditQuery{Action: "yank"})
	if err != nil || len(ev) != 1 || ev[0].Actor != "alice" || ev[0].Version != "1.1" {
		t.Errorf("audit: %v %v", ev, err)
	}
	r = b.post("/project/alpha/1.1/", "/project/alpha/1.1/unyank", nil)
	if r.code != http.StatusSeeOther {
		t.Fatalf("unyank: %d %s", r.code, r.body)
	}
	if y, _ := en.yanked("alpha", "1.1"); y {
		t.Fatal("still yanked")
	}
	if r := b.post("/project/alpha/1.1/", "/project/alpha/1.1/yank", url.Values{"reason": {strings.Repeat("x", 1001)}}); r.code != http.StatusBadRequest {
		t.Errorf("an over-long reason: %d", r.code)
	}
	if r := b.post("/project/alpha/1.1/", "/project/alpha/9.9/yank", nil); r.code != http.StatusNotFound {
		t.Errorf("yank of an unknown release: %d", r.code)
	}
}

// TestPermissions: an owner of one project cannot yank or delete in
// another's (403, nothing changes), and is not offered to; an admin may
// everywhere; a visitor without a session may nowhere.
func TestPermissions(t *testing.T) {
	en := manageEnv(t)
	alice := en.browser()
	alice.login("alice", "alice-password")
	page := alice.get("/project/bravo/1.0/")
	mustNotContain(t, "another's release page", page.body, "Yank", "Delete", `name="reason"`)
	token := csrfOf(t, page.body) // the logout form's: a valid token of the session
	for _, action := range []string{"yank", "unyank", "delete"} {
		r := alice.do(http.MethodPost, "/project/bravo/1.0/"+action, url.Values{"csrf": {token}, "reason": {"mine now"}})
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "only its owners and admins") {
			t.Errorf("alice %s bravo: %d %s", action, r.code, r.body)
		}
	}
	if r := alice.get("/project/bravo/1.0/delete"); r.code != http.StatusForbidden {
		t.Errorf("alice's delete confirmation of bravo: %d", r.code)
	}
	if y, _ := en.yanked("bravo", "1.0"); y {
		t.Fatal("alice yanked bravo")
	}
	if _, err := en.cat.ProjectSerial(context.Background(), "bravo"); err != nil {
		t.Fatal(err)
	}

	root := en.browser()
	root.login("root", "root-password")
	mustContain(t, "the admin's page", root.get("/project/bravo/1.0/").body, "Yank", "Delete release")
	if r := root.post("/project/bravo/1.0/", "/project/bravo/1.0/yank", url.Values{"reason": {"admin"}}); r.code != http.StatusSeeOther {
		t.Errorf("the admin's yank: %d %s", r.code, r.body)
	}

	anon := en.browser()
	if r := anon.do(http.MethodPost, "/project/alpha/1.0/yank", url.Values{}); r.code != http.StatusForbidden {
		t.Errorf("an anonymous yank: %d", r.code)
	}
	if r := anon.get("/project/alpha/1.0/delete"); r.code != http.StatusSeeOther {
		t.Errorf("an anonymous delete confirmation: %d", r.code)
	}
	// Basic credentials of an owner open no action: actions need a
	// session and its token.
	basic := en.browser()
	basic.header.Set("Authorization", "Basic "+basicValue("alice", "alice-password"))
	if r := basic.do(http.MethodPost, "/project/alpha/1.0/yank", url.Values{}); r.code != http.StatusForbidden {
		t.Errorf("a yank with Basic credentials: %d", r.code)
	}
	if y, _ := en.yanked("alpha", "1.0"); y {
		t.Fatal("a refused request yanked alpha 1.0")
	}
}

// TestCSRF: a POST without the session's token, with another session's,
// or from another origin, is refused with 403 and changes nothing; a GET
// never changes anything.
func TestCSRF(t *testing.T) {
	en := manageEnv(t)
	alice := en.browser()
	alice.login("alice", "alice-password")
	other := en.browser()
	other.login("alice", "alice-password")
	otherToken := csrfOf(t, other.get("/projects/").body)
	own := csrfOf(t, alice.get("/projects/").body)
	if own == otherToken {
		t.Fatal("two sessions share a CSRF token")
	}
	for name, form := range map[string]url.Values{
		"no token":              {"reason": {"x"}},
		"an empty token":        {"reason": {"x"}, "csrf": {""}},
		"another session's one": {"reason": {"x"}, "csrf": {otherToken}},
		"a wrong one":           {"reason": {"x"}, "csrf": {own + "x"}},
	} {
		r := alice.do(http.MethodPost, "/project/alpha/1.0/yank", form)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "security token") {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	// The token in the query string does not count: it must be in the form.
	if r := alice.do(http.MethodPost, "/project/alpha/1.0/yank?csrf="+url.QueryEscape(own), url.Values{}); r.code != http.StatusForbidden {
		t.Errorf("a token in the URL: %d", r.code)
	}
	// Cross-origin: the server's guard refuses it before the handler.
	alice.header.Set("Origin", "https://evil.example")
	alice.header.Set("Sec-Fetch-Site", "cross-site")
	if r := alice.do(http.MethodPost, "/project/alpha/1.0/yank", url.Values{"csrf": {own}}); r.code != http.StatusForbidden {
		t.Errorf("a cross-origin POST with the token: %d", r.code)
	}
	alice.header = http.Header{}
	if r := alice.get("/project/alpha/1.0/yank"); r.code != http.StatusMethodNotAllowed && r.code != http.StatusNotFound {
		t.Errorf("a GET of an action: %d", r.code)
	}
	if y, _ := en.yanked("alpha", "1.0"); y {
		t.Fatal("a refused request yanked alpha 1.0")
	}
	if r := alice.do(http.MethodPost, "/project/alpha/1.0/yank", url.Values{"csrf": {own}}); r.code != http.StatusSeeOther {
		t.Errorf("with the token: %d %s", r.code, r.body)
	}
}

func TestDelete(t *testing.T) {
	en := manageEnv(t)
	en.release("alpha", "1.1", dist.Metadata{}, "alice") // the same file again: nothing new
	ctx := context.Background()
	_, _, err := en.cat.AddFile(ctx, index.NewFile{Project: "alpha", Version: "1.1", Filename: "alpha-1.1.tar.gz", PackageType: "sdist",
		Size: 99, SHA256: strings.Repeat("c", 64), MD5: "m", Blake2b256: "b", BlobKey: "k2", UploadedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	b := en.browser()
	b.login("alice", "alice-password")

	// A file: the confirmation names it and changes nothing.
	page := b.get("/project/alpha/1.1/delete?file=alpha-1.1.tar.gz")
	mustContain(t, "the file's confirmation", page.body, "Delete a file of alpha 1.1?", "alpha-1.1.tar.gz (99 B)", `name="file" value="alpha-1.1.tar.gz"`, `class="danger">Delete</button>`)
	mustNotContain(t, "the file's confirmation", page.body, "alpha-1.1-py3-none-any.whl (")
	if _, err := en.cat.File(ctx, "alpha-1.1.tar.gz"); err != nil {
		t.Fatal("the confirmation page deleted the file")
	}
	if r := b.get("/project/alpha/1.1/delete?file=nope.whl"); r.code != http.StatusNotFound {
		t.Errorf("the confirmation of an unknown file: %d", r.code)
	}
	r := b.post("/project/alpha/1.1/delete?file=alpha-1.1.tar.gz", "/project/alpha/1.1/delete", url.Values{"file": {"alpha-1.1.tar.gz"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/project/alpha/1.1/" {
		t.Fatalf("delete a file: %d %s", r.code, r.body)
	}
	if _, err := en.cat.File(ctx, "alpha-1.1.tar.gz"); err == nil {
		t.Fatal("the file is still there")
	}
	// A file of another project, through this one's URL, is not found.
	if r := b.post("/project/alpha/1.1/", "/project/alpha/1.1/delete", url.Values{"file": {"bravo-1.0-py3-none-any.whl"}}); r.code != http.StatusNotFound {
		t.Errorf("deleting bravo's file through alpha: %d", r.code)
	}

	// The release: the confirmation lists its files.
	page = b.get("/project/alpha/1.1/delete")
	mustContain(t, "the release's confirmation", page.body, "Delete alpha 1.1?", "alpha-1.1-py3-none-any.whl")
	r = b.post("/project/alpha/1.1/delete", "/project/alpha/1.1/delete", nil)
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/project/alpha/" {
		t.Fatalf("delete a release: %d %s", r.code, r.body)
	}
	if r := b.get("/project/alpha/1.1/"); r.code != http.StatusNotFound {
		t.Errorf("the deleted release: %d", r.code)
	}
	mustContain(t, "the project after the delete", b.get("/project/alpha/").body, `<h1>alpha <span class="muted">1.0</span>`)
	ev, err := en.cat.AuditEvents(ctx, index.AuditQuery{Action: "delete"})
	if err != nil || len(ev) != 2 || ev[0].Actor != "alice" {
		t.Errorf("audit: %v %v", ev, err)
	}
}
