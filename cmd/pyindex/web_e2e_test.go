package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index/indextest"
)

// The web interface's end-to-end test drives a real headless Chromium
// (Debian's chromium, through chromedp) against the real server: browsing
// from the home page, searching, a rendered README, the release history,
// logging in through the form (with the keyboard), yanking with a reason
// (and real pip skipping the release), a POST without the CSRF token,
// pruning with a preview, logging out, a hostile package, a private
// index, a generic package's page after curl uploads, and owners added and
// removed through the project page. Screenshots of the main pages at desktop and phone width go to
// $PYINDEX_SCREENSHOTS when it is set, else to the test's temporary
// folder (removed after the test).

// browser starts a headless Chromium with a fresh profile and returns a
// tab's context. Outside CI a missing chromium skips the test; in CI it
// fails it.
func browser(t *testing.T) context.Context {
	t.Helper()
	chromium := need(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab runs browser actions, failing the test on an error.
func tab(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// screenshotDir is where the screenshots go.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("PYINDEX_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// screenshots writes full-page PNGs of the current page at desktop and
// phone (390 px) width, and checks that the phone width needs no sideways
// scrolling.
func screenshots(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	for _, size := range []struct {
		suffix        string
		width, height int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		tab(t, ctx, "viewport", chromedp.EmulateViewport(size.width, size.height))
		if size.width == 390 {
			if w := evalJS[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
				t.Errorf("%s scrolls sideways by %v px at 390 px", name, w)
			}
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tab(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
}

// writeWheels writes minimal wheels whose METADATA carries extra and
// returns their paths.
func writeWheels(t *testing.T, dir, name, extra string, versions ...string) []string {
	t.Helper()
	var out []string
	for _, v := range versions {
		fn, data := indextest.Wheel(t, name, v, extra)
		p := filepath.Join(dir, fn)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

const rocketMetadata = "Summary: Rocket engines for testing\nRequires-Dist: e2e-fuel>=1.0\nDescription-Content-Type: text/markdown\n\n" +
	"# Rocket\n\nThe **fastest** rocket in the index.\n\n- stage one\n- stage two\n"

func TestWebInterface(t *testing.T) {
	ctx := browser(t)
	m := startServer(t, nil)
	addUser(t, m, "alice", "alice-password-1", false)
	addUser(t, m, "root", "root-password-1", true)
	dist := t.TempDir()
	files := writeWheels(t, dist, "e2e_rocket", rocketMetadata, "1.0", "1.2", "1.10", "2.0rc1", "2.1.dev1", "2.1.dev2", "2.1.dev3")
	files = append(files, writeWheels(t, dist, "e2e_fuel", "Summary: Fuel for rockets\n", "1.0")...)
	twineUpload(t, m, "alice", "alice-password-1", files...)
	shots := screenshotDir(t)
	t.Logf("screenshots in %s", shots)
	base := m.URL()

	// Browse from the home page.
	tab(t, ctx, "home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`a[href$="/projects/"]`)))
	screenshots(t, ctx, shots, "home")
	tab(t, ctx, "to the list", chromedp.Click(chromedp.CSS(`a[href$="/projects/"]`)), chromedp.WaitVisible(chromedp.CSS(`ul.projects`)))
	list := evalJS[string](t, ctx, `document.querySelector("ul.projects").innerText`)
	if !strings.Contains(list, "e2e-rocket") || !strings.Contains(list, "e2e-fuel") {
		t.Fatalf("the list:\n%s", list)
	}
	screenshots(t, ctx, shots, "projects")

	// Search by a word of a summary.
	tab(t, ctx, "search", chromedp.SendKeys(chromedp.CSS(`#q`), "engines"), chromedp.Submit(chromedp.CSS(`#q`)),
		chromedp.WaitVisible(chromedp.CSS(`#q[value="engines"]`)))
	found := evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll("ul.projects a.name")).map(a => a.textContent)`)
	if !slices.Equal(found, []string{"e2e-rocket"}) {
		t.Fatalf("search for engines found %v", found)
	}

	// The project page: the README rendered, the release history in PEP
	// 440 order, the dependency linked.
	tab(t, ctx, "project", chromedp.Click(chromedp.CSS(`a.name[href="/project/e2e-rocket/"]`)), chromedp.WaitVisible(chromedp.CSS(`.readme`)))
	if s := evalJS[string](t, ctx, `document.querySelector(".readme h1").textContent + "|" + document.querySelector(".readme strong").textContent`); s != "Rocket|fastest" {
		t.Errorf("the README: %q", s)
	}
	history := evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll("ol.history a.version")).map(a => a.textContent)`)
	if want := []string{"2.1.dev3", "2.1.dev2", "2.1.dev1", "2.0rc1", "1.10", "1.2", "1.0"}; !slices.Equal(history, want) {
		t.Errorf("release history %v, want %v", history, want)
	}
	if h1 := evalJS[string](t, ctx, `document.querySelector("h1").textContent`); !strings.Contains(h1, "1.10") {
		t.Errorf("the latest release: %q", h1)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('a[href="/project/e2e-fuel/"]').length`); n != 1 {
		t.Errorf("the dependency on e2e-fuel is not linked (%d)", n)
	}
	screenshots(t, ctx, shots, "project")

	// Log in through the form, with the keyboard: back on the same page.
	tab(t, ctx, "login form", chromedp.Click(chromedp.CSS(`header a[href^="/login"]`)), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	screenshots(t, ctx, shots, "login")
	tab(t, ctx, "log in", chromedp.Focus(chromedp.CSS(`#username`)), chromedp.KeyEvent("alice"), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("alice-password-1"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(`header .who b`)))
	if loc := location(t, ctx); loc != base+"/project/e2e-rocket/" {
		t.Errorf("after the login: %s", loc)
	}
	if who := evalJS[string](t, ctx, `document.querySelector("header .who b").textContent`); who != "alice" {
		t.Errorf("logged in as %q", who)
	}
	if evalJS[bool](t, ctx, `document.cookie.includes("pyindex_session")`) {
		t.Error("the session cookie is readable from script (not HttpOnly)")
	}

	// Yank 1.10 with a reason; pip then takes 1.2.
	tab(t, ctx, "release page", chromedp.Navigate(base+"/project/e2e-rocket/1.10/"), chromedp.WaitVisible(chromedp.CSS(`#reason`)),
		chromedp.SendKeys(chromedp.CSS(`#reason`), "broken build"),
		chromedp.Click(chromedp.CSS(`form[action$="/yank"] button`)), chromedp.WaitVisible(chromedp.CSS(`#yank-reason`)))
	if s := evalJS[string](t, ctx, `document.querySelector("#yank-reason").textContent`); !strings.Contains(s, "broken build") {
		t.Errorf("the yank notice: %q", s)
	}
	screenshots(t, ctx, shots, "release")
	dl := t.TempDir()
	run(t, "", nil, "/usr/bin/python3", "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--index-url", base+"/simple/", "-d", dl, "e2e-rocket")
	if got, _ := filepath.Glob(filepath.Join(dl, "*.whl")); len(got) != 1 || filepath.Base(got[0]) != "e2e_rocket-1.2-py3-none-any.whl" {
		t.Errorf("pip took %v after the yank, want 1.2", got)
	}

	// A POST without the CSRF token, from the page itself, is refused.
	// (The page's CSP lets no script fetch anything, so it is a form.)
	tab(t, ctx, "a form without the token", ignore(chromedp.Evaluate[any](`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/project/e2e-rocket/1.0/yank";
		const r = document.createElement("input");
		r.name = "reason"; r.value = "csrf";
		f.appendChild(r);
		document.body.appendChild(f);
		f.submit();
		return 0;
	})()`)), chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if s := evalJS[string](t, ctx, `document.querySelector("main").innerText`); !strings.Contains(s, "403") || !strings.Contains(s, "security token") {
		t.Errorf("a POST without the token:\n%s", s)
	}
	if body := page(t, base+"/simple/e2e-rocket/"); strings.Contains(body, "csrf") {
		t.Error("the refused POST yanked 1.0")
	}

	// Log out; log in as the admin and prune with a preview.
	tab(t, ctx, "log out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`header a[href^="/login"]`)))
	tab(t, ctx, "admin login", chromedp.Navigate(base+"/login?next=/manage/prune"), chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "root"), chromedp.SendKeys(chromedp.CSS(`#password`), "root-password-1"),
		chromedp.Click(chromedp.CSS(`form.login button`)), chromedp.WaitVisible(chromedp.CSS(`#keep_dev`)),
		chromedp.SendKeys(chromedp.CSS(`#project`), "e2e-rocket"), chromedp.SendKeys(chromedp.CSS(`#keep_dev`), "1"),
		chromedp.Submit(chromedp.CSS(`#keep_dev`)), chromedp.WaitVisible(chromedp.CSS(`#prune-list`)))
	preview := evalJS[string](t, ctx, `document.querySelector("#prune-files").innerText`)
	if !strings.Contains(preview, "e2e_rocket-2.1.dev1-py3-none-any.whl") || !strings.Contains(preview, "e2e_rocket-2.1.dev2-py3-none-any.whl") || strings.Contains(preview, "dev3") {
		t.Errorf("the preview:\n%s", preview)
	}
	if !strings.Contains(page(t, base+"/simple/e2e-rocket/"), "2.1.dev1") {
		t.Fatal("the preview deleted something")
	}
	screenshots(t, ctx, shots, "prune")
	tab(t, ctx, "prune", chromedp.Click(chromedp.CSS(`form[action="/manage/prune"][method="post"] button`)), chromedp.WaitVisible(chromedp.CSS(`#prune-result`)))
	if s := evalJS[string](t, ctx, `document.querySelector("#prune-result").textContent`); !strings.Contains(s, "Deleted 2 releases and 2 files") {
		t.Errorf("the prune: %q", s)
	}
	if page := page(t, base+"/simple/e2e-rocket/"); strings.Contains(page, "2.1.dev1") || strings.Contains(page, "2.1.dev2") || !strings.Contains(page, "2.1.dev3") {
		t.Errorf("after the prune:\n%s", page)
	}
	tab(t, ctx, "audit", chromedp.Navigate(base+"/manage/audit?project=e2e-rocket"), chromedp.WaitVisible(chromedp.CSS(`#audit`)))
	screenshots(t, ctx, shots, "audit")
	tab(t, ctx, "log out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`header a[href^="/login"]`)))
	if n := evalJS[int](t, ctx, `document.querySelectorAll('a[href="/manage/prune"]').length`); n != 0 {
		t.Error("the admin menu survived the logout")
	}
}

// TestWebGenericAndOwners: generic files uploaded with real curl -T get
// a page (versions in PEP 440 order, the sha256 of the bytes, a "latest"
// command that works as shown) and are deleted from it; an owner adds
// another owner through the project page's form, and a refused addition
// is explained there; the "Remove" button removes him again.
func TestWebGenericAndOwners(t *testing.T) {
	ctx := browser(t)
	curl := need(t, "curl")
	m := startServer(t, nil)
	addUser(t, m, "alice", "alice-password-1", false)
	addUser(t, m, "bob", "bob-password-1", false)
	base := m.URL()
	files := t.TempDir()
	sums := map[string]string{}
	for _, v := range []string{"1.9", "1.10", "2.0rc1"} {
		body := []byte("bundle " + v + "\n")
		p := filepath.Join(files, "bundle.zip")
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		sums[v] = hex.EncodeToString(sum[:])
		run(t, files, nil, curl, "-fsS", "-u", "alice:alice-password-1", "-T", p, base+"/generic/e2e-bundle/"+v+"/bundle.zip")
	}
	twineUpload(t, m, "alice", "alice-password-1", writeWheels(t, t.TempDir(), "e2e_shared", "Summary: Shared\n", "1.0")...)
	shots := screenshotDir(t)

	// The list marks the generic package and links to its page.
	tab(t, ctx, "the list", chromedp.Navigate(base+"/projects/?q=bundle"), chromedp.WaitVisible(chromedp.CSS(`ul.projects`)))
	if s := evalJS[string](t, ctx, `document.querySelector("ul.projects li").innerText`); !strings.Contains(s, "e2e-bundle") || !strings.Contains(s, "generic") || !strings.Contains(s, "1.10") {
		t.Errorf("the list entry: %q", s)
	}
	tab(t, ctx, "the generic page", chromedp.Click(chromedp.CSS(`a.name[href="/packages/generic/e2e-bundle/"]`)), chromedp.WaitVisible(chromedp.CSS(`#versions`)))
	versions := evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll("section.generic-version")).map(s => s.id)`)
	if want := []string{"v-2.0rc1", "v-1.10", "v-1.9"}; !slices.Equal(versions, want) {
		t.Errorf("versions %v, want %v", versions, want)
	}
	if s := evalJS[string](t, ctx, `document.querySelector("#v-1\\.10 code.hash").textContent`); s != sums["1.10"] {
		t.Errorf("the sha256 of 1.10: %q, want %s", s, sums["1.10"])
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll("a[href$='/delete']").length`); n != 0 {
		t.Errorf("an anonymous visitor is offered %d deletes", n)
	}
	screenshots(t, ctx, shots, "generic")
	// The "latest" command, run as shown, fetches 1.10 (the final release).
	latest := evalJS[string](t, ctx, `document.querySelector("#cmd-latest").textContent`)
	args := strings.Fields(latest)
	if len(args) < 3 || args[0] != "curl" || !strings.HasPrefix(args[len(args)-1], base+"/generic/e2e-bundle/latest/") {
		t.Fatalf("the latest command: %q", latest)
	}
	dl := t.TempDir()
	run(t, dl, nil, curl, append([]string{"-sS"}, args[1:]...)...)
	if got, err := os.ReadFile(filepath.Join(dl, "bundle.zip")); err != nil || string(got) != "bundle 1.10\n" {
		t.Errorf("latest fetched %q, %v", got, err)
	}

	// alice logs in and deletes 1.9's file after the confirmation.
	tab(t, ctx, "log in", chromedp.Navigate(base+"/login?next=/packages/generic/e2e-bundle/"), chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"), chromedp.SendKeys(chromedp.CSS(`#password`), "alice-password-1"),
		chromedp.Click(chromedp.CSS(`form.login button`)), chromedp.WaitVisible(chromedp.CSS(`#versions`)),
		chromedp.Click(chromedp.CSS(`a[href="/packages/generic/e2e-bundle/1.9/delete?file=bundle.zip"]`)), chromedp.WaitVisible(chromedp.CSS(`button.danger`)),
		chromedp.Click(chromedp.CSS(`button.danger`)), chromedp.WaitVisible(chromedp.CSS(`p.notice[role="status"]`)))
	if n := evalJS[int](t, ctx, `document.querySelectorAll("#v-1\\.9").length`); n != 0 {
		t.Error("1.9 is still listed after its only file was deleted")
	}
	if code := strings.TrimSpace(run(t, "", nil, curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", base+"/generic/e2e-bundle/1.9/bundle.zip")); code != "404" {
		t.Errorf("the deleted file answers %s", code)
	}

	// alice adds bob as an owner of e2e-shared through the form; an
	// unknown user is refused on the page.
	tab(t, ctx, "project page", chromedp.Navigate(base+"/project/e2e-shared/"), chromedp.WaitVisible(chromedp.CSS(`#owner-user`)),
		chromedp.SendKeys(chromedp.CSS(`#owner-user`), "nobody"), chromedp.Submit(chromedp.CSS(`#owner-user`)),
		chromedp.WaitVisible(chromedp.CSS(`#owner-error`)))
	if s := evalJS[string](t, ctx, `document.querySelector("#owner-error").textContent`); !strings.Contains(s, `no user named "nobody"`) {
		t.Errorf("the refusal: %q", s)
	}
	tab(t, ctx, "add bob", chromedp.Clear(chromedp.CSS(`#owner-user`)), chromedp.SendKeys(chromedp.CSS(`#owner-user`), "bob"),
		chromedp.Submit(chromedp.CSS(`#owner-user`)), chromedp.WaitVisible(chromedp.CSS(`#owners p.notice`)))
	owners := evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll("#owners li span")).map(s => s.textContent)`)
	if !slices.Equal(owners, []string{"alice", "bob"}) {
		t.Errorf("owners after the add: %v", owners)
	}
	screenshots(t, ctx, shots, "owners")
	// bob may now upload to e2e-shared.
	twineUpload(t, m, "bob", "bob-password-1", writeWheels(t, t.TempDir(), "e2e_shared", "Summary: Shared\n", "1.1")...)
	// alice removes him again with his "Remove" button.
	tab(t, ctx, "remove bob", chromedp.Navigate(base+"/project/e2e-shared/"), chromedp.WaitVisible(chromedp.CSS(`#owner-user`)),
		chromedp.Click(chromedp.CSS(`#owners form[action$="/owners/remove"]:has(input[value="bob"]) button`)),
		chromedp.WaitVisible(chromedp.CSS(`#owners p.notice`)))
	owners = evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll("#owners li span")).map(s => s.textContent)`)
	if !slices.Equal(owners, []string{"alice"}) {
		t.Errorf("owners after the removal: %v", owners)
	}
}

// TestWebHostilePackage: a package whose metadata carries scripts, event
// handlers, javascript: links and raw HTML runs nothing and injects no
// element, checked in the browser.
func TestWebHostilePackage(t *testing.T) {
	ctx := browser(t)
	m := startServer(t, nil)
	addUser(t, m, "mallory", "mallory-password-1", false)
	hostile := "Summary: <script>window.__pwned=1</script><b id=\"injected1\">bold</b>\n" +
		"Author: <img src=x onerror=\"window.__pwned=2\" id=\"injected2\">\n" +
		"Project-URL: Evil, javascript:window.__pwned=3\n" +
		"Classifier: <svg onload=\"window.__pwned=4\"></svg>\n" +
		"Description-Content-Type: text/markdown\n\n" +
		"# Evil\n\n<script>window.__pwned=5</script>\n\n<img src=x onerror=\"window.__pwned=6\" id=\"injected3\">\n\n" +
		"[click](javascript:window.__pwned=7)\n\n<a id=\"injected4\" href=\"javascript:window.__pwned=8\">x</a>\n\n" +
		"<iframe id=\"injected5\" src=\"about:blank\"></iframe>\n\n<div onclick=\"window.__pwned=9\" id=\"clickme\">click me</div>\n\n" +
		"<form id=\"injected6\" action=\"https://evil.example/\"><input name=\"q\"></form>\n\n<style>body { display: none }</style>\n\n" +
		// An https image is allowed (badges), its handler is not; the
		// address is local and refuses: no test reaches the internet.
		"<img class=\"badge-img\" src=\"https://127.0.0.1:1/badge.svg\" onerror=\"window.__pwned=10\" onload=\"window.__pwned=11\">\n"
	files := writeWheels(t, t.TempDir(), "evil_pkg", hostile, "1.0")
	twineUpload(t, m, "mallory", "mallory-password-1", files...)
	for _, path := range []string{"/project/evil-pkg/", "/project/evil-pkg/1.0/", "/projects/", "/projects/?q=pwned"} {
		tab(t, ctx, path, chromedp.Navigate(m.URL()+path), chromedp.WaitVisible(chromedp.CSS(`main`)))
		tab(t, ctx, "clicks", ignore(chromedp.Evaluate[any](`document.querySelectorAll("#clickme, main a").forEach(e => { if (!e.href || !e.href.startsWith("http")) e.click() }); 0`)))
		time.Sleep(200 * time.Millisecond)
		checks := evalJS[map[string]any](t, ctx, `({
			pwned: window.__pwned === undefined ? 0 : window.__pwned,
			scripts: document.querySelectorAll("script").length,
			injected: document.querySelectorAll("script:not([src]), iframe, svg, object, embed, main form[action^=http], main style, [id^=injected]").length,
			handlers: Array.from(document.querySelectorAll("*")).filter(e => Array.from(e.attributes).some(a => a.name.startsWith("on"))).length,
			jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
			hidden: getComputedStyle(document.body).display === "none",
			badges: document.querySelectorAll('main img[src="https://127.0.0.1:1/badge.svg"]').length,
			referrers: document.querySelectorAll('main img:not([referrerpolicy="no-referrer"])').length,
		})`)
		if checks["pwned"] != float64(0) || checks["scripts"] != float64(1) || checks["injected"] != float64(0) ||
			checks["handlers"] != float64(0) || checks["jsLinks"] != float64(0) || checks["hidden"] != false {
			t.Errorf("%s: %v", path, checks)
		}
		if want := map[string]float64{"/project/evil-pkg/": 1}[path]; checks["badges"] != want || checks["referrers"] != float64(0) {
			t.Errorf("%s: %v https images, %v with a referrer; want %v and 0", path, checks["badges"], checks["referrers"], want)
		}
	}
	if s := evalJS[string](t, ctx, `document.body.innerText`); !strings.Contains(s, "evil-pkg") {
		t.Errorf("the search for a word of the hostile summary:\n%s", s)
	}
}

// TestWebPrivateIndex: on a private index the browser gets only the login
// form, then the pages once logged in.
func TestWebPrivateIndex(t *testing.T) {
	ctx := browser(t)
	m := startServer(t, func(c *pyindex.Config) { c.Auth.AnonymousRead = false })
	addUser(t, m, "alice", "alice-password-1", false)
	twineUpload(t, m, "alice", "alice-password-1", writeWheels(t, t.TempDir(), "hidden_pkg", "Summary: Not for everyone\n", "1.0")...)
	for _, path := range []string{"/projects/", "/project/hidden-pkg/", "/project/hidden-pkg/1.0/"} {
		tab(t, ctx, path, chromedp.Navigate(m.URL()+path), chromedp.WaitVisible(chromedp.CSS(`#username`)))
		if loc := location(t, ctx); !strings.Contains(loc, "/login?next=") {
			t.Errorf("%s went to %s", path, loc)
		}
		text := evalJS[string](t, ctx, `document.body.innerText`)
		links := evalJS[int](t, ctx, `document.querySelectorAll("main a, nav a").length`)
		forms := evalJS[int](t, ctx, `document.querySelectorAll("form").length`)
		if strings.Contains(text, "hidden-pkg") || strings.Contains(text, "Not for everyone") || links != 0 || forms != 1 || !strings.Contains(text, "private") {
			t.Errorf("%s shows more than the login form (%d links, %d forms):\n%s", path, links, forms, text)
		}
	}
	screenshots(t, ctx, screenshotDir(t), "login-private")
	tab(t, ctx, "log in", chromedp.SendKeys(chromedp.CSS(`#username`), "alice"), chromedp.SendKeys(chromedp.CSS(`#password`), "alice-password-1"),
		chromedp.Click(chromedp.CSS(`form.login button`)), chromedp.WaitVisible(chromedp.CSS(`header .who b`)))
	if s := evalJS[string](t, ctx, `document.body.innerText`); !strings.Contains(s, "Not for everyone") {
		t.Errorf("after the login:\n%s", s)
	}
	// The release page's links download with the session (no Basic
	// credentials in the browser): the file and its PEP 658 metadata, GET
	// and HEAD; without the cookie they are refused. The web pages' CSP
	// allows no fetch, so the fetches run on the simple page (same
	// origin), which the session opens too.
	tab(t, ctx, "release page", chromedp.Navigate(m.URL()+"/project/hidden-pkg/1.0/"), chromedp.WaitVisible(chromedp.CSS(`table.files`)))
	file := evalJS[string](t, ctx, `document.querySelector("table.files a[href*='/files/']").href`)
	meta := evalJS[string](t, ctx, `document.querySelector("table.files a[href$='.metadata']").href`)
	tab(t, ctx, "simple page", chromedp.Navigate(m.URL()+"/simple/hidden-pkg/"), chromedp.WaitVisible(chromedp.CSS(`a`)))
	got := evalJS[map[string]any](t, ctx, `(async () => {
		const file = `+strconv.Quote(file)+`, meta = `+strconv.Quote(meta)+`;
		const res = await fetch(file), md = await fetch(meta), head = await fetch(file, {method: "HEAD"});
		const anon = await fetch(file, {credentials: "omit", cache: "no-store"});
		return {file: res.status, size: (await res.arrayBuffer()).byteLength, meta: md.status,
			metaText: await md.text(), head: head.status, anon: anon.status,
			simple: document.querySelectorAll("a[href*='hidden_pkg-1.0']").length};
	})()`)
	if got["file"] != float64(200) || got["size"] == float64(0) || got["meta"] != float64(200) || got["head"] != float64(200) ||
		!strings.Contains(got["metaText"].(string), "Summary: Not for everyone") || got["anon"] != float64(401) || got["simple"] != float64(1) {
		t.Errorf("downloads with the session: %v", got)
	}
	tab(t, ctx, "project page", chromedp.Navigate(m.URL()+"/project/hidden-pkg/"), chromedp.WaitVisible(chromedp.CSS(`header .who b`)))
	// Logged out, the cookie authorizes nothing.
	tab(t, ctx, "log out", chromedp.Click(chromedp.CSS(`header form[action$='/logout'] button`)), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	// (headless Chromium fails a navigation answered 401 with a Basic
	// challenge, having no one to ask for a password)
	if err := chromedp.Do(ctx, chromedp.Navigate(m.URL()+"/simple/hidden-pkg/")); err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("the simple page after logging out: %v", err)
	}
}

// ignore makes an action whose value is not needed a step of tab.
func ignore[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// page returns the body of an anonymous GET.
func page(t *testing.T, url string) string {
	t.Helper()
	_, body := get(t, url, "", "")
	return body
}

// TestWebSwitch: the home page links to the project list, and
// [web] enabled = false leaves no web interface (the home page and the
// APIs stay).
func TestWebSwitch(t *testing.T) {
	on := startServer(t, nil)
	if code, body := get(t, on.URL()+"/", "", ""); code != 200 || !strings.Contains(body, `href="`+on.URL()+`/projects/"`) {
		t.Errorf("home page: %d\n%s", code, body)
	}
	if code, body := get(t, on.URL()+"/projects/", "", ""); code != 200 || !strings.Contains(body, `<label for="q">Search</label>`) {
		t.Errorf("/projects/: %d", code)
	}
	off := startServer(t, func(c *pyindex.Config) { c.Web.Enabled = false })
	for _, path := range []string{"/projects/", "/project/x/", "/login", "/manage/users"} {
		if code, _ := get(t, off.URL()+path, "", ""); code != 404 && code != 405 {
			t.Errorf("with the web interface off, %s: %d", path, code)
		}
	}
	if _, body := get(t, off.URL()+"/", "", ""); strings.Contains(body, "/projects/") || !strings.Contains(body, "/simple/") {
		t.Errorf("home page with the web interface off:\n%s", body)
	}
}
