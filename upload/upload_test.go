package upload_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
	"github.com/pyindex/pyindex/upload"
)

const (
	user     = "alice"
	password = "correct horse"
)

// env is the whole server (read and write side) on a real catalog, a real
// filesystem store and a real temporary directory.
type env struct {
	t     testing.TB
	cat   *index.Catalog
	store *fs.FS
	tmp   string
	e     *echo.Echo
}

func newEnv(t testing.TB, cfg upload.Config) *env {
	t.Helper()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	if _, err := cat.AddUser(context.Background(), user, password, false, "test"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tmp := filepath.Join(t.TempDir(), "tmp")
	authSvc, err := auth.New(auth.DefaultConfig(), auth.Deps{Catalog: cat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	up, err := upload.New(cfg, upload.Deps{Catalog: cat, Store: store, TempDir: tmp, Log: log, Auth: authSvc})
	if err != nil {
		t.Fatal(err)
	}
	read, err := simple.New(simple.DefaultConfig(), simple.Deps{Catalog: cat, Store: store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(log)
	g := e.Group("")
	read.Register(g)
	up.Register(g)
	return &env{t: t, cat: cat, store: store, tmp: tmp, e: e}
}

// part is one multipart part. A part with a filename is a file part; ctype
// "" means no Content-Type header (as uv sends the content part).
type part struct {
	name, filename, ctype string
	value                 []byte
	noCtype               bool
}

func field(name, value string) part { return part{name: name, value: []byte(value)} }

// multipartBody encodes parts with boundary "pyindex-test-boundary",
// writing Content-Disposition verbatim so tests can send hostile filenames.
func multipartBody(t testing.TB, parts []part) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary("pyindex-test-boundary"); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			cd += `; filename="` + p.filename + `"`
			if !p.noCtype {
				ct := p.ctype
				if ct == "" {
					ct = "application/octet-stream"
				}
				h.Set("Content-Type", ct)
			}
		}
		h.Set("Content-Disposition", cd)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.value)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// form is an upload as twine sends it: metadata fields, then :action and
// protocol_version, then the content part last.
type form struct {
	fields  []part
	content part
}

func twineForm(filename string, data []byte, name, version string) *form {
	filetype, pyversion := "sdist", "source"
	if strings.HasSuffix(filename, ".whl") {
		filetype, pyversion = "bdist_wheel", "py3"
	}
	d := indextest.Sum(data)
	return &form{
		fields: []part{
			field("name", name), field("version", version), field("filetype", filetype),
			field("pyversion", pyversion), field("metadata_version", "2.1"), field("summary", "A test."),
			field("sha256_digest", d.SHA256), field("blake2_256_digest", d.Blake2b256),
			field(":action", "file_upload"), field("protocol_version", "1"),
		},
		content: part{name: "content", filename: filename, value: data},
	}
}

func distForm(t testing.TB, filename, name, version string) *form {
	return twineForm(filename, indextest.Dist(t, filename), name, version)
}

// set replaces (or, with value "", removes) a field.
func (f *form) set(name, value string) *form {
	out := f.fields[:0:0]
	for _, p := range f.fields {
		if p.name != name {
			out = append(out, p)
		}
	}
	if value != "" {
		out = append(out, field(name, value))
	}
	f.fields = out
	return f
}

func (f *form) parts() []part { return append(append([]part(nil), f.fields...), f.content) }

type request struct {
	ctype  string
	body   []byte
	auth   bool
	accept string
	target string
}

func (en *env) post(r request) *httptest.ResponseRecorder {
	en.t.Helper()
	if r.target == "" {
		r.target = "/legacy/"
	}
	req := httptest.NewRequest(http.MethodPost, r.target, bytes.NewReader(r.body))
	req.Header.Set("Content-Type", r.ctype)
	if r.auth {
		req.SetBasicAuth(user, password)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	return rec
}

func (en *env) upload(f *form) *httptest.ResponseRecorder {
	en.t.Helper()
	ct, body := multipartBody(en.t, f.parts())
	return en.post(request{ctype: ct, body: body, auth: true})
}

func (en *env) get(target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	return rec
}

// state is what an upload may change.
type state struct {
	serial int64
	blobs  []string
	temps  []string
}

func (en *env) state() state {
	en.t.Helper()
	var s state
	var err error
	if s.serial, err = en.cat.Serial(context.Background()); err != nil {
		en.t.Fatal(err)
	}
	en.store.List(context.Background(), "", func(i storage.Info) error {
		s.blobs = append(s.blobs, i.Key)
		return nil
	})
	ents, _ := os.ReadDir(en.tmp)
	for _, e := range ents {
		s.temps = append(s.temps, e.Name())
	}
	return s
}

func (en *env) unchanged(before state) {
	en.t.Helper()
	after := en.state()
	if after.serial != before.serial {
		en.t.Errorf("serial moved from %d to %d", before.serial, after.serial)
	}
	if fmt.Sprint(after.blobs) != fmt.Sprint(before.blobs) {
		en.t.Errorf("store changed: %v -> %v", before.blobs, after.blobs)
	}
	if len(after.temps) != 0 {
		en.t.Errorf("temp files left: %v", after.temps)
	}
}

// oneLine checks an error body: "<code> <message>\n" with no other line
// break or control character.
func oneLine(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	if !strings.HasPrefix(body, fmt.Sprint(rec.Code)+" ") || !strings.HasSuffix(body, "\n") {
		t.Errorf("body %q is not %q", body, fmt.Sprint(rec.Code)+" <message>\\n")
	}
	if strings.ContainsFunc(strings.TrimSuffix(body, "\n"), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Errorf("body %q spans lines or holds control characters", body)
	}
}

func TestUploadSuccess(t *testing.T) {
	localFn, localData := indextest.Wheel(t, "acme_util", "1.0+g123", "Requires-Python: >=3.8\n")
	tests := []struct {
		name    string
		form    func(t *testing.T) *form
		order   string // "twine" (content last), "uv" (content first, attestations after)
		target  string
		project string
	}{
		{"wheel", func(t *testing.T) *form { return distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1") }, "twine", "", "acme-util"},
		{"wheel uv order", func(t *testing.T) *form { return distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1") }, "uv", "", "acme-util"},
		{"wheel no slash", func(t *testing.T) *form { return distForm(t, "acme_util-0.1-py3-none-any.whl", "acme_util", "0.1") }, "twine", "/legacy", "acme-util"},
		{"sdist pep 625", func(t *testing.T) *form { return distForm(t, "acme_util-0.2.tar.gz", "acme-util", "0.2") }, "twine", "", "acme-util"},
		{"legacy sdist", func(t *testing.T) *form { return distForm(t, "acme-core-1.0.tar.gz", "acme-core", "1.0") }, "twine", "", "acme-core"},
		{"zip sdist", func(t *testing.T) *form { return distForm(t, "Acme.Legacy-0.3.zip", "Acme.Legacy", "0.3") }, "uv", "", "acme-legacy"},
		{"form version 1.0.0", func(t *testing.T) *form { return distForm(t, "acme_core-1.0-py3-none-any.whl", "acme-core", "1.0.0") }, "twine", "", "acme-core"},
		{":action in query", func(t *testing.T) *form {
			return distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1").set(":action", "")
		}, "twine", "/legacy/?:action=file_upload", "acme-util"},
		{"local version", func(t *testing.T) *form { return twineForm(localFn, localData, "acme-util", "1.0+g123") }, "twine", "", "acme-util"},
		{"md5 only", func(t *testing.T) *form {
			f := distForm(t, "acme_future-1.0-py3-none-any.whl", "acme-future", "1.0")
			return f.set("sha256_digest", "").set("blake2_256_digest", "").set("md5_digest", indextest.Sum(f.content.value).MD5)
		}, "twine", "", "acme-future"},
		{"upper-case digests, UNKNOWN filler", func(t *testing.T) *form {
			f := distForm(t, "acme_future-1.0-py3-none-any.whl", "acme-future", "1.0")
			d := indextest.Sum(f.content.value)
			return f.set("sha256_digest", strings.ToUpper(d.SHA256)).set("home_page", "UNKNOWN").set("requires_python", "")
		}, "twine", "", "acme-future"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := newEnv(t, upload.DefaultConfig())
			f := tc.form(t)
			parts := f.parts()
			if tc.order == "uv" {
				c := f.content
				c.noCtype = true
				parts = append([]part{c}, f.fields...)
				parts = append(parts, field("attestations", "[]"))
			}
			ct, body := multipartBody(t, parts)
			rec := en.post(request{ctype: ct, body: body, auth: true, target: tc.target})
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			fn, data := f.content.filename, f.content.value
			sum := indextest.Sum(data).SHA256
			page := en.get("/simple/" + tc.project + "/").Body.String()
			if !strings.Contains(page, ">"+fn+"</a>") || !strings.Contains(page, "#sha256="+sum) {
				t.Fatalf("%s not on the simple page right after the upload:\n%s", fn, page)
			}
			fileURL := "/files/" + sum + "/" + strings.ReplaceAll(fn, "+", "%2B")
			if got := en.get(fileURL); got.Code != http.StatusOK || !bytes.Equal(got.Body.Bytes(), data) {
				t.Errorf("GET %s: status %d", fileURL, got.Code)
			}
			meta := en.get(fileURL + ".metadata")
			if strings.HasSuffix(fn, ".whl") {
				if want := indextest.CoreMetadata(t, fn, data); meta.Code != http.StatusOK || !bytes.Equal(meta.Body.Bytes(), want) {
					t.Errorf("metadata: status %d, %q", meta.Code, meta.Body)
				}
			} else if meta.Code != http.StatusNotFound {
				t.Errorf("sdist metadata: status %d", meta.Code)
			}
			file, err := en.cat.File(context.Background(), fn)
			if err != nil || file.UploadedBy != user || file.MD5 == "" || file.Blake2b256 == "" || file.Size != int64(len(data)) {
				t.Errorf("catalog row %+v, %v", file, err)
			}
			if s := en.state(); len(s.temps) != 0 {
				t.Errorf("temp files left: %v", s.temps)
			}
		})
	}
}

func TestUploadIdempotentAndConflict(t *testing.T) {
	en := newEnv(t, upload.DefaultConfig())
	f := distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1")
	if rec := en.upload(f); rec.Code != http.StatusOK {
		t.Fatalf("first upload: %d %s", rec.Code, rec.Body)
	}
	before := en.state()
	t.Run("identical", func(t *testing.T) {
		rec := en.upload(f)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		en.unchanged(before)
		page := en.get("/simple/acme-util/").Body.String()
		if n := strings.Count(page, ">acme_util-0.1-py3-none-any.whl</a>"); n != 1 {
			t.Errorf("%d links to the file", n)
		}
	})
	t.Run("different bytes", func(t *testing.T) {
		_, other := indextest.Wheel(t, "acme_util", "0.1", "Summary: other bytes\n")
		rec := en.upload(twineForm("acme_util-0.1-py3-none-any.whl", other, "acme-util", "0.1"))
		if rec.Code != http.StatusConflict || !strings.HasPrefix(rec.Body.String(), "409 File already exists") {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		oneLine(t, rec)
		en.unchanged(before)
	})
}

func TestUploadAuth(t *testing.T) {
	en := newEnv(t, upload.DefaultConfig())
	ct, body := multipartBody(t, distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1").parts())
	before := en.state()
	// Missing and wrong credentials alike are 401 (auth.Authenticated).
	tests := []struct {
		name string
		auth func(r *http.Request)
		want int
	}{
		{"none", func(r *http.Request) {}, http.StatusUnauthorized},
		{"wrong password", func(r *http.Request) { r.SetBasicAuth(user, "wrong password") }, http.StatusUnauthorized},
		{"unknown user", func(r *http.Request) { r.SetBasicAuth("mallory", password) }, http.StatusUnauthorized},
		{"token user", func(r *http.Request) { r.SetBasicAuth("__token__", password) }, http.StatusUnauthorized},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, http.StatusUnauthorized},
		{"garbage basic", func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			tc.auth(req)
			rec := httptest.NewRecorder()
			en.e.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
			}
			oneLine(t, rec)
			en.unchanged(before)
		})
	}
}

// tarGz builds a .tar.gz archive of the given members.
func tarGz(t testing.TB, members map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for n, body := range members {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

// zipWheel builds a wheel-shaped zip with the given members.
func zipWheel(t testing.TB, members map[string]string) []byte { return indextest.Zip(t, members) }

func TestUploadMalformed(t *testing.T) {
	const wheel = "acme_util-0.1-py3-none-any.whl"
	base := func(t *testing.T) *form { return distForm(t, wheel, "acme-util", "0.1") }
	withContent := func(fn string, data []byte, filetype string) func(t *testing.T) *form {
		return func(t *testing.T) *form {
			f := twineForm(fn, data, "acme-util", "0.1")
			if filetype != "" {
				f.set("filetype", filetype)
			}
			return f
		}
	}
	withFilename := func(fn string) func(t *testing.T) *form {
		return func(t *testing.T) *form {
			f := base(t)
			f.content.filename = fn
			return f
		}
	}
	meta := func(name, version string) string {
		return "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	}
	wheelMembers := func(metadata string) map[string]string {
		return map[string]string{
			"acme_util-0.1.dist-info/METADATA": metadata,
			"acme_util-0.1.dist-info/WHEEL":    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
			"acme_util-0.1.dist-info/RECORD":   "",
		}
	}
	bigMeta := meta("acme-util", "0.1") + "Summary: " + strings.Repeat("a", 8<<20) + "\n"
	tests := []struct {
		name string
		form func(t *testing.T) *form
		raw  func(t *testing.T) (string, []byte) // instead of form
		want int
		// wantMsg is part of the one-line reason: it proves which check
		// refused the upload.
		wantMsg string
	}{
		{"not multipart", nil, func(t *testing.T) (string, []byte) {
			return "application/x-www-form-urlencoded", []byte(":action=file_upload&name=acme-util")
		}, 400, "Expected a multipart/form-data body with a boundary"},
		{"no content type", nil, func(t *testing.T) (string, []byte) { return "", []byte("hello") }, 400, "Expected a multipart/form-data body with a boundary"},
		{"no boundary", nil, func(t *testing.T) (string, []byte) { return "multipart/form-data", []byte("hello") }, 400, "Expected a multipart/form-data body with a boundary"},
		{"wrong boundary", nil, func(t *testing.T) (string, []byte) {
			_, b := multipartBody(t, base(t).parts())
			return "multipart/form-data; boundary=other", b
		}, 400, "Malformed multipart body: multipart: NextPart: EOF"},
		{"truncated in fields", nil, func(t *testing.T) (string, []byte) {
			ct, b := multipartBody(t, base(t).parts())
			return ct, b[:200]
		}, 400, "Malformed multipart body: malformed MIME header"},
		{"truncated in content", nil, func(t *testing.T) (string, []byte) {
			ct, b := multipartBody(t, base(t).parts())
			return ct, b[:len(b)-300]
		}, 400, "Malformed multipart body: unexpected EOF"},
		{"no closing boundary", nil, func(t *testing.T) (string, []byte) {
			ct, b := multipartBody(t, base(t).parts())
			return ct, b[:len(b)-len("--pyindex-test-boundary--\r\n")]
		}, 400, "Malformed multipart body: unexpected EOF"},
		{"empty body", nil, func(t *testing.T) (string, []byte) {
			return "multipart/form-data; boundary=pyindex-test-boundary", nil
		}, 400, "Malformed multipart body: multipart: NextPart: EOF"},
		{"missing :action", func(t *testing.T) *form { return base(t).set(":action", "") }, nil, 400, "Missing ':action' field"},
		{"unknown :action", func(t *testing.T) *form { return base(t).set(":action", "frobnicate") }, nil, 400, "Unknown action 'frobnicate'"},
		{":action submit", func(t *testing.T) *form { return base(t).set(":action", "submit") }, nil, 410, "Project pre-registration is no longer required or supported"},
		{":action doc_upload", func(t *testing.T) *form { return base(t).set(":action", "doc_upload") }, nil, 410, "Uploading documentation is not supported."},
		{"protocol version 2", func(t *testing.T) *form { return base(t).set("protocol_version", "2") }, nil, 400, "Unknown protocol version."},
		{"missing name", func(t *testing.T) *form { return base(t).set("name", "") }, nil, 400, "Missing 'name' field"},
		{"missing version", func(t *testing.T) *form { return base(t).set("version", "") }, nil, 400, "Missing 'version' field"},
		{"missing filetype", func(t *testing.T) *form { return base(t).set("filetype", "") }, nil, 400, "Missing 'filetype' field"},
		{"unknown filetype", func(t *testing.T) *form { return base(t).set("filetype", "bdist_egg") }, nil, 400, "Invalid value for filetype: 'bdist_egg'"},
		{"missing content", nil, func(t *testing.T) (string, []byte) { return multipartBody(t, base(t).fields) }, 400, "Upload payload does not have a file"},
		{"content without filename", func(t *testing.T) *form {
			f := base(t)
			f.content.filename = ""
			return f
		}, nil, 400, "Upload payload does not have a file"},
		{"content twice", nil, func(t *testing.T) (string, []byte) {
			f := base(t)
			return multipartBody(t, append(f.parts(), f.content))
		}, 400, "The 'content' field was sent twice"},
		{"missing digest", func(t *testing.T) *form { return base(t).set("sha256_digest", "").set("blake2_256_digest", "") }, nil, 400, "Include at least one message digest"},
		{"md5 mismatch", func(t *testing.T) *form { return base(t).set("md5_digest", strings.Repeat("0", 32)) }, nil, 400, "does not match a digest calculated from the uploaded file (md5_digest)"},
		{"sha256 mismatch", func(t *testing.T) *form { return base(t).set("sha256_digest", strings.Repeat("0", 64)) }, nil, 400, "does not match a digest calculated from the uploaded file (sha256_digest)"},
		{"blake2 mismatch", func(t *testing.T) *form { return base(t).set("blake2_256_digest", strings.Repeat("0", 64)) }, nil, 400, "does not match a digest calculated from the uploaded file (blake2_256_digest)"},
		{"digest not hex", func(t *testing.T) *form { return base(t).set("sha256_digest", "zz") }, nil, 400, "does not match a digest calculated from the uploaded file (sha256_digest)"},
		{"invalid name", func(t *testing.T) *form { return base(t).set("name", "-acme-") }, nil, 400, "'-acme-' is an invalid value for Name"},
		{"invalid version", func(t *testing.T) *form { return base(t).set("version", "0.1-foo-bar") }, nil, 400, "'0.1-foo-bar' is an invalid value for Version"},
		{"form name differs from filename", func(t *testing.T) *form { return base(t).set("name", "acme-core") }, nil, 400, "does not match the form: filename is for project \"acme-util\", not \"acme-core\""},
		{"form version differs from filename", func(t *testing.T) *form { return base(t).set("version", "0.2") }, nil, 400, "does not match the form: version in filename is \"0.1\", not \"0.2\""},
		{"metadata name differs", withContent(wheel, zipWheel(t, wheelMembers(meta("acme-other", "0.1"))), ""), nil, 400, "The name in the file's metadata ('acme-other')"},
		{"metadata version differs", withContent(wheel, zipWheel(t, wheelMembers(meta("acme-util", "0.2"))), ""), nil, 400, "The version in the file's metadata ('0.2')"},
		{"bad requires-python", withContent(wheel, zipWheel(t, wheelMembers(meta("acme-util", "0.1")+"Requires-Python: >=>3\n")), ""), nil, 400, "Invalid Requires-Python '>=>3'"},
		{"filename with slash", withFilename("x/" + wheel), nil, 400, "contains a path separator"},
		{"filename with backslash", withFilename(`x\` + wheel), nil, 400, "contains a path separator"},
		{"filename with dotdot", withFilename("../" + wheel), nil, 400, "contains a path separator"},
		{"filename only dotdot", withFilename(".."), nil, 400, "Invalid filename '..': filename \"..\" starts with '.'"},
		{"filename with NUL", withFilename("acme_util-0.1-py3-none-any.whl\x00.whl"), nil, 400, "Malformed multipart body: malformed MIME header line"},
		{"filename with newline", withFilename("acme_util-0.1-py3-none-any\n.whl"), nil, 400, "Malformed multipart body: malformed MIME header: missing colon"},
		{"filename with control char", withFilename("acme_util-0.1-py3-none\x01-any.whl"), nil, 400, "Malformed multipart body: malformed MIME header line"},
		{"filename too long", withFilename("acme_util-0.1-py3-none-" + strings.Repeat("a", 300) + ".whl"), nil, 400, "filename is longer than 255 bytes"},
		{"wrong extension", withFilename("acme_util-0.1-py3-none-any.egg"), nil, 400, "Invalid filename 'acme_util-0.1-py3-none-any.egg': Invalid file extension"},
		{"tar.bz2", withFilename("acme_util-0.1.tar.bz2"), nil, 400, "Invalid filename 'acme_util-0.1.tar.bz2': Invalid file extension"},
		{"sdist with filetype bdist_wheel", func(t *testing.T) *form {
			f := distForm(t, "acme_util-0.1.tar.gz", "acme-util", "0.1")
			return f.set("filetype", "bdist_wheel")
		}, nil, 400, "Invalid file extension: .tar.gz is not valid for filetype bdist_wheel"},
		{"wheel with filetype sdist", func(t *testing.T) *form { return base(t).set("filetype", "sdist") }, nil, 400, "Invalid file extension: .whl is not valid for filetype sdist"},
		{"not an archive", withContent(wheel, []byte("this is not a zip file at all"), ""), nil, 400, "Invalid distribution file: not a zip archive"},
		{"sdist not gzip", withContent("acme_util-0.1.tar.gz", []byte("plain text"), ""), nil, 400, "Invalid distribution file: not a gzip file"},
		{"empty file", withContent(wheel, []byte{}, ""), nil, 400, "Invalid distribution file: not a zip archive"},
		{"wheel without METADATA", withContent(wheel, zipWheel(t, map[string]string{
			"acme_util-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\n", "acme_util/__init__.py": "",
		}), ""), nil, 400, "Invalid distribution file: wheel has no METADATA file"},
		{"control chars in member names", withContent("acme_util-0.1.tar.gz", tarGz(t, map[string]string{
			"acme_util-0.1\n\x1b[31mevil/PKG-INFO": "Metadata-Version: 2.1\nName: acme-util\n",
		}), ""), nil, 400, "evil/PKG-INFO: missing Version field"},
		{"wheel without WHEEL", withContent(wheel, zipWheel(t, map[string]string{
			"acme_util-0.1.dist-info/METADATA": meta("acme-util", "0.1"),
		}), ""), nil, 400, "Invalid distribution file: wheel has no WHEEL file"},
		{"zip bomb METADATA", withContent(wheel, zipWheel(t, wheelMembers(bigMeta)), ""), nil, 400, "METADATA is larger than 64 KiB"},
		{"repeated name", func(t *testing.T) *form {
			f := base(t)
			f.fields = append(f.fields, field("name", "acme-util"))
			return f
		}, nil, 400, "'name' has invalid data: sent more than once"},
		{"repeated version", func(t *testing.T) *form {
			f := base(t)
			f.fields = append(f.fields, field("version", "0.2"))
			return f
		}, nil, 400, "'version' has invalid data: sent more than once"},
		{"repeated digest", func(t *testing.T) *form {
			f := base(t)
			f.fields = append(f.fields, field("sha256_digest", strings.Repeat("0", 64)))
			return f
		}, nil, 400, "'sha256_digest' has invalid data: sent more than once"},
		{"oversize form fields", func(t *testing.T) *form {
			return base(t).set("description", strings.Repeat("d", 200<<10))
		}, nil, 413, "The form fields exceed 64KiB"},
		{"oversize file", withContent(wheel, bytes.Repeat([]byte("x"), 300<<10), ""), nil, 413, "File too large: the limit is 256KiB"},
	}
	cfg := upload.Config{MaxFileSize: 256 << 10, MaxMetadataSize: 64 << 10}
	en := newEnv(t, cfg)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en.t = t
			before := en.state()
			var rec *httptest.ResponseRecorder
			if tc.raw != nil {
				ct, body := tc.raw(t)
				rec = en.post(request{ctype: ct, body: body, auth: true})
			} else {
				rec = en.upload(tc.form(t))
			}
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.wantMsg == "" || !strings.Contains(rec.Body.String(), tc.wantMsg) {
				t.Errorf("body %q does not give the reason %q", rec.Body, tc.wantMsg)
			}
			oneLine(t, rec)
			en.unchanged(before)
		})
	}
	en.t = t
	if names, _, _ := en.cat.ProjectNames(context.Background()); len(names) != 0 {
		t.Errorf("projects were created: %v", names)
	}
}

// failReader fails the test if the handler reads the body.
type failReader struct{ read bool }

func (r *failReader) Read(p []byte) (int, error) {
	r.read = true
	return 0, io.ErrUnexpectedEOF
}

func TestUploadDeclaredTooLarge(t *testing.T) {
	en := newEnv(t, upload.Config{MaxFileSize: 1 << 20, MaxMetadataSize: 64 << 10})
	before := en.state()
	body := &failReader{}
	req := httptest.NewRequest(http.MethodPost, "/legacy/", body)
	req.ContentLength = 1 << 40
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.SetBasicAuth(user, password)
	rec := httptest.NewRecorder()
	en.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413: %s", rec.Code, rec.Body)
	}
	if body.read {
		t.Errorf("the body was read")
	}
	oneLine(t, rec)
	en.unchanged(before)
}

func TestUploadJSONError(t *testing.T) {
	en := newEnv(t, upload.DefaultConfig())
	ct, body := multipartBody(t, distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1").set(":action", "submit").parts())
	rec := en.post(request{ctype: ct, body: body, auth: true, accept: "application/json;q=0.9, text/plain;q=0.8, text/html;q=0.7"})
	if rec.Code != http.StatusGone {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (uv shows code only then)", ct)
	}
	var m map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if !strings.HasPrefix(m["code"], "410 Project pre-registration") || !strings.HasPrefix(m["message"], "Project pre-registration") {
		t.Errorf("body = %v", m)
	}
	// A client preferring text gets text.
	rec = en.post(request{ctype: ct, body: body, auth: true, accept: "text/plain, application/json;q=0.5"})
	oneLine(t, rec)
}

func TestUploadConcurrent(t *testing.T) {
	t.Run("distinct files", func(t *testing.T) {
		en := newEnv(t, upload.DefaultConfig())
		var wg sync.WaitGroup
		codes := make([]int, 20)
		for i := range 20 {
			fn, data := indextest.Wheel(t, "acme_util", fmt.Sprintf("1.%d", i), "")
			ct, body := multipartBody(t, twineForm(fn, data, "acme-util", fmt.Sprintf("1.%d", i)).parts())
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
				req.Header.Set("Content-Type", ct)
				req.SetBasicAuth(user, password)
				rec := httptest.NewRecorder()
				en.e.ServeHTTP(rec, req)
				codes[i] = rec.Code
			}()
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusOK {
				t.Errorf("upload %d: status %d", i, c)
			}
		}
		var page struct{ Files []any }
		req := httptest.NewRequest(http.MethodGet, "/simple/acme-util/", nil)
		req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, req)
		json.Unmarshal(rec.Body.Bytes(), &page)
		if len(page.Files) != 20 {
			t.Errorf("%d files on the page, want 20", len(page.Files))
		}
		if s := en.state(); len(s.blobs) != 40 || len(s.temps) != 0 {
			t.Errorf("%d blobs (want 20 files + 20 metadata), temps %v", len(s.blobs), s.temps)
		}
	})
	t.Run("same filename different bytes", func(t *testing.T) {
		for round := range 5 {
			en := newEnv(t, upload.DefaultConfig())
			fn, a := indextest.Wheel(t, "acme_util", "1.0", "Summary: a\n")
			_, b := indextest.Wheel(t, "acme_util", "1.0", "Summary: b\n")
			datas := [][]byte{a, b}
			codes := make([]int, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 2 {
				ct, body := multipartBody(t, twineForm(fn, datas[i], "acme-util", "1.0").parts())
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
					req.Header.Set("Content-Type", ct)
					req.SetBasicAuth(user, password)
					rec := httptest.NewRecorder()
					<-start
					en.e.ServeHTTP(rec, req)
					codes[i] = rec.Code
				}()
			}
			close(start)
			wg.Wait()
			winner := -1
			switch {
			case codes[0] == 200 && codes[1] == 409:
				winner = 0
			case codes[0] == 409 && codes[1] == 200:
				winner = 1
			default:
				t.Fatalf("round %d: statuses %v, want one 200 and one 409", round, codes)
			}
			f, err := en.cat.File(context.Background(), fn)
			if err != nil || f.SHA256 != indextest.Sum(datas[winner]).SHA256 {
				t.Fatalf("round %d: catalog holds %+v, %v; want the winner's bytes", round, f, err)
			}
			s := en.state()
			want := []string{f.BlobKey, f.MetadataKey}
			if len(s.blobs) != 2 || !contains(s.blobs, want[0]) || !contains(s.blobs, want[1]) {
				t.Errorf("round %d: store holds %v, want exactly %v (no orphan of the loser)", round, s.blobs, want)
			}
			if len(s.temps) != 0 {
				t.Errorf("round %d: temp files left: %v", round, s.temps)
			}
		}
	})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
