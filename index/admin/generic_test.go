package admin_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

// genericEnv is adminEnv with the generic API registered too.
func newGenericAPIEnv(t *testing.T) (*adminEnv, *prometheus.Registry) {
	t.Helper()
	en := newAdminEnv(t)
	authSvc, err := auth.New(auth.DefaultConfig(), auth.Deps{Catalog: en.cat, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	api, err := admin.NewGenericAPI(admin.Deps{Catalog: en.cat, Store: en.store, Auth: authSvc, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	api.Register(en.e.Group(""))
	return en, reg
}

// seedGeneric stores body and records it as a generic file uploaded by
// user (an owner when first).
func (en *adminEnv) seedGeneric(user, name, version, filename, body string) index.GenericFile {
	en.t.Helper()
	ctx := context.Background()
	key, sum, err := storage.PutContent(ctx, en.store, []byte(body))
	if err != nil {
		en.t.Fatal(err)
	}
	u, err := en.cat.GetUser(ctx, user)
	if err != nil {
		en.t.Fatal(err)
	}
	f, _, err := en.cat.AddGenericFile(ctx, index.NewGenericFile{Name: name, Version: version, Filename: filename,
		Size: int64(len(body)), SHA256: sum, BlobKey: key, UploadedBy: user, UploaderID: u.ID})
	if err != nil {
		en.t.Fatal(err)
	}
	return f
}

func TestGenericAPIBrowse(t *testing.T) {
	en, _ := newGenericAPIEnv(t)
	en.seedGeneric("dev", "MyApp", "1.9", "myapp.zip", "1.9")
	en.clock.set(en.clock.now().Add(time.Hour))
	en.seedGeneric("dev", "myapp", "1.10", "myapp.zip", "1.10")
	en.seedGeneric("dev", "myapp", "1.10", "notes.txt", "notes")
	en.seedGeneric("root", "vendor-dlls", "2.0rc1", "dlls.zip", "dlls")

	var list struct {
		Packages []index.GenericPackage `json:"packages"`
	}
	if rec := en.call(http.MethodGet, "/api/v1/generic", "", nil, &list); rec.Code != http.StatusOK {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if len(list.Packages) != 2 || list.Packages[0].Name != "myapp" || list.Packages[0].DisplayName != "MyApp" ||
		list.Packages[0].Latest != "1.10" || list.Packages[0].Files != 3 || list.Packages[1].Latest != "2.0rc1" {
		t.Errorf("list: %+v", list.Packages)
	}
	var detail struct {
		Package  index.GenericPackage `json:"package"`
		Owners   []string             `json:"owners"`
		Versions []struct {
			Version string `json:"version"`
			Size    int64  `json:"size"`
			Files   []struct {
				Filename   string    `json:"filename"`
				Size       int64     `json:"size"`
				SHA256     string    `json:"sha256"`
				UploadTime time.Time `json:"upload_time"`
				UploadedBy string    `json:"uploaded_by"`
			} `json:"files"`
		} `json:"versions"`
	}
	if rec := en.call(http.MethodGet, "/api/v1/generic/MyApp", "", nil, &detail); rec.Code != http.StatusOK {
		t.Fatalf("detail: %d %s", rec.Code, rec.Body)
	}
	if len(detail.Versions) != 2 || detail.Versions[0].Version != "1.10" || len(detail.Versions[0].Files) != 2 ||
		detail.Versions[0].Files[0].Filename != "myapp.zip" || detail.Versions[0].Files[0].UploadedBy != "dev" ||
		detail.Versions[0].Files[0].SHA256 == "" || detail.Versions[0].Files[0].UploadTime.IsZero() || detail.Versions[0].Size != 9 ||
		strings.Join(detail.Owners, ",") != "dev" {
		t.Errorf("detail: %+v", detail)
	}
	for _, path := range []string{"/api/v1/generic/nope", "/api/v1/generic/-x-"} {
		if rec := en.call(http.MethodGet, path, "", nil, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, rec.Code)
		} else {
			errorBody(t, rec)
		}
	}
}

func TestGenericAPIDelete(t *testing.T) {
	en, reg := newGenericAPIEnv(t)
	a := en.seedGeneric("dev", "myapp", "1.0", "a.zip", "shared bytes")
	en.seedGeneric("dev", "myapp", "1.0", "b.zip", "b")
	en.seedGeneric("dev", "myapp", "2.0", "a.zip", "shared bytes")
	en.seedGeneric("dev", "myapp", "3.0", "c.zip", "c")
	_, readTok, _ := en.cat.CreateToken(context.Background(), index.NewToken{User: "dev", Scope: index.ScopeRead}, "test")
	if _, err := en.cat.AddUser(context.Background(), "eve", "eve-password-1", false, "test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		auth string
		code int
	}{
		{"", http.StatusUnauthorized},
		{basic("__token__", readTok), http.StatusForbidden},
		{basic("eve", "eve-password-1"), http.StatusForbidden},
	} {
		rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/1.0/b.zip", tc.auth, nil, nil)
		if rec.Code != tc.code {
			t.Errorf("DELETE as %q: %d %s, want %d", tc.auth, rec.Code, rec.Body, tc.code)
		}
	}
	var d struct {
		Files []index.GenericFile `json:"files"`
		Bytes int64               `json:"bytes"`
		Freed int64               `json:"freed"`
	}
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/1.0/b.zip", en.devAuth, nil, &d); rec.Code != http.StatusOK || len(d.Files) != 1 || d.Freed != 1 {
		t.Fatalf("owner's delete: %d %s", rec.Code, rec.Body)
	}
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/1.0/b.zip", en.devAuth, nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("again: %d", rec.Code)
	}
	// 1.0's a.zip shares its bytes with 2.0's: the blob stays.
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/1.0", en.rootAuth, nil, &d); rec.Code != http.StatusOK || len(d.Files) != 1 || d.Freed != 0 {
		t.Fatalf("admin's version delete: %d %s", rec.Code, rec.Body)
	}
	if !en.exists(a.BlobKey) {
		t.Error("a shared blob was deleted")
	}
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/2.0", en.devAuth, nil, &d); rec.Code != http.StatusOK || d.Freed != int64(len("shared bytes")) {
		t.Fatalf("last user of the blob: %d %s", rec.Code, rec.Body)
	}
	if en.exists(a.BlobKey) {
		t.Error("an unshared blob stayed")
	}
	for _, path := range []string{"/api/v1/generic/myapp/9.0", "/api/v1/generic/nope/1.0", "/api/v1/generic/myapp/x.y.z/c.zip", "/api/v1/generic/-x/1.0"} {
		if rec := en.call(http.MethodDelete, path, en.rootAuth, nil, nil); rec.Code != http.StatusNotFound {
			t.Errorf("DELETE %s: %d", path, rec.Code)
		}
	}
	events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Action: index.AuditGenericDelete})
	if len(events) != 3 || events[2].Actor != "dev" || events[2].Filename != "b.zip" || events[2].RemoteAddr != "192.0.2.7" || events[1].Actor != "root" {
		t.Errorf("audit: %+v", events)
	}
	if n := testutil.ToFloat64(counter(t, reg, "delete")); n != 3 {
		t.Errorf("pyindex_generic_deleted_files_total{via=delete} = %v", n)
	}
}

// counter returns the deleted-files counter of via on reg.
func counter(t *testing.T, reg *prometheus.Registry, via string) prometheus.Collector {
	t.Helper()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pyindex", Subsystem: "generic", Name: "deleted_files_total",
		Help: "Generic files deleted, by how: delete (the API) or prune (the prune API and scheduled retention)."}, []string{"via"})
	return storage.Register(reg, c).WithLabelValues(via)
}

func TestGenericAPIPrune(t *testing.T) {
	en, _ := newGenericAPIEnv(t)
	start := en.clock.now()
	for i, v := range []string{"1.0", "1.1.dev1", "1.1.dev2", "1.1.dev3", "1.1"} {
		en.clock.set(start.Add(time.Duration(i) * time.Hour))
		en.seedGeneric("dev", "myapp", v, "myapp.zip", "app "+v)
	}
	var res struct {
		Versions []index.PrunedGenericVersion `json:"versions"`
		Files    []index.GenericFile          `json:"files"`
		DryRun   bool                         `json:"dry_run"`
		Freed    *int64                       `json:"freed"`
	}
	body := map[string]any{"keep": 1, "dry_run": true}
	if rec := en.call(http.MethodPost, "/api/v1/generic/prune", en.devAuth, body, nil); rec.Code != http.StatusForbidden {
		t.Errorf("a user's prune: %d", rec.Code)
	}
	if rec := en.call(http.MethodPost, "/api/v1/generic/prune", en.rootAuth, body, &res); rec.Code != http.StatusOK ||
		len(res.Versions) != 2 || !res.DryRun || res.Freed != nil || res.Versions[0].Version != "1.1.dev1" {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
	}
	if _, _, err := en.cat.GenericVersions(context.Background(), "myapp"); err != nil {
		t.Fatal(err)
	}
	body = map[string]any{"keep": 2, "all": true, "names": []string{"MyApp"}}
	if rec := en.call(http.MethodPost, "/api/v1/generic/prune", en.adminTokenAuth, body, &res); rec.Code != http.StatusOK ||
		len(res.Versions) != 3 || res.DryRun || res.Freed == nil || *res.Freed == 0 {
		t.Fatalf("prune: %d %s", rec.Code, rec.Body)
	}
	_, versions, _ := en.cat.GenericVersions(context.Background(), "myapp")
	if len(versions) != 2 || versions[0].Version != "1.1" || versions[1].Version != "1.1.dev3" {
		t.Errorf("left: %+v", versions)
	}
	for _, bad := range []map[string]any{{}, {"keep": -1}, {"older_than": "soon"}, {"keep": 1, "names": []string{"-x"}}, {"keep": 1, "bogus": 1}} {
		if rec := en.call(http.MethodPost, "/api/v1/generic/prune", en.rootAuth, bad, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("prune %v: %d %s", bad, rec.Code, rec.Body)
		}
	}
}

func TestGenericRetention(t *testing.T) {
	en := newAdminEnv(t)
	start := en.clock.now()
	for i, v := range []string{"1.0", "1.1.dev1", "1.1.dev2"} {
		en.clock.set(start.Add(time.Duration(i) * time.Hour))
		en.seedGeneric("dev", "myapp", v, "myapp.zip", "app "+v)
	}
	cfg := admin.DefaultRetentionConfig()
	cfg.Interval = time.Minute
	cfg.Generic = admin.GenericRetentionConfig{Enabled: true, Keep: 1}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("generic retention alone: %v", err)
	}
	reg := prometheus.NewRegistry()
	r, err := admin.NewRetention(cfg, admin.Deps{Catalog: en.cat, Store: en.store, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.RunOnce(context.Background()); err != nil || len(res.Releases) != 0 {
		t.Errorf("package retention is off, yet: %+v %v", res, err)
	}
	res, err := r.RunGenericOnce(context.Background())
	if err != nil || len(res.Versions) != 1 || res.Versions[0].Version != "1.1.dev1" || res.Freed == 0 {
		t.Fatalf("generic retention: %+v %v", res, err)
	}
	events, _ := en.cat.AuditEvents(context.Background(), index.AuditQuery{Actor: admin.RetentionActor, Action: index.AuditGenericDelete})
	if len(events) != 1 {
		t.Errorf("audit: %+v", events)
	}
	if n := testutil.ToFloat64(counter(t, reg, "prune")); n != 1 {
		t.Errorf("pyindex_generic_deleted_files_total{via=prune} = %v", n)
	}
	for _, bad := range []admin.RetentionConfig{
		{Interval: time.Hour, Generic: admin.GenericRetentionConfig{Enabled: true}},
		{Interval: time.Second, Generic: admin.GenericRetentionConfig{Enabled: true, Keep: 1}},
		{Interval: time.Hour, Generic: admin.GenericRetentionConfig{Enabled: true, Keep: 1, Names: []string{"-x"}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validates", bad)
		}
	}
}

// TestGenericFsckBackup: fsck checks generic files (a missing one is found
// and its row removed on repair; a shared blob is no orphan), and a backup
// restores them with their bytes.
func TestGenericFsckBackup(t *testing.T) {
	ctx := context.Background()
	en := newAdminEnv(t)
	a := en.seedGeneric("dev", "myapp", "1.0", "a.zip", "a bytes")
	b := en.seedGeneric("dev", "myapp", "1.1", "b.zip", "b bytes")

	out := t.TempDir() + "/backup.tar"
	res, err := admin.Backup(ctx, admin.BackupConfig{Out: out, Version: "test", Backend: "fs"}, en.cat, en.store)
	if err != nil || res.Manifest.Blobs != 2 || len(res.Missing) != 0 {
		t.Fatalf("backup: %+v %v", res, err)
	}
	data := t.TempDir()
	to := indextest.Store(t)
	if _, err := admin.Restore(ctx, admin.RestoreConfig{In: out, CatalogPath: data + "/catalog.db"}, to, nil); err != nil {
		t.Fatal(err)
	}
	restored := indextest.OpenSQLite(t, data+"/catalog.db") // a restore always writes SQLite
	if f, err := restored.GenericFile(ctx, "myapp", "1.0", "a.zip"); err != nil || f.SHA256 != a.SHA256 {
		t.Errorf("restored row: %+v %v", f, err)
	}
	if n, err := admin.MissingBlobs(ctx, restored, to); err != nil || n != 0 {
		t.Errorf("missing after restore: %d %v", n, err)
	}

	rep, err := admin.Fsck(ctx, en.cat, en.store, admin.FsckOptions{VerifyHashes: true, Jobs: 1}, time.Now())
	if err != nil || len(rep.Problems) != 0 || rep.References != 2 {
		t.Fatalf("a clean fsck: %+v %v", rep, err)
	}
	if err := en.store.Delete(ctx, b.BlobKey); err != nil {
		t.Fatal(err)
	}
	rep, err = admin.Fsck(ctx, en.cat, en.store, admin.FsckOptions{Repair: true, Jobs: 1, Actor: index.Actor{Name: "fsck"}}, time.Now())
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Problem != admin.ProblemMissing || !rep.Problems[0].Repaired ||
		rep.Problems[0].Refs[0].Kind != index.BlobGeneric {
		t.Fatalf("fsck of a missing generic blob: %+v %v", rep, err)
	}
	if _, err := en.cat.GenericFile(ctx, "myapp", "1.1", "b.zip"); err == nil {
		t.Error("the row of the missing file stayed")
	}
	if !en.exists(a.BlobKey) {
		t.Error("fsck removed a referenced generic blob")
	}
}

func TestGenericAPIOwners(t *testing.T) {
	en, _ := newGenericAPIEnv(t)
	en.seedGeneric("dev", "myapp", "1.0", "a.zip", "a")
	if _, err := en.cat.AddUser(context.Background(), "eve", "eve-password-1", false, "test"); err != nil {
		t.Fatal(err)
	}
	eve := basic("eve", "eve-password-1")
	if rec := en.call(http.MethodPut, "/api/v1/generic/myapp/owners/eve", eve, nil, nil); rec.Code != http.StatusForbidden {
		t.Errorf("eve makes herself an owner: %d", rec.Code)
	}
	if rec := en.call(http.MethodPut, "/api/v1/generic/MyApp/owners/eve", en.devAuth, nil, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("the owner adds eve: %d %s", rec.Code, rec.Body)
	}
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/1.0/a.zip", eve, nil, nil); rec.Code != http.StatusOK {
		t.Errorf("eve, now an owner, deletes: %d %s", rec.Code, rec.Body)
	}
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/owners/dev", en.rootAuth, nil, nil); rec.Code != http.StatusNoContent {
		t.Errorf("an admin removes dev: %d %s", rec.Code, rec.Body)
	}
	if rec := en.call(http.MethodDelete, "/api/v1/generic/myapp/owners/eve", eve, nil, nil); rec.Code != http.StatusBadRequest {
		t.Errorf("the last owner removed: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/api/v1/generic/myapp/owners/nobody", "/api/v1/generic/nope/owners/eve"} {
		if rec := en.call(http.MethodPut, path, en.rootAuth, nil, nil); rec.Code != http.StatusNotFound {
			t.Errorf("PUT %s: %d", path, rec.Code)
		}
	}
	var detail struct {
		Owners []string `json:"owners"`
	}
	en.call(http.MethodGet, "/api/v1/generic/myapp", "", nil, &detail)
	if strings.Join(detail.Owners, ",") != "eve" {
		t.Errorf("owners: %v", detail.Owners)
	}
}
