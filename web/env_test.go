package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
)

func TestMain(m *testing.M) {
	index.PasswordCost = bcrypt.MinCost
	os.Exit(indextest.Main(m)) // on SQLite, then on PostgreSQL
}

// env is a web interface over a real catalog and store, behind the
// server's own guard, credentials middleware and error handler.
type env struct {
	t   testing.TB
	cat *index.Catalog
	ui  *UI
	e   *echo.Echo
}

func newEnv(t testing.TB, authCfg auth.Config, mutate func(*Config)) *env {
	t.Helper()
	cat := indextest.Catalog(t)
	store := indextest.Store(t)
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	as, err := auth.New(authCfg, auth.Deps{Catalog: cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := admin.New(admin.Deps{Catalog: cat, Store: store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	ui, err := New(cfg, Deps{Catalog: cat, Auth: as, Admin: svc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(log)
	e.Use(httpx.Guard(""))
	e.Use(as.Middleware())
	ui.Register(e.Group(""))
	return &env{t: t, cat: cat, ui: ui, e: e}
}

func publicEnv(t *testing.T) *env { return newEnv(t, auth.DefaultConfig(), nil) }

// release records a file (and so the release and project) with metadata
// md, uploaded by user (who becomes the owner of a new project).
func (en *env) release(project, version string, md dist.Metadata, user string) index.File {
	en.t.Helper()
	var uid int64
	if user != "" {
		u, err := en.cat.GetUser(context.Background(), user)
		if err != nil {
			en.t.Fatal(err)
		}
		uid = u.ID
	}
	fn := strings.ReplaceAll(project, "-", "_") + "-" + version + "-py3-none-any.whl"
	sum := sha256.Sum256([]byte(fn))
	hexSum := hex.EncodeToString(sum[:])
	md.Name, md.Version = project, version
	f, _, err := en.cat.AddFile(context.Background(), index.NewFile{Project: project, Version: version, Filename: fn,
		PackageType: "bdist_wheel", PythonVersion: "py3", Size: 1234, SHA256: hexSum, MD5: "d41d8cd98f00b204e9800998ecf8427e",
		Blake2b256: hexSum, BlobKey: "sha256/" + hexSum, UploadedBy: user, UploaderID: uid, Metadata: md, AnyProject: true})
	if err != nil {
		en.t.Fatal(err)
	}
	return f
}

func (en *env) user(name string, admin bool) {
	en.t.Helper()
	if _, err := en.cat.AddUser(context.Background(), name, name+"-password", admin, "test"); err != nil {
		en.t.Fatal(err)
	}
}

// browser is a client with a cookie jar that talks to the env in-process.
type browser struct {
	en      *env
	cookies map[string]*http.Cookie
	header  http.Header // added to every request
}

func (en *env) browser() *browser {
	return &browser{en: en, cookies: map[string]*http.Cookie{}, header: http.Header{}}
}

type reply struct {
	code int
	body string
	hdr  http.Header
}

func (b *browser) do(method, target string, form url.Values) reply {
	b.en.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.en.e.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return reply{code: rec.Code, body: rec.Body.String(), hdr: rec.Header()}
}

func (b *browser) get(target string) reply { b.en.t.Helper(); return b.do(http.MethodGet, target, nil) }

// post sends a form with the CSRF token found on page (a GET of it).
func (b *browser) post(page, target string, form url.Values) reply {
	b.en.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if page != "" {
		form.Set("csrf", csrfOf(b.en.t, b.get(page).body))
	}
	return b.do(http.MethodPost, target, form)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", body)
	}
	return m[1]
}

// login logs b in through the form.
func (b *browser) login(user, password string) reply {
	b.en.t.Helper()
	page := b.get("/login")
	return b.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(b.en.t, page.body)}, "username": {user}, "password": {password}, "next": {"/projects/"}})
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	if t.Failed() {
		t.Logf("%s:\n%s", what, body)
	}
}

func mustNotContain(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			t.Errorf("%s contains %q", what, n)
		}
	}
}

func publicEnvAuth() auth.Config { return auth.DefaultConfig() }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("log: %s", p); return len(p), nil }

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

// newBenchEnv is a public env whose log is discarded.
func newBenchEnv(b *testing.B) *env {
	b.Helper()
	return newEnv(b, auth.DefaultConfig(), nil)
}
