package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
)

// cli runs a pyindex subcommand in-process against the server's data folder
// and returns its standard output.
func cli(t testing.TB, m *pyindex.Main, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := pyindex.NewRootCmd(strings.NewReader(stdin), &out, &errOut, func(string) (string, bool) { return "", false })
	if m != nil {
		args = append(args, "--data", m.Config.Data)
	}
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("pyindex %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// createToken runs "pyindex token create" and returns the secret from the
// last line of its output.
func createToken(t testing.TB, m *pyindex.Main, args ...string) string {
	t.Helper()
	out := strings.TrimSpace(cli(t, m, "", append([]string{"token", "create"}, args...)...))
	lines := strings.Split(out, "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, index.TokenPrefix) {
		t.Fatalf("last line of token create is not a token: %q", out)
	}
	return tok
}

// uploadRequest builds a twine-like upload of a file from testdata/dists.
func uploadRequest(t testing.TB, url, file, name, version, filetype string) *http.Request {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dists", file))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, kv := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"name", name},
		{"version", version}, {"filetype", filetype}, {"pyversion", "py3"}, {"metadata_version", "2.1"},
		{"sha256_digest", hex.EncodeToString(sum[:])}} {
		w.WriteField(kv[0], kv[1])
	}
	fw, _ := w.CreateFormFile("content", file)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/legacy/", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}

type cred struct {
	name string
	set  func(*http.Request)
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func do(t testing.TB, req *http.Request, set func(*http.Request)) (int, string, http.Header) {
	t.Helper()
	if set != nil {
		set(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestAccessMatrix checks each kind of credential against each endpoint, in
// both read modes.
func TestAccessMatrix(t *testing.T) {
	for _, private := range []bool{false, true} {
		name := "anonymous-read"
		if private {
			name = "private"
		}
		t.Run(name, func(t *testing.T) {
			m := startServer(t, func(c *pyindex.Config) {
				c.Auth.AnonymousRead = !private
				c.Auth.MaxFailedLogins = 0 // this test fails logins on purpose
			})
			cli(t, m, "owner-password\n", "user", "add", "owner", "--password-stdin")
			cli(t, m, "other-password\n", "user", "add", "other", "--password-stdin")
			cli(t, m, "admin-password\n", "user", "add", "boss", "--admin", "--password-stdin")
			readTok := createToken(t, m, "owner", "--scope", "read")
			upTok := createToken(t, m, "owner")
			adminTok := createToken(t, m, "boss", "--scope", "admin")
			utilOnly := createToken(t, m, "other", "--project", "acme-util")
			readCoreOnly := createToken(t, m, "other", "--scope", "read", "--project", "acme-core")
			expired := createToken(t, m, "owner", "--expires", "1s")
			revoked := createToken(t, m, "owner")
			toks := cli(t, m, "", "token", "list", "--json")
			id := strings.Count(toks, `"id"`) // the revoked token is the newest
			cli(t, m, "", "token", "revoke", strconv.Itoa(id))
			time.Sleep(1100 * time.Millisecond) // let "expired" expire

			// The owner creates acme-util by uploading its first file.
			if code, body, _ := do(t, uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel"), basic("__token__", upTok)); code != 200 {
				t.Fatalf("first upload: %d %s", code, body)
			}
			file := fileURL(t, m, "acme-util", upTok)

			creds := []cred{
				{"none", nil},
				{"bad-password", basic("owner", "wrong-password")},
				{"bad-token", bearer(index.TokenPrefix + strings.Repeat("a", 52))},
				{"expired", basic("__token__", expired)},
				{"revoked", basic("__token__", revoked)},
				{"read-token", basic("__token__", readTok)},
				{"upload-token", basic("__token__", upTok)},
				{"upload-token-bearer", bearer(upTok)},
				{"owner-password", basic("owner", "owner-password")},
				{"other-password", basic("other", "other-password")},
				{"restricted-util", basic("__token__", utilOnly)},
				{"restricted-read-core", basic("__token__", readCoreOnly)},
				{"admin-token", bearer(adminTok)},
				{"admin-password", basic("boss", "admin-password")},
			}
			// want[cred] = {simple root, project page, file, JSON API, upload to acme-util}
			readOK := map[bool]int{false: 200, true: 200}
			want := map[string][5]int{
				"none":                 {pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), 401},
				"bad-password":         {pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), 401},
				"bad-token":            {pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), 401},
				"expired":              {pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), 401},
				"revoked":              {pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), pick(private, 401, 200), 401},
				"read-token":           {200, 200, 200, 200, 403},
				"upload-token":         {200, 200, 200, 200, 200},
				"upload-token-bearer":  {200, 200, 200, 200, 200},
				"owner-password":       {200, 200, 200, 200, 200},
				"other-password":       {200, 200, 200, 200, 403},
				"restricted-util":      {200, 200, 200, 200, 200},
				"restricted-read-core": {200, pick(private, 403, 200), pick(private, 403, 200), pick(private, 403, 200), 403},
				"admin-token":          {200, 200, 200, 200, 200},
				"admin-password":       {readOK[private], 200, 200, 200, 200},
			}
			versions := map[string]string{}
			n := 0
			for _, c := range creds {
				t.Run(c.name, func(t *testing.T) {
					w := want[c.name]
					get := func(u string) int {
						req, _ := http.NewRequest(http.MethodGet, u, nil)
						code, _, hdr := do(t, req, c.set)
						if code == 401 && hdr.Get("WWW-Authenticate") == "" {
							t.Errorf("%s: 401 without WWW-Authenticate", u)
						}
						return code
					}
					got := [5]int{
						get(m.URL() + "/simple/"),
						get(m.URL() + "/simple/acme-util/"),
						get(file),
						get(m.URL() + "/pypi/acme-util/json"),
					}
					// Each successful upload needs a new file: alternate
					// between the remaining acme-util dists.
					dists := [][3]string{
						{"acme_util-0.2-py3-none-any.whl", "0.2", "bdist_wheel"},
						{"acme_util-0.2.tar.gz", "0.2", "sdist"},
						{"acme_util-1.0rc1-py3-none-any.whl", "1.0rc1", "bdist_wheel"},
						{"acme_util-1.0rc1.tar.gz", "1.0rc1", "sdist"},
						{"acme_util-0.1.tar.gz", "0.1", "sdist"},
					}
					d := dists[n%len(dists)]
					code, body, hdr := do(t, uploadRequest(t, m.URL(), d[0], "acme-util", d[1], d[2]), c.set)
					if code == 200 {
						versions[d[0]] = c.name
						n++
					} else if code == 401 && !strings.Contains(hdr.Get("WWW-Authenticate"), "Basic") {
						t.Errorf("upload 401 without a Basic challenge")
					}
					got[4] = code
					if got != w {
						t.Errorf("got %v, want %v (simple root, project, file, JSON API, upload); last body %q", got, w, body)
					}
				})
			}
		})
	}
}

func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

// fileURL returns the absolute URL of the first file on a project page.
func fileURL(t testing.TB, m *pyindex.Main, project, tok string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.URL()+"/simple/"+project+"/", nil)
	req.SetBasicAuth("__token__", tok)
	code, body, _ := do(t, req, nil)
	if code != 200 {
		t.Fatalf("project page: %d", code)
	}
	i := strings.Index(body, `href="`)
	if i < 0 {
		t.Fatalf("no link in %s", body)
	}
	href := body[i+6:]
	href = href[:strings.IndexAny(href, `#"`)]
	return m.URL() + href
}

// TestPrivateIndexWithRealClients: twine uploads with __token__, pip reads
// a private index with the token in the URL, and fails without it.
func TestPrivateIndexWithRealClients(t *testing.T) {
	dist := buildDists(t)
	m := startServer(t, func(c *pyindex.Config) { c.Auth.AnonymousRead = false })
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	upTok := createToken(t, m, "ci", "--description", "CI uploads")
	readTok := createToken(t, m, "ci", "--scope", "read", "--expires", "90d")

	files, _ := filepath.Glob(filepath.Join(dist, "*"))
	twineUpload(t, m, "__token__", upTok, files...)

	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		need(t, python)
	}
	u := strings.Replace(m.URL(), "http://", "http://__token__:"+readTok+"@", 1) + "/simple/"
	target := t.TempDir()
	run(t, "", nil, python, "-m", "pip", "install", "--no-cache-dir", "--index-url", u, "--target", target, "e2e-app")
	if got := installed(t, target); strings.Join(got, " ") != "e2e-app==1.0 e2e-lib==1.0" {
		t.Errorf("installed %v", got)
	}
	// Without credentials pip gets 401 and, with no input allowed, fails.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := execCommand(ctx, python, "-m", "pip", "install", "--no-cache-dir", "--index-url", m.URL()+"/simple/", "--target", t.TempDir(), "e2e-app")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("pip installed from a private index without credentials:\n%s", out)
	}
	// The token's last use is recorded; the list never shows secrets.
	list := cli(t, m, "", "token", "list", "ci")
	if strings.Contains(list, readTok) || strings.Contains(list, upTok) {
		t.Errorf("token list shows a secret:\n%s", list)
	}
}

// TestFailedLoginLimit: an address that keeps failing gets 429, even with
// the right password, until the window passes; anonymous reads go on.
func TestFailedLoginLimit(t *testing.T) {
	m := startServer(t, func(c *pyindex.Config) {
		c.Auth.MaxFailedLogins = 3
		c.Auth.FailedLoginWindow = time.Minute
	})
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	get := func(set func(*http.Request)) (int, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/simple/", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.7") // must not be trusted by default
		code, _, hdr := do(t, req, set)
		return code, hdr
	}
	for i := 0; i < 3; i++ {
		req := uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel")
		if code, _, _ := do(t, req, basic("ci", "wrong-password")); code != 401 {
			t.Fatalf("failed login %d: %d", i, code)
		}
	}
	code, hdr := get(basic("ci", "ci-password-1"))
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("after 3 failures: %d (Retry-After %q), want 429", code, hdr.Get("Retry-After"))
	}
	if code, _ := get(nil); code != 200 {
		t.Errorf("anonymous read while limited: %d", code)
	}
}
