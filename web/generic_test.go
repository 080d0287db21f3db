package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/dist"
)

// generic records a generic file uploaded by user (who owns a new name).
func (en *env) generic(name, version, filename, user string) index.GenericFile {
	en.t.Helper()
	u, err := en.cat.GetUser(context.Background(), user)
	if err != nil {
		en.t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(name + version + filename))
	hexSum := hex.EncodeToString(sum[:])
	f, _, err := en.cat.AddGenericFile(context.Background(), index.NewGenericFile{Name: name, Version: version, Filename: filename,
		Size: 2048, SHA256: hexSum, BlobKey: "sha256/" + hexSum, UploadedBy: user, UploaderID: u.ID})
	if err != nil {
		en.t.Fatal(err)
	}
	return f
}

// genericEnv has generic package "vendor-dlls" (owned by alice) beside a
// project of the same name (owned by bob), and an admin.
func genericEnv(t *testing.T, authCfg auth.Config) *env {
	en := newEnv(t, authCfg, nil)
	en.user("alice", false)
	en.user("bob", false)
	en.user("root", true)
	en.release("vendor-dlls", "3.0", dist.Metadata{Summary: "The Python wrapper"}, "bob")
	for _, v := range []string{"1.9", "1.10", "1.11rc1", "1.12.dev3", "0.9"} {
		en.generic("Vendor_DLLs", v, "vendor-dlls-"+v+".zip", "alice")
	}
	en.generic("vendor-dlls", "1.10", "checksums.txt", "alice")
	return en
}

func TestGenericInList(t *testing.T) {
	en := genericEnv(t, auth.DefaultConfig())
	b := en.browser()
	list := b.get("/projects/")
	// Both the project and the generic package of the same name, the
	// project first; the generic one is marked and links to its page.
	mustContain(t, "the list", list.body, `href="/project/vendor-dlls/">vendor-dlls</a>`,
		`href="/packages/generic/vendor-dlls/">Vendor_DLLs</a> <span class="muted">1.10</span>`, `<span class="badge generic"`, "2 projects")
	if strings.Index(list.body, `/project/vendor-dlls/"`) > strings.Index(list.body, `/packages/generic/vendor-dlls/"`) {
		t.Error("the generic package is listed before the project of its name")
	}
	mustContain(t, "a search by the generic display name", b.get("/projects/?q=vendor_dlls").body, `/packages/generic/vendor-dlls/`, "2 projects")
	byUpload := b.get("/projects/?sort=upload").body
	mustContain(t, "the list by upload", byUpload, `/packages/generic/vendor-dlls/`)

	// A new generic package joins on the next request (the serial moved).
	en.generic("app-bundle", "2.0", "app.zip", "bob")
	list = b.get("/projects/?q=bundle")
	mustContain(t, "the list after an upload", list.body, `/packages/generic/app-bundle/">app-bundle</a>`, "1 project ")
	// A requirement named like a generic package is not a link to a project.
	en.release("needs", "1.0", dist.Metadata{RequiresDist: []string{"app-bundle>=1"}}, "bob")
	mustNotContain(t, "a project requiring a generic name", b.get("/project/needs/").body, `href="/project/app-bundle/"`)
}

func TestGenericPage(t *testing.T) {
	en := genericEnv(t, auth.DefaultConfig())
	b := en.browser()
	if r := b.get("/packages/generic/Vendor_DLLs/"); r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != "/packages/generic/vendor-dlls/" {
		t.Errorf("a name not normalized: %d %s", r.code, r.hdr.Get("Location"))
	}
	if r := b.get("/packages/generic/vendor-dlls"); r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != "/packages/generic/vendor-dlls/" {
		t.Errorf("without the slash: %d %s", r.code, r.hdr.Get("Location"))
	}
	for _, p := range []string{"/packages/generic/nope/", "/packages/generic/-bad-/"} {
		if r := b.get(p); r.code != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	page := b.get("/packages/generic/vendor-dlls/")
	if page.code != http.StatusOK {
		t.Fatalf("the page: %d %s", page.code, page.body)
	}
	mustContain(t, "the generic page", page.body,
		`<h1>Vendor_DLLs <span class="muted">1.10</span> <span class="badge generic"`,
		"5 versions, 6 files",
		`curl -fLO http://example.com/generic/vendor-dlls/latest/checksums.txt`,
		`curl -fu USER:PASSWORD -T checksums.txt http://example.com/generic/vendor-dlls/1.10/checksums.txt`,
		`<a href="/generic/vendor-dlls/1.10/vendor-dlls-1.10.zip">vendor-dlls-1.10.zip</a>`,
		`1.10 <span class="badge latest">latest</span>`,
		`1.12.dev3 <span class="badge dev">dev build</span>`,
		`1.11rc1 <span class="badge pre">pre-release</span>`,
		"2.0 KiB", "by alice", `data-copy="sha-0-0"`, "<li>alice</li>")
	// Newest first by PEP 440, not by text: 1.12.dev3, 1.11rc1, 1.10, 1.9, 0.9.
	last := -1
	for _, v := range []string{"1.12.dev3", "1.11rc1", "1.10", "1.9", "0.9"} {
		i := strings.Index(page.body, `id="v-`+v+`"`)
		if i < last {
			t.Errorf("version %s out of order", v)
		}
		last = i
	}
	// An anonymous visitor is offered no delete.
	mustNotContain(t, "the anonymous page", page.body, "Delete", "/delete")
	// bob owns the project of that name, not the generic package.
	b.login("bob", "bob-password")
	mustNotContain(t, "the page for bob", b.get("/packages/generic/vendor-dlls/").body, "/delete")
	if r := b.get("/packages/generic/vendor-dlls/1.9/delete"); r.code != http.StatusForbidden {
		t.Errorf("bob's confirmation page: %d", r.code)
	}
}

func TestGenericPageEscapes(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	en.generic("evil", "1.0", `a<b>&"x'.zip`, "alice")
	page := en.browser().get("/packages/generic/evil/")
	mustContain(t, "the page", page.body, `a&lt;b&gt;&amp;&#34;x&#39;.zip`, `/generic/evil/1.0/a%3Cb%3E&amp;%22x%27.zip`)
	mustNotContain(t, "the page", page.body, `a<b>`)
}

func TestGenericPrivate(t *testing.T) {
	en := genericEnv(t, auth.Config{AnonymousRead: false, MaxFailedLogins: 10, FailedLoginWindow: time.Minute})
	b := en.browser()
	if r := b.get("/packages/generic/vendor-dlls/"); r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/login?next=") {
		t.Errorf("anonymous in a private index: %d %s", r.code, r.hdr.Get("Location"))
	}
	b.login("bob", "bob-password")
	mustContain(t, "the private page", b.get("/packages/generic/vendor-dlls/").body, "curl -fLO -u USER:PASSWORD http://example.com/generic/vendor-dlls/latest/")
}

func (en *env) genericFiles(name, version string) []string {
	en.t.Helper()
	_, versions, err := en.cat.GenericVersions(context.Background(), name)
	if err != nil {
		en.t.Fatal(err)
	}
	var out []string
	for _, v := range versions {
		if v.Version == version {
			for _, f := range v.Files {
				out = append(out, f.Filename)
			}
		}
	}
	return out
}

func TestGenericDelete(t *testing.T) {
	en := genericEnv(t, auth.DefaultConfig())
	ctx := context.Background()

	// Without a session: the confirmation sends to the login, the POST
	// changes nothing.
	anon := en.browser()
	if r := anon.get("/packages/generic/vendor-dlls/1.10/delete"); r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/login") {
		t.Errorf("anonymous confirmation: %d", r.code)
	}
	if r := anon.do(http.MethodPost, "/packages/generic/vendor-dlls/1.10/delete", url.Values{}); r.code != http.StatusForbidden && r.code != http.StatusSeeOther {
		t.Errorf("anonymous delete: %d", r.code)
	}
	// bob (not an owner of the generic package): 403, nothing deleted.
	bob := en.browser()
	bob.login("bob", "bob-password")
	if r := bob.post("/projects/", "/packages/generic/vendor-dlls/1.10/delete", nil); r.code != http.StatusForbidden {
		t.Errorf("bob's delete: %d", r.code)
	}
	alice := en.browser()
	alice.login("alice", "alice-password")
	// Without the CSRF token: 403, nothing deleted.
	if r := alice.do(http.MethodPost, "/packages/generic/vendor-dlls/1.10/delete", url.Values{"file": {"checksums.txt"}}); r.code != http.StatusForbidden {
		t.Errorf("a delete without the CSRF token: %d", r.code)
	}
	if got := en.genericFiles("vendor-dlls", "1.10"); len(got) != 2 {
		t.Fatalf("refused deletes deleted: %v", got)
	}

	// The owner: a file's confirmation names it and changes nothing.
	page := alice.get("/packages/generic/vendor-dlls/")
	mustContain(t, "the owner's page", page.body, `href="/packages/generic/vendor-dlls/1.10/delete?file=checksums.txt">Delete…</a>`,
		`href="/packages/generic/vendor-dlls/1.10/delete">Delete version…</a>`)
	confirm := alice.get("/packages/generic/Vendor_DLLs/1.10/delete?file=checksums.txt")
	if confirm.code != http.StatusMovedPermanently || confirm.hdr.Get("Location") != "/packages/generic/vendor-dlls/1.10/delete?file=checksums.txt" {
		t.Errorf("a confirmation under another spelling: %d %s", confirm.code, confirm.hdr.Get("Location"))
	}
	confirm = alice.get("/packages/generic/vendor-dlls/1.10/delete?file=checksums.txt")
	mustContain(t, "the file's confirmation", confirm.body, "Delete a file of Vendor_DLLs 1.10?", "checksums.txt (2.0 KiB",
		`name="file" value="checksums.txt"`, `class="danger">Delete</button>`)
	for _, p := range []string{"/packages/generic/vendor-dlls/1.10/delete?file=nope.zip", "/packages/generic/vendor-dlls/7.0/delete", "/packages/generic/vendor-dlls/not-a-version/delete"} {
		if r := alice.get(p); r.code != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	if got := en.genericFiles("vendor-dlls", "1.10"); len(got) != 2 {
		t.Fatalf("a confirmation page deleted: %v", got)
	}
	r := alice.post("/packages/generic/vendor-dlls/", "/packages/generic/vendor-dlls/1.10/delete", url.Values{"file": {"checksums.txt"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/packages/generic/vendor-dlls/?done=generic-deleted" {
		t.Fatalf("delete a file: %d %s", r.code, r.hdr.Get("Location"))
	}
	mustContain(t, "the page after a delete", alice.get(r.hdr.Get("Location")).body, `<p class="notice" role="status">Deleted.</p>`)
	if got := en.genericFiles("vendor-dlls", "1.10"); len(got) != 1 || got[0] != "vendor-dlls-1.10.zip" {
		t.Fatalf("after the file's delete: %v", got)
	}
	if r := alice.post("/packages/generic/vendor-dlls/", "/packages/generic/vendor-dlls/1.10/delete", url.Values{"file": {"checksums.txt"}}); r.code != http.StatusNotFound {
		t.Errorf("the same delete again: %d", r.code)
	}
	// A version: its confirmation lists its files; an admin deletes it.
	root := en.browser()
	root.login("root", "root-password")
	mustContain(t, "the version's confirmation", root.get("/packages/generic/vendor-dlls/1.9/delete").body, "Delete Vendor_DLLs 1.9?", "vendor-dlls-1.9.zip (2.0 KiB")
	if r := root.post("/packages/generic/vendor-dlls/", "/packages/generic/vendor-dlls/1.9/delete", nil); r.code != http.StatusSeeOther {
		t.Fatalf("the admin's delete of a version: %d %s", r.code, r.body)
	}
	page = root.get("/packages/generic/vendor-dlls/")
	mustContain(t, "the admin's page", page.body, `href="/manage/audit?project=vendor-dlls&amp;action=generic-delete"`)
	audit := root.get("/manage/audit?project=vendor-dlls&action=generic-delete")
	mustContain(t, "the audit of the deletes", audit.body, "checksums.txt")
	mustNotContain(t, "the page after the deletes", page.body, `id="v-1.9"`, "checksums.txt")
	mustContain(t, "the page after the deletes", page.body, "4 versions, 4 files")
	ev, err := en.cat.AuditEvents(ctx, index.AuditQuery{Action: index.AuditGenericDelete})
	if err != nil || len(ev) != 2 {
		t.Fatalf("audit: %v %v", ev, err)
	}
	actors := ev[0].Actor + " " + ev[1].Actor
	if !strings.Contains(actors, "alice") || !strings.Contains(actors, "root") {
		t.Errorf("audit actors: %s", actors)
	}
	// The project of the same name is untouched.
	if r := root.get("/project/vendor-dlls/3.0/"); r.code != http.StatusOK {
		t.Errorf("the project's release: %d", r.code)
	}
}
