package main_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRequestGuard is issue 17, item 6, against the real server: a
// text/plain POST (which a page on any site can make a browser send, with
// the Basic credentials it remembers, and no preflight) that would create
// an admin user is refused with 415 and creates nothing; a cross-origin
// POST is refused with 403, on the API and on the upload API alike; the
// same request declared JSON from no browser (curl) or from the server's
// own origin goes through. A dev-number request whose JSON body is not
// declared gets a message that says so (issue 20, item 4).
func TestRequestGuard(t *testing.T) {
	m := startServer(t, nil)
	cli(t, m, "root-password-1\n", "user", "add", "root", "--admin", "--password-stdin")
	post := func(path, ctype, origin, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, m.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		code, out, _ := do(t, req, basic("root", "root-password-1"))
		return code, out
	}
	users := func() string { return cli(t, m, "", "user", "list") }
	eve := `{"name": "eve", "password": "eve-password-1", "admin": true}`

	code, body := post("/api/v1/users", "text/plain", "", eve)
	if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "Content-Type must be application/json") {
		t.Errorf("text/plain POST: %d %s", code, body)
	}
	code, body = post("/api/v1/users", "application/json", "https://evil.example", eve)
	if code != http.StatusForbidden || !strings.Contains(body, "Cross-origin request refused") {
		t.Errorf("cross-origin POST: %d %s", code, body)
	}
	if strings.Contains(users(), "eve") {
		t.Fatal("a refused request created eve")
	}
	req := uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if code, body, _ := do(t, req, basic("root", "root-password-1")); code != http.StatusForbidden || !strings.Contains(body, "Cross-origin") {
		t.Errorf("cross-site upload: %d %s", code, body)
	}
	if resp, err := http.Get(m.URL() + "/simple/acme-util/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the refused upload is served: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	code, body = post("/api/v1/projects/acme-util/dev-versions", "", "", `{"base": "1.0", "commit": "0123456789abcdef0123456789abcdef01234567"}`)
	if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "must be declared") || strings.Contains(body, "commit") {
		t.Errorf("dev-versions without Content-Type: %d %s", code, body)
	}

	if code, body = post("/api/v1/users", "application/json", "", eve); code != http.StatusCreated {
		t.Errorf("curl's POST: %d %s", code, body)
	}
	own := `{"name": "fay", "password": "fay-password-1"}`
	if code, body = post("/api/v1/users", "application/json; charset=utf-8", m.URL(), own); code != http.StatusCreated {
		t.Errorf("a POST from the server's own origin: %d %s", code, body)
	}
	if u := users(); !strings.Contains(u, "eve") || !strings.Contains(u, "fay") {
		t.Errorf("users:\n%s", u)
	}
}
