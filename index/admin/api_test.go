package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
)

// clock is a settable catalog clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// adminEnv is the read side and the admin API on a real catalog and store,
// with an admin ("root"), a plain user ("dev") and tokens.
type adminEnv struct {
	t     *testing.T
	cat   *index.Catalog
	store *fs.FS
	admin *admin.Service
	e     *echo.Echo
	clock *clock

	rootAuth, devAuth, uploadTokenAuth, adminTokenAuth string
}

const (
	rootPassword = "root-password-1"
	devPassword  = "dev-password-1"
)

func basic(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	ctx := context.Background()
	cat := indextest.Catalog(t)
	clk := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	cat.SetClock(clk.now)
	store := indextest.Store(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acfg := auth.DefaultConfig()
	acfg.MaxFailedLogins = 0 // the refusal table fails many logins
	authSvc, err := auth.New(acfg, auth.Deps{Catalog: cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	read, err := simple.New(simple.Config{PageCacheEntries: 64}, simple.Deps{Catalog: cat, Store: store, Auth: authSvc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	deps := admin.Deps{Catalog: cat, Store: store, Auth: authSvc, Log: log}
	svc, err := admin.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	api, err := admin.NewAPI(deps)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(log)
	e.Use(authSvc.Middleware())
	read.Register(e.Group(""))
	api.Register(e.Group(""))

	en := &adminEnv{t: t, cat: cat, store: store, admin: svc, e: e, clock: clk}
	if _, err := cat.AddUser(ctx, "root", rootPassword, true, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AddUser(ctx, "dev", devPassword, false, "test"); err != nil {
		t.Fatal(err)
	}
	_, up, err := cat.CreateToken(ctx, index.NewToken{User: "root", Scope: index.ScopeUpload}, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, adm, err := cat.CreateToken(ctx, index.NewToken{User: "root", Scope: index.ScopeAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	en.rootAuth = basic("root", rootPassword)
	en.devAuth = basic("dev", devPassword)
	en.uploadTokenAuth = "Bearer " + up
	en.adminTokenAuth = basic("__token__", adm)
	return en
}

// seed adds a wheel of acme-util (or project) at version, uploaded at the
// clock's time, and returns its row.
func (en *adminEnv) seed(project, version string) index.File {
	en.t.Helper()
	name, data := indextest.Wheel(en.t, strings.ReplaceAll(project, "-", "_"), version, "")
	return indextest.Seed(en.t, en.cat, en.store, name, data)
}

// share records another file (of project at version) whose blobs are those
// of f, as an upload of identical bytes under another name would.
func (en *adminEnv) share(f index.File, project, filename, version string) index.File {
	en.t.Helper()
	nf := index.NewFile{Project: project, Version: version, Filename: filename, PackageType: f.PackageType,
		PythonVersion: f.PythonVersion, Size: f.Size, SHA256: f.SHA256, MD5: f.MD5, Blake2b256: f.Blake2b256,
		BlobKey: f.BlobKey, MetadataKey: f.MetadataKey, MetadataSHA256: f.MetadataSHA256, UploadedBy: "seed"}
	g, _, err := en.cat.AddFile(context.Background(), nf)
	if err != nil {
		en.t.Fatal(err)
	}
	return g
}

// call sends a request and decodes a JSON answer into out (when not nil).
func (en *adminEnv) call(method, target, auth string, body any, out any) *httptest.ResponseRecorder {
	en.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.RemoteAddr = "192.0.2.7:1234"
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	if out != nil && rec.Code < 300 && rec.Code != http.StatusNoContent {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			en.t.Fatalf("%s %s: %v\n%s", method, target, err, rec.Body.String())
		}
	}
	return rec
}

func (en *adminEnv) exists(key string) bool {
	en.t.Helper()
	_, err := en.store.Stat(context.Background(), key)
	if errors.Is(err, storage.ErrNotExist) {
		return false
	}
	if err != nil {
		en.t.Fatal(err)
	}
	return true
}

func errorBody(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Errorf("error body is not {\"error\": ...}: %q", rec.Body.String())
	}
	if strings.Contains(e.Error, "\n") {
		t.Errorf("error message has several lines: %q", e.Error)
	}
	return e.Error
}

// TestAdminRefusals: every endpoint refuses anonymous callers (401 with a
// challenge) and non-admin ones (403): a plain user's password and an
// admin's upload-scope token.
func TestAdminRefusals(t *testing.T) {
	en := newAdminEnv(t)
	en.seed("acme-util", "1.0")
	endpoints := []struct{ method, path, body string }{
		{"GET", "/api/v1/projects", ""},
		{"GET", "/api/v1/projects/acme-util", ""},
		{"DELETE", "/api/v1/projects/acme-util", ""},
		{"DELETE", "/api/v1/projects/acme-util/releases/1.0", ""},
		{"POST", "/api/v1/projects/acme-util/releases/1.0/yank", `{"reason": "x"}`},
		{"DELETE", "/api/v1/projects/acme-util/releases/1.0/yank", ""},
		{"DELETE", "/api/v1/projects/acme-util/files/acme_util-1.0-py3-none-any.whl", ""},
		{"POST", "/api/v1/prune", `{"keep_dev": 1}`},
		{"GET", "/api/v1/audit", ""},
		{"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/users", `{"name": "eve", "password": "eve-password-1", "admin": true}`},
		{"DELETE", "/api/v1/users/dev", ""},
		{"PUT", "/api/v1/users/root/password", `{"password": "hijacked-password"}`},
		{"GET", "/api/v1/tokens", ""},
		{"POST", "/api/v1/tokens", `{"user": "root", "scope": "admin"}`},
		{"DELETE", "/api/v1/tokens/1", ""},
	}
	callers := []struct {
		name, auth string
		want       int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"wrong password", basic("root", "wrong-password"), http.StatusUnauthorized},
		{"user", en.devAuth, http.StatusForbidden},
		{"upload token", en.uploadTokenAuth, http.StatusForbidden},
	}
	for _, ep := range endpoints {
		for _, cl := range callers {
			t.Run(ep.method+" "+ep.path+" "+cl.name, func(t *testing.T) {
				var body any
				if ep.body != "" {
					body = ep.body
				}
				rec := en.call(ep.method, ep.path, cl.auth, body, nil)
				if rec.Code != cl.want {
					t.Fatalf("status %d, want %d: %s", rec.Code, cl.want, rec.Body.String())
				}
				errorBody(t, rec)
				if cl.want == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
	// Nothing changed.
	if _, rels, err := en.cat.ProjectDetail(context.Background(), "acme-util"); err != nil || len(rels) != 1 || rels[0].Yanked {
		t.Errorf("a refused request changed the catalog: %v %v", rels, err)
	}
	if users, _ := en.cat.Users(context.Background()); len(users) != 2 {
		t.Errorf("users changed: %v", users)
	}
}

func TestAdminListProjects(t *testing.T) {
	en := newAdminEnv(t)
	for _, p := range []string{"acme-util", "acme-core", "beta", "gamma-acme"} {
		en.seed(p, "1.0")
	}
	en.clock.set(en.clock.now().Add(time.Hour))
	en.seed("acme-util", "1.1")

	type page struct {
		Projects []index.ProjectSummary `json:"projects"`
		Next     *string                `json:"next"`
	}
	var all page
	if rec := en.call("GET", "/api/v1/projects", en.rootAuth, nil, &all); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	var names []string
	for _, p := range all.Projects {
		names = append(names, p.Name)
	}
	if strings.Join(names, " ") != "acme-core acme-util beta gamma-acme" || all.Next != nil {
		t.Fatalf("projects %v next %v", names, all.Next)
	}
	u := all.Projects[1]
	f, _ := en.cat.File(context.Background(), "acme_util-1.1-py3-none-any.whl")
	f0, _ := en.cat.File(context.Background(), "acme_util-1.0-py3-none-any.whl")
	if u.Releases != 2 || u.Files != 2 || u.Size != f.Size+f0.Size || u.LastUpload == nil || !u.LastUpload.Equal(f.UploadTime) {
		t.Errorf("acme-util summary %+v", u)
	}

	// Pages of 2 with a cursor, and q matching the normalized name.
	var p1, p2 page
	en.call("GET", "/api/v1/projects?limit=2", en.rootAuth, nil, &p1)
	if len(p1.Projects) != 2 || p1.Next == nil {
		t.Fatalf("first page %+v", p1)
	}
	en.call("GET", "/api/v1/projects?limit=2&cursor="+*p1.Next, en.adminTokenAuth, nil, &p2)
	if len(p2.Projects) != 2 || p2.Projects[0].Name != "beta" || p2.Next != nil {
		t.Fatalf("second page %+v", p2)
	}
	for query, want := range map[string]int{"ACME": 3, "Acme_U": 1, "acme.core": 1, "%": 0, "zzz": 0} {
		var q page
		en.call("GET", "/api/v1/projects?q="+url.QueryEscape(query), en.rootAuth, nil, &q)
		if len(q.Projects) != want {
			t.Errorf("q=%s found %+v, want %d", query, q.Projects, want)
		}
	}
	for _, bad := range []string{"limit=0", "limit=x", "cursor=%25%25"} {
		if rec := en.call("GET", "/api/v1/projects?"+bad, en.rootAuth, nil, nil); rec.Code != 400 {
			t.Errorf("%s: status %d", bad, rec.Code)
		} else {
			errorBody(t, rec)
		}
	}
}

func TestAdminProjectDetailOrder(t *testing.T) {
	en := newAdminEnv(t)
	for _, v := range []string{"1.9", "1.10", "1.0", "2!1.0", "1.0rc1", "9.0", "1.0.post1", "1.0.dev3", "1.0+local.7"} {
		en.seed("acme-util", v)
	}
	var got struct {
		Name     string              `json:"name"`
		Releases []admin.ReleaseInfo `json:"releases"`
	}
	rec := en.call("GET", "/api/v1/projects/Acme_Util", en.rootAuth, nil, &got)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	var vs []string
	for _, r := range got.Releases {
		vs = append(vs, r.Version)
		if len(r.Files) != 1 || r.Files[0].UploadedBy != "seed" || r.Files[0].SHA256 == "" || r.Files[0].Size == 0 {
			t.Errorf("release %s files %+v", r.Version, r.Files)
		}
	}
	want := "2!1.0 9.0 1.10 1.9 1.0.post1 1.0+local.7 1.0 1.0rc1 1.0.dev3"
	if strings.Join(vs, " ") != want {
		t.Errorf("releases\n got %s\nwant %s", strings.Join(vs, " "), want)
	}
	if rec := en.call("GET", "/api/v1/projects/nope", en.rootAuth, nil, nil); rec.Code != 404 {
		t.Errorf("unknown project: %d", rec.Code)
	} else if msg := errorBody(t, rec); !strings.Contains(msg, "nope") {
		t.Errorf("message %q", msg)
	}
}

// TestAdminYank: a yank shows at once on the simple pages (HTML
// data-yanked with the reason, JSON yanked), and unyank clears it.
func TestAdminYank(t *testing.T) {
	en := newAdminEnv(t)
	en.seed("acme-util", "1.0")
	en.seed("acme-util", "1.1")
	simple := func(accept string) string {
		req := httptest.NewRequest("GET", "/simple/acme-util/", nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("simple page: %d", rec.Code)
		}
		return rec.Body.String()
	}
	const html, jsonAccept = "text/html", "application/vnd.pypi.simple.v1+json"
	if strings.Contains(simple(html), "data-yanked") {
		t.Fatal("yanked before the yank")
	}
	simple(jsonAccept) // cached now

	var rel map[string]any
	rec := en.call("POST", "/api/v1/projects/acme-util/releases/1.1.0/yank", en.rootAuth, map[string]string{"reason": `broken <"build">`}, &rel)
	if rec.Code != 200 || rel["yanked"] != true || rel["version"] != "1.1" {
		t.Fatalf("yank: %d %s", rec.Code, rec.Body.String())
	}
	page := simple(html)
	if !strings.Contains(page, `acme_util-1.1-py3-none-any.whl#sha256=`) || !strings.Contains(page, `data-yanked="broken &lt;&#34;build&#34;&gt;"`) {
		t.Errorf("HTML page does not show the yank:\n%s", page)
	}
	if strings.Count(page, "data-yanked") != 1 {
		t.Errorf("1.0 is yanked too:\n%s", page)
	}
	var js struct {
		Files []struct {
			Filename string `json:"filename"`
			Yanked   any    `json:"yanked"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(simple(jsonAccept)), &js); err != nil {
		t.Fatal(err)
	}
	for _, f := range js.Files {
		want := any(false)
		if strings.Contains(f.Filename, "1.1") {
			want = `broken <"build">`
		}
		if f.Yanked != want {
			t.Errorf("%s yanked = %v, want %v", f.Filename, f.Yanked, want)
		}
	}
	// The admin detail shows it too.
	var det struct {
		Releases []admin.ReleaseInfo `json:"releases"`
	}
	en.call("GET", "/api/v1/projects/acme-util", en.rootAuth, nil, &det)
	if !det.Releases[0].Yanked || det.Releases[0].YankedReason != `broken <"build">` {
		t.Errorf("detail %+v", det.Releases[0])
	}

	// Unyank.
	if rec := en.call("DELETE", "/api/v1/projects/acme-util/releases/1.1/yank", en.rootAuth, nil, &rel); rec.Code != 200 || rel["yanked"] != false {
		t.Fatalf("unyank: %d %s", rec.Code, rec.Body.String())
	}
	if strings.Contains(simple(html), "data-yanked") {
		t.Error("still yanked after unyank")
	}
	if err := json.Unmarshal([]byte(simple(jsonAccept)), &js); err != nil {
		t.Fatal(err)
	}
	for _, f := range js.Files {
		if f.Yanked != false {
			t.Errorf("%s yanked = %v after unyank", f.Filename, f.Yanked)
		}
	}
	events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Project: "acme-util"})
	if len(events) < 2 || events[0].Action != "unyank" || events[1].Action != "yank" || events[1].Detail != `broken <"build">` ||
		events[1].Actor != "root" || events[1].RemoteAddr != "192.0.2.7" || events[1].Version != "1.1" {
		t.Errorf("audit %+v", events)
	}

	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown release", "POST", "/api/v1/projects/acme-util/releases/9.9/yank", `{}`, 404},
		{"unknown project", "POST", "/api/v1/projects/nope/releases/1.0/yank", `{}`, 404},
		{"bad version", "POST", "/api/v1/projects/acme-util/releases/not%20a%20version/yank", `{}`, 400},
		{"bad json", "POST", "/api/v1/projects/acme-util/releases/1.0/yank", `{"reason": 5}`, 400},
		{"unknown field", "POST", "/api/v1/projects/acme-util/releases/1.0/yank", `{"why": "x"}`, 400},
		{"long reason", "POST", "/api/v1/projects/acme-util/releases/1.0/yank", `{"reason": "` + strings.Repeat("x", 1001) + `"}`, 400},
		{"unyank unknown", "DELETE", "/api/v1/projects/acme-util/releases/9.9/yank", ``, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			rec := en.call(tc.method, tc.path, en.rootAuth, body, nil)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.String())
			}
			errorBody(t, rec)
		})
	}
}

type deleted struct {
	Files []admin.FileInfo `json:"files"`
	Bytes int64            `json:"bytes"`
	Freed int64            `json:"freed"`
}

// TestAdminDelete deletes a file, a release and a project: the rows go,
// their blobs go after them, and blobs another row shares stay.
func TestAdminDelete(t *testing.T) {
	en := newAdminEnv(t)
	a10 := en.seed("acme-util", "1.0")
	a11 := en.seed("acme-util", "1.1")
	shared := en.share(a11, "acme-util", "acme_util-1.2-py3-none-any.whl", "1.2")
	b := en.seed("beta", "2.0")
	bShared := en.share(b, "acme-util", "acme_util-1.3-py3-none-any.whl", "1.3")
	_ = bShared

	// A file whose blob another release shares: the row goes, the blob stays.
	var d deleted
	rec := en.call("DELETE", "/api/v1/projects/acme-util/files/acme_util-1.1-py3-none-any.whl", en.rootAuth, nil, &d)
	if rec.Code != 200 || len(d.Files) != 1 || d.Files[0].Version != "1.1" || d.Bytes != a11.Size || d.Freed != 0 {
		t.Fatalf("delete file: %d %s", rec.Code, rec.Body.String())
	}
	if !en.exists(a11.BlobKey) || !en.exists(a11.MetadataKey) {
		t.Error("a shared blob was deleted")
	}
	if _, err := en.cat.File(context.Background(), a11.Filename); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("file row still there: %v", err)
	}
	// Its release had no other file, so it went too.
	if rec := en.call("DELETE", "/api/v1/projects/acme-util/releases/1.1", en.rootAuth, nil, nil); rec.Code != 404 {
		t.Errorf("release 1.1 after deleting its only file: %d", rec.Code)
	}
	// Wrong project for the file: 404.
	if rec := en.call("DELETE", "/api/v1/projects/beta/files/acme_util-1.0-py3-none-any.whl", en.rootAuth, nil, nil); rec.Code != 404 {
		t.Errorf("file of another project: %d", rec.Code)
	}

	// The release now holding the last reference: its blobs go.
	rec = en.call("DELETE", "/api/v1/projects/acme-util/releases/1.2.0", en.rootAuth, nil, &d)
	if rec.Code != 200 || len(d.Files) != 1 || d.Files[0].Filename != shared.Filename || d.Freed == 0 {
		t.Fatalf("delete release: %d %s", rec.Code, rec.Body.String())
	}
	if en.exists(a11.BlobKey) || en.exists(a11.MetadataKey) {
		t.Error("blobs of a deleted release stayed")
	}

	// The whole project: 1.0 and 1.3 (whose blob beta shares).
	rec = en.call("DELETE", "/api/v1/projects/Acme.Util", en.rootAuth, nil, &d)
	if rec.Code != 200 || len(d.Files) != 2 {
		t.Fatalf("delete project: %d %s", rec.Code, rec.Body.String())
	}
	if en.exists(a10.BlobKey) || en.exists(a10.MetadataKey) {
		t.Error("blobs of the deleted project stayed")
	}
	if !en.exists(b.BlobKey) {
		t.Error("beta's blob, shared with the deleted project, is gone")
	}
	if rec := en.call("GET", "/simple/acme-util/", "", nil, nil); rec.Code != 404 {
		t.Errorf("simple page of a deleted project: %d", rec.Code)
	}
	if rec := en.call("GET", "/files/"+b.SHA256+"/"+b.Filename, "", nil, nil); rec.Code != 200 {
		t.Errorf("beta's file: %d", rec.Code)
	}
	for _, path := range []string{"/api/v1/projects/acme-util", "/api/v1/projects/beta/releases/9", "/api/v1/projects/beta/files/nope.whl", "/api/v1/projects/-bad-"} {
		if rec := en.call("DELETE", path, en.rootAuth, nil, nil); rec.Code != 404 {
			t.Errorf("DELETE %s: %d", path, rec.Code)
		} else {
			errorBody(t, rec)
		}
	}
	events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Action: "delete"})
	if len(events) != 3 || events[0].Project != "acme-util" || events[0].Version != "" || events[2].Filename != a11.Filename {
		t.Errorf("audit %+v", events)
	}
}

func TestAdminAudit(t *testing.T) {
	en := newAdminEnv(t)
	en.seed("acme-util", "1.0")
	en.seed("beta", "1.0")
	en.call("POST", "/api/v1/projects/beta/releases/1.0/yank", en.rootAuth, `{"reason": "r"}`, nil)
	var got struct {
		Events []map[string]any `json:"events"`
	}
	for _, tc := range []struct {
		query string
		want  []string // actions, newest first
	}{
		{"project=beta", []string{"yank", "upload"}},
		{"project=Acme_Util", []string{"upload"}},
		{"actor=root", []string{"yank"}},
		{"action=upload&limit=1", []string{"upload"}},
		{"project=nope", []string{}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			if rec := en.call("GET", "/api/v1/audit?"+tc.query, en.rootAuth, nil, &got); rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			actions := []string{}
			for _, e := range got.Events {
				actions = append(actions, e["action"].(string))
				for _, k := range []string{"at", "actor", "action", "project", "version", "filename", "remote_addr"} {
					if _, ok := e[k]; !ok {
						t.Errorf("event without %q: %v", k, e)
					}
				}
			}
			if !slices.Equal(actions, tc.want) {
				t.Errorf("actions %v, want %v", actions, tc.want)
			}
		})
	}
	if rec := en.call("GET", "/api/v1/audit?limit=-1", en.rootAuth, nil, nil); rec.Code != 400 {
		t.Errorf("bad limit: %d", rec.Code)
	}
}

func TestAdminUsersAndTokens(t *testing.T) {
	en := newAdminEnv(t)
	steps := []struct {
		name, method, path, body string
		want                     int
	}{
		{"create", "POST", "/api/v1/users", `{"name": "ci", "password": "ci-password-1"}`, 201},
		{"create admin", "POST", "/api/v1/users", `{"name": "ops", "password": "ops-password-1", "admin": true}`, 201},
		{"duplicate", "POST", "/api/v1/users", `{"name": "ci", "password": "ci-password-1"}`, 409},
		{"short password", "POST", "/api/v1/users", `{"name": "x", "password": "short"}`, 400},
		{"bad name", "POST", "/api/v1/users", `{"name": "a b", "password": "long-enough-1"}`, 400},
		{"password", "PUT", "/api/v1/users/ci/password", `{"password": "ci-password-2"}`, 204},
		{"password unknown", "PUT", "/api/v1/users/nobody/password", `{"password": "ci-password-2"}`, 404},
		{"password short", "PUT", "/api/v1/users/ci/password", `{"password": "x"}`, 400},
		{"token", "POST", "/api/v1/tokens", `{"user": "ci", "scope": "upload", "projects": ["Acme_Util"], "expires": "720h", "description": "CI"}`, 201},
		{"token admin for non-admin", "POST", "/api/v1/tokens", `{"user": "ci", "scope": "admin"}`, 400},
		{"token bad scope", "POST", "/api/v1/tokens", `{"user": "ci", "scope": "root"}`, 400},
		{"token bad expiry", "POST", "/api/v1/tokens", `{"user": "ci", "scope": "read", "expires": "soon"}`, 400},
		{"token unknown user", "POST", "/api/v1/tokens", `{"user": "nobody", "scope": "read"}`, 404},
		{"revoke unknown", "DELETE", "/api/v1/tokens/999", ``, 404},
		{"revoke bad id", "DELETE", "/api/v1/tokens/abc", ``, 404},
		{"remove unknown", "DELETE", "/api/v1/users/nobody", ``, 404},
	}
	for _, s := range steps {
		var body any
		if s.body != "" {
			body = s.body
		}
		rec := en.call(s.method, s.path, en.rootAuth, body, nil)
		if rec.Code != s.want {
			t.Errorf("%s: status %d, want %d: %s", s.name, rec.Code, s.want, rec.Body.String())
		} else if s.want >= 400 {
			errorBody(t, rec)
		}
	}
	var users struct {
		Users []index.User `json:"users"`
	}
	en.call("GET", "/api/v1/users", en.rootAuth, nil, &users)
	var names []string
	for _, u := range users.Users {
		names = append(names, u.Name)
	}
	if strings.Join(names, " ") != "ci dev ops root" || !users.Users[2].Admin || users.Users[0].Admin {
		t.Errorf("users %+v", users.Users)
	}
	if _, err := en.cat.CheckPassword(context.Background(), "ci", "ci-password-2"); err != nil {
		t.Errorf("new password: %v", err)
	}

	// A token's secret is shown once, and works.
	var created struct {
		Token struct {
			ID        int64      `json:"id"`
			ExpiresAt *time.Time `json:"expires_at"`
		} `json:"token"`
		Secret string `json:"secret"`
	}
	rec := en.call("POST", "/api/v1/tokens", en.rootAuth, map[string]any{"user": "ops", "scope": "admin", "expires": time.Now().Add(time.Hour).Format(time.RFC3339)}, &created)
	if rec.Code != 201 || !strings.HasPrefix(created.Secret, index.TokenPrefix) || created.Token.ExpiresAt == nil {
		t.Fatalf("create token: %d %s", rec.Code, rec.Body.String())
	}
	if rec := en.call("GET", "/api/v1/users", "Bearer "+created.Secret, nil, nil); rec.Code != 200 {
		t.Errorf("the new admin token: %d", rec.Code)
	}
	var toks struct {
		Tokens []map[string]any `json:"tokens"`
	}
	en.call("GET", "/api/v1/tokens?user=ci", en.rootAuth, nil, &toks)
	if len(toks.Tokens) != 1 || toks.Tokens[0]["description"] != "CI" || toks.Tokens[0]["scope"] != "upload" {
		t.Errorf("tokens of ci %+v", toks.Tokens)
	}
	if strings.Contains(rec.Body.String(), "hash") {
		t.Error("token listing shows a hash")
	}
	en.call("GET", "/api/v1/tokens", en.rootAuth, nil, &toks)
	if len(toks.Tokens) != 4 {
		t.Errorf("all tokens: %d", len(toks.Tokens))
	}
	id := created.Token.ID
	if rec := en.call("DELETE", "/api/v1/tokens/"+strconv.FormatInt(id, 10), en.rootAuth, nil, nil); rec.Code != 204 {
		t.Errorf("revoke: %d %s", rec.Code, rec.Body.String())
	}
	if rec := en.call("GET", "/api/v1/users", "Bearer "+created.Secret, nil, nil); rec.Code != 401 {
		t.Errorf("revoked token: %d", rec.Code)
	}
	if rec := en.call("DELETE", "/api/v1/users/ci", en.rootAuth, nil, nil); rec.Code != 204 {
		t.Errorf("remove user: %d", rec.Code)
	}
	if _, err := en.cat.GetUser(context.Background(), "ci"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("removed user: %v", err)
	}
	events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Actor: "root"})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user add", "user passwd", "user remove", "token create", "token revoke"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %q audit entry by root in %v", want, actions)
		}
	}
}
