package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/dist"
)

func TestLoginLogout(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	b := en.browser()
	page := b.get("/login?next=/project/x/")
	mustContain(t, "the login form", page.body, `<label for="username">User name</label>`, `<label for="password">Password</label>`,
		`<button type="submit">Log in</button>`, `name="next" value="/project/x/"`)
	if c := b.cookies[loginCookie]; c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login cookie %+v", c)
	}

	r := b.login("alice", "wrong-password")
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "Wrong user name or password") {
		t.Fatalf("a wrong password: %d %s", r.code, r.body)
	}
	if b.cookies[sessionCookie] != nil {
		t.Fatal("a failed login set a session cookie")
	}
	r = b.login("alice", "alice-password")
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/projects/" {
		t.Fatalf("login: %d %v %s", r.code, r.hdr, r.body)
	}
	c := b.cookies[sessionCookie]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.MaxAge != int((12*time.Hour).Seconds()) || c.Path != "/" {
		t.Fatalf("session cookie %+v", c)
	}
	r = b.get("/projects/")
	mustContain(t, "a logged-in page", r.body, "Logged in as <b>alice</b>", `<button type="submit">Log out</button>`)
	mustNotContain(t, "a logged-in page", r.body, ">Log in<", "/manage/users")
	if r.hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("a page with a CSRF token may be stored: %v", r.hdr)
	}
	// The login form of a logged-in browser moves on.
	if r := b.get("/login?next=/project/x/"); r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/project/x/" {
		t.Errorf("GET /login logged in: %d %v", r.code, r.hdr)
	}

	secret := c.Value
	if _, err := en.cat.Session(context.Background(), secret); err != nil {
		t.Fatalf("the session is not in the catalog: %v", err)
	}
	// Logging out needs the token too.
	if r := b.do(http.MethodPost, "/logout", url.Values{}); r.code != http.StatusForbidden {
		t.Errorf("logout without a token: %d", r.code)
	}
	r = b.post("/projects/", "/logout", nil)
	if r.code != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", r.code, r.body)
	}
	if b.cookies[sessionCookie] != nil {
		t.Error("the cookie survived the logout")
	}
	if _, err := en.cat.Session(context.Background(), secret); err == nil {
		t.Error("the session survived the logout in the catalog")
	}
	// The old cookie, replayed, is nobody.
	b.cookies[sessionCookie] = c
	mustContain(t, "a replayed cookie", b.get("/projects/").body, ">Log in<")
	if b.cookies[sessionCookie] != nil {
		t.Error("a dead session's cookie was not cleared")
	}
}

func TestLoginRefusals(t *testing.T) {
	en := newEnv(t, auth.Config{AnonymousRead: true, MaxFailedLogins: 3, FailedLoginWindow: time.Minute}, nil)
	en.user("alice", false)
	b := en.browser()

	// The form's token must match its cookie.
	if r := b.do(http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}); r.code != http.StatusForbidden {
		t.Errorf("a login without the form's token: %d", r.code)
	}
	page := b.get("/login")
	b.cookies[loginCookie].Value = "other"
	if r := b.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"alice"}, "password": {"alice-password"}}); r.code != http.StatusForbidden {
		t.Errorf("a login whose token is not its cookie's: %d", r.code)
	}
	if r := b.login("", ""); r.code != http.StatusBadRequest {
		t.Errorf("an empty form: %d", r.code)
	}
	// An API token is no password here.
	_, tok, err := en.cat.CreateToken(context.Background(), index.NewToken{User: "alice", Scope: index.ScopeUpload}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r := b.login("alice", tok); r.code != http.StatusForbidden || !strings.Contains(r.body, "API tokens") || b.cookies[sessionCookie] != nil {
		t.Errorf("a login with a token: %d %s", r.code, r.body)
	}
	// Failures count against the same limit as Basic credentials: two by
	// the form and one by Basic, then the address is blocked for both.
	b.login("alice", "wrong-1")
	b.login("alice", "wrong-2")
	req := en.browser()
	req.header.Set("Authorization", "Basic "+basicValue("alice", "wrong-3"))
	req.get("/projects/")
	r := b.login("alice", "alice-password")
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") == "" || b.cookies[sessionCookie] != nil {
		t.Errorf("a login over the limit: %d %v", r.code, r.hdr)
	}
}

func TestSessionEnds(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	en.user("bob", false)
	ctx := context.Background()

	a := en.browser()
	a.login("alice", "alice-password")
	if err := en.cat.SetPassword(ctx, "alice", "another-password", "test"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "after a password change", a.get("/projects/").body, ">Log in<")

	b := en.browser()
	b.login("bob", "bob-password")
	mustContain(t, "bob logged in", b.get("/projects/").body, "Logged in as <b>bob</b>")
	if err := en.cat.RemoveUser(ctx, "bob", "test"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "after bob's removal", b.get("/projects/").body, ">Log in<")

	// Sessions expire.
	c := en.browser()
	c.login("alice", "another-password")
	secret := c.cookies[sessionCookie].Value
	en.cat.SetClock(func() time.Time { return time.Now().Add(13 * time.Hour) })
	defer en.cat.SetClock(time.Now)
	if _, err := en.cat.Session(ctx, secret); err == nil {
		t.Error("a session outlived its lifetime")
	}
	mustContain(t, "an expired session", c.get("/projects/").body, ">Log in<")
}

// TestSecureCookie: the session cookie is Secure behind a TLS proxy that
// says so (when its headers are trusted) or with an https base URL.
func TestSecureCookie(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	en.ui.trust = true
	b := en.browser()
	b.header.Set("X-Forwarded-Proto", "https")
	b.login("alice", "alice-password")
	if c := b.cookies[sessionCookie]; c == nil || !c.Secure {
		t.Errorf("behind a TLS proxy: %+v", c)
	}
	en.ui.trust = false
	b = en.browser()
	b.header.Set("X-Forwarded-Proto", "https")
	b.login("alice", "alice-password")
	if c := b.cookies[sessionCookie]; c == nil || c.Secure {
		t.Errorf("an untrusted X-Forwarded-Proto made the cookie Secure: %+v", c)
	}
	// The install commands name the server as the request reached it:
	// https only when the proxy saying so is trusted.
	en.release("acme", "1.0", dist.Metadata{}, "alice")
	mustContain(t, "an untrusted proxy's page", b.get("/project/acme/").body, "--index-url http://example.com/simple/ --trusted-host example.com acme")
	en.ui.trust = true
	mustContain(t, "a trusted proxy's page", b.get("/project/acme/").body, "--index-url https://example.com/simple/ acme")
	en.ui.trust = false
	en.ui.base = "https://pypi.example.com"
	b = en.browser()
	b.login("alice", "alice-password")
	if c := b.cookies[sessionCookie]; c == nil || !c.Secure {
		t.Errorf("with an https base URL: %+v", c)
	}
}

// TestLoginNext: after logging in, the browser goes back where it was, but
// never to another site.
func TestLoginNext(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	for next, want := range map[string]string{
		"/project/acme/":        "/project/acme/",
		"https://evil.example/": "/projects/",
		"//evil.example/":       "/projects/",
		"/\\evil.example":       "/projects/",
		"":                      "/projects/",
	} {
		b := en.browser()
		page := b.get("/login")
		r := b.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"alice"}, "password": {"alice-password"}, "next": {next}})
		if r.code != http.StatusSeeOther || r.hdr.Get("Location") != want {
			t.Errorf("next %q: %d %q, want %q", next, r.code, r.hdr.Get("Location"), want)
		}
	}
}

// TestPrivateIndex: a private index shows visitors only the login form;
// after logging in, the pages.
func TestPrivateIndex(t *testing.T) {
	en := newEnv(t, auth.Config{AnonymousRead: false, MaxFailedLogins: 10, FailedLoginWindow: time.Minute}, nil)
	en.user("alice", false)
	en.release("secret-pkg", "1.0", dist.Metadata{Summary: "Top secret"}, "alice")
	b := en.browser()
	for _, path := range []string{"/projects/", "/project/secret-pkg/", "/project/secret-pkg/1.0/", "/projects/?q=secret"} {
		r := b.get(path)
		if r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/login?next=") {
			t.Errorf("%s: %d %v", path, r.code, r.hdr)
		}
		mustNotContain(t, path, r.body, "secret-pkg", "Top secret")
	}
	r := b.get("/login?next=/projects/")
	mustContain(t, "the private login page", r.body, "This index is private", `<label for="username">`)
	mustNotContain(t, "the private login page", r.body, `href="/projects/"`, "/simple/")
	b.login("alice", "alice-password")
	mustContain(t, "logged in", b.get("/projects/").body, "secret-pkg", "Top secret")
}

func basicValue(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
