package generic_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/pyindex/pyindex/generic"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/upload"
)

func TestMain(m *testing.M) {
	index.PasswordCost = bcrypt.MinCost
	os.Exit(indextest.Main(m)) // on SQLite, then on PostgreSQL
}

// env is the generic files' service on echo, over a real catalog and
// filesystem store.
type env struct {
	e     *echo.Echo
	cat   *index.Catalog
	store storage.Store
}

func newEnv(t *testing.T, anonymousRead bool, maxFileSize storage.Size) *env {
	t.Helper()
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	log := slog.New(slog.DiscardHandler)
	acfg := auth.DefaultConfig()
	acfg.AnonymousRead = anonymousRead
	authSvc, err := auth.New(acfg, auth.Deps{Catalog: cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ucfg := upload.DefaultConfig()
	ucfg.MaxFileSize = maxFileSize
	up, err := upload.New(ucfg, upload.Deps{Catalog: cat, Store: store, TempDir: t.TempDir(), Auth: authSvc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := generic.New(generic.Deps{Catalog: cat, Store: store, Upload: up, Auth: authSvc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(log)
	e.Use(authSvc.Middleware())
	svc.Register(e.Group(""))
	for _, u := range []struct {
		name  string
		admin bool
	}{{"alice", false}, {"bob", false}, {"root", true}} {
		if _, err := cat.AddUser(ctx, u.name, u.name+"-password-1", u.admin, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return &env{e: e, cat: cat, store: store}
}

// do sends one request as user ("" for none) and returns the recorder.
func (en *env) do(t *testing.T, method, path, user string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if user != "" {
		req.SetBasicAuth(user, user+"-password-1")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	return rec
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestUpload(t *testing.T) {
	en := newEnv(t, true, 1<<20)
	body := []byte("vendor dlls, version 1.4")
	url := "/generic/Vendor_DLLs/v1.4/vendor-dlls-1.4.zip"

	rec := en.do(t, http.MethodPut, url, "alice", body, generic.ChecksumHeader, strings.ToUpper(hexSum(body)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "vendor-dlls", "version": "1.4", "filename": "vendor-dlls-1.4.zip", "size": float64(len(body)),
		"sha256": hexSum(body), "url": "http://example.com/generic/vendor-dlls/1.4/vendor-dlls-1.4.zip", "created": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("reply %s = %v, want %v", k, got[k], v)
		}
	}
	if loc := rec.Header().Get("Location"); loc != "/generic/vendor-dlls/1.4/vendor-dlls-1.4.zip" {
		t.Errorf("Location %q", loc)
	}
	serial, _ := en.cat.Serial(context.Background())

	t.Run("retry", func(t *testing.T) {
		rec := en.do(t, http.MethodPut, "/generic/vendor-dlls/1.4.0/vendor-dlls-1.4.zip", "alice", body)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"created":false`) {
			t.Errorf("retry: %d %s", rec.Code, rec.Body)
		}
		if s, _ := en.cat.Serial(context.Background()); s != serial {
			t.Error("a retry changed the catalog")
		}
	})
	t.Run("conflict", func(t *testing.T) {
		rec := en.do(t, http.MethodPut, url, "alice", []byte("other bytes"))
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "never replaced") {
			t.Errorf("conflict: %d %s", rec.Code, rec.Body)
		}
		if _, err := en.store.Stat(context.Background(), storage.Key(hexSum([]byte("other bytes")))); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("the refused bytes were stored: %v", err)
		}
	})
	t.Run("bad checksum", func(t *testing.T) {
		other := []byte("1.5 bytes")
		rec := en.do(t, http.MethodPut, "/generic/vendor-dlls/1.5/x.zip", "alice", other, generic.ChecksumHeader, hexSum(body))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "nothing was stored") {
			t.Errorf("bad checksum: %d %s", rec.Code, rec.Body)
		}
		if _, err := en.store.Stat(context.Background(), storage.Key(hexSum(other))); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("stored: %v", err)
		}
		if _, err := en.cat.GenericFile(context.Background(), "vendor-dlls", "1.5", "x.zip"); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("recorded: %v", err)
		}
		rec = en.do(t, http.MethodPut, "/generic/vendor-dlls/1.5/x.zip", "alice", other, generic.ChecksumHeader, "xyz")
		if rec.Code != http.StatusBadRequest {
			t.Errorf("malformed checksum: %d %s", rec.Code, rec.Body)
		}
	})
	for _, tc := range []struct {
		name, user, path string
		code             int
	}{
		{"no credentials", "", "/generic/vendor-dlls/1.6/a.zip", http.StatusUnauthorized},
		{"wrong password", "nobody", "/generic/vendor-dlls/1.6/a.zip", http.StatusUnauthorized},
		{"not an owner", "bob", "/generic/vendor-dlls/1.6/a.zip", http.StatusForbidden},
		{"bad name", "alice", "/generic/-x-/1.6/a.zip", http.StatusBadRequest},
		{"bad version", "alice", "/generic/vendor-dlls/one/a.zip", http.StatusBadRequest},
		{"latest", "alice", "/generic/vendor-dlls/latest/a.zip", http.StatusBadRequest},
		{"dot dot", "alice", "/generic/vendor-dlls/1.6/..", http.StatusBadRequest},
		{"escaped slash", "alice", "/generic/vendor-dlls/1.6/a%2Fb.zip", http.StatusBadRequest},
		{"escaped dot dot", "alice", "/generic/vendor-dlls/1.6/%2E%2E%2Fcatalog.db", http.StatusBadRequest},
		{"leading dot", "alice", "/generic/vendor-dlls/1.6/.htaccess", http.StatusBadRequest},
		{"NUL", "alice", "/generic/vendor-dlls/1.6/a%00b", http.StatusBadRequest},
		{"backslash", "alice", "/generic/vendor-dlls/1.6/a%5Cb", http.StatusBadRequest},
		{"too long", "alice", "/generic/vendor-dlls/1.6/" + strings.Repeat("a", 256), http.StatusBadRequest},
		{"subfolder", "alice", "/generic/vendor-dlls/1.6/a/b.zip", http.StatusBadRequest},
		{"admin", "root", "/generic/vendor-dlls/1.6/by-admin.zip", http.StatusCreated},
		{"first uploader owns", "bob", "/generic/bobs/1.0/b.zip", http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := en.do(t, http.MethodPut, tc.path, tc.user, []byte("z"))
			if rec.Code != tc.code {
				t.Errorf("PUT %s as %q: %d %s, want %d", tc.path, tc.user, rec.Code, rec.Body, tc.code)
			}
			if tc.code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		rec := en.do(t, http.MethodPut, "/generic/vendor-dlls/2.0/big.zip", "alice", make([]byte, 1<<20+1))
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
		// Without a Content-Length the limit holds while reading.
		req := httptest.NewRequest(http.MethodPut, "/generic/vendor-dlls/2.0/big.zip", io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), strings.NewReader("xx")))
		req.ContentLength = -1
		req.SetBasicAuth("alice", "alice-password-1")
		rr := httptest.NewRecorder()
		en.e.ServeHTTP(rr, req)
		if rr.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("streamed: %d %s", rr.Code, rr.Body)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		ctx := context.Background()
		for _, tc := range []struct {
			scope    index.Scope
			projects []string
			code     int
		}{
			{index.ScopeRead, nil, http.StatusForbidden},
			{index.ScopeUpload, []string{"other"}, http.StatusForbidden},
			{index.ScopeUpload, []string{"vendor-dlls"}, http.StatusCreated}, // limited to the name: allowed, as for projects
			{index.ScopeUpload, nil, http.StatusForbidden},                   // bob does not own it
		} {
			_, secret, err := en.cat.CreateToken(ctx, index.NewToken{User: "bob", Scope: tc.scope, Projects: tc.projects}, "test")
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPut, "/generic/vendor-dlls/3.0/"+tc.scope.String()+strings.Join(tc.projects, "")+".zip", strings.NewReader("t"))
			req.SetBasicAuth("__token__", secret)
			rec := httptest.NewRecorder()
			en.e.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("token %s %v: %d %s, want %d", tc.scope, tc.projects, rec.Code, rec.Body, tc.code)
			}
		}
	})
}

func TestDownload(t *testing.T) {
	en := newEnv(t, true, 1<<20)
	files := map[string]string{}
	for _, v := range []string{"1.0", "1.10", "1.9", "2.0rc1"} {
		b := "myapp " + v
		files[v] = b
		if rec := en.do(t, http.MethodPut, "/generic/myapp/"+v+"/myapp.zip", "alice", []byte(b)); rec.Code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", v, rec.Code, rec.Body)
		}
	}
	rec := en.do(t, http.MethodGet, "/generic/MyApp/v1.9/myapp.zip", "", nil)
	if rec.Code != http.StatusOK || rec.Body.String() != files["1.9"] {
		t.Fatalf("GET: %d %q", rec.Code, rec.Body)
	}
	etag := rec.Header().Get("ETag")
	for k, v := range map[string]string{"ETag": `"` + hexSum([]byte(files["1.9"])) + `"`, "Content-Type": "application/zip",
		"Cache-Control": "max-age=365000000, immutable, public", "Accept-Ranges": "bytes", "Content-Length": "9"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec := en.do(t, http.MethodGet, "/generic/myapp/1.9/myapp.zip", "", nil, "Range", "bytes=6-8"); rec.Code != http.StatusPartialContent || rec.Body.String() != "1.9" {
		t.Errorf("Range: %d %q", rec.Code, rec.Body)
	}
	if rec := en.do(t, http.MethodGet, "/generic/myapp/1.9/myapp.zip", "", nil, "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	if rec := en.do(t, http.MethodHead, "/generic/myapp/1.9/myapp.zip", "", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "9" {
		t.Errorf("HEAD: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	for path, want := range map[string]string{
		"/generic/myapp/latest/myapp.zip":       "/generic/myapp/1.10/myapp.zip",
		"/generic/MyApp/latest/myapp.zip?pre=1": "/generic/myapp/2.0rc1/myapp.zip",
	} {
		rec := en.do(t, http.MethodGet, path, "", nil)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != want || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d %q %q", path, rec.Code, rec.Header().Get("Location"), rec.Header().Get("Cache-Control"))
		}
	}
	for _, path := range []string{"/generic/myapp/latest/other.zip", "/generic/myapp/3.0/myapp.zip", "/generic/nope/1.0/myapp.zip",
		"/generic/-x/1.0/a", "/generic/myapp/1.0/..", "/generic/myapp/not-a-version/myapp.zip", "/generic/myapp/1.0/%2E%2E%2F%2E%2E%2Fcatalog.db"} {
		if rec := en.do(t, http.MethodGet, path, "", nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := en.do(t, http.MethodPost, "/generic/myapp/1.0/myapp.zip", "alice", []byte("x")); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestPrivateReads(t *testing.T) {
	en := newEnv(t, false, 1<<20)
	if rec := en.do(t, http.MethodPut, "/generic/myapp/1.0/a.zip", "alice", []byte("a")); rec.Code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/generic/myapp/1.0/a.zip", "/generic/myapp/latest/a.zip", "/generic/nope/1.0/a.zip", "/generic/-x/1.0/a.zip"} {
		if rec := en.do(t, http.MethodGet, path, "", nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d", path, rec.Code)
		}
	}
	if rec := en.do(t, http.MethodGet, "/generic/myapp/1.0/a.zip", "bob", nil); rec.Code != http.StatusOK {
		t.Errorf("bob's GET: %d", rec.Code)
	}
	_, secret, _ := en.cat.CreateToken(context.Background(), index.NewToken{User: "bob", Scope: index.ScopeRead, Projects: []string{"other"}}, "test")
	req := httptest.NewRequest(http.MethodGet, "/generic/myapp/1.0/a.zip", nil)
	req.SetBasicAuth("__token__", secret)
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a token limited to other: %d", rec.Code)
	}
}

// TestRetryWithChecksum: a PUT of a recorded file with a declared checksum
// is answered without the body being read.
func TestRetryWithChecksum(t *testing.T) {
	en := newEnv(t, true, 1<<20)
	body := []byte("bundle")
	if rec := en.do(t, http.MethodPut, "/generic/app/1.0/app.zip", "alice", body); rec.Code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		sum  string
		code int
	}{{hexSum(body), http.StatusOK}, {hexSum([]byte("other")), http.StatusConflict}} {
		r := &countingReader{r: bytes.NewReader(body)}
		req := httptest.NewRequest(http.MethodPut, "/generic/app/1.0/app.zip", r)
		req.SetBasicAuth("alice", "alice-password-1")
		req.Header.Set(generic.ChecksumHeader, tc.sum)
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		if rec.Code != tc.code || r.n != 0 {
			t.Errorf("checksum %s: %d %s, %d body bytes read", tc.sum[:8], rec.Code, rec.Body, r.n)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
