package index_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

// genericEnv is a catalog with two users for the generic files' tests.
type genericEnv struct {
	cat        *index.Catalog
	alice, bob index.Principal
	now        time.Time
}

func newGenericEnv(t *testing.T) *genericEnv {
	t.Helper()
	ctx := context.Background()
	en := &genericEnv{cat: indextest.Catalog(t), now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	en.cat.SetClock(func() time.Time { return en.now })
	for _, name := range []string{"alice", "bob"} {
		u, err := en.cat.AddUser(ctx, name, name+"-password-1", false, "test")
		if err != nil {
			t.Fatal(err)
		}
		p := index.Principal{User: u.Name, UserID: u.ID, Scope: index.ScopeUpload}
		if name == "alice" {
			en.alice = p
		} else {
			en.bob = p
		}
	}
	return en
}

// add records a generic file whose content is body as p.
func (en *genericEnv) add(t *testing.T, p index.Principal, name, version, filename, body string) (index.GenericFile, bool, error) {
	t.Helper()
	sum := indextest.Sum([]byte(body)).SHA256
	return en.cat.AddGenericFile(context.Background(), index.NewGenericFile{Name: name, Version: version, Filename: filename,
		Size: int64(len(body)), SHA256: sum, BlobKey: storage.Key(sum), UploadedBy: p.User, UploaderID: p.UserID,
		AnyName: p.Admin || len(p.Projects) > 0, RemoteAddr: "192.0.2.1"})
}

func (en *genericEnv) mustAdd(t *testing.T, p index.Principal, name, version, filename, body string) index.GenericFile {
	t.Helper()
	f, _, err := en.add(t, p, name, version, filename, body)
	if err != nil {
		t.Fatalf("add %s %s %s: %v", name, version, filename, err)
	}
	return f
}

func TestAddGenericFile(t *testing.T) {
	ctx := context.Background()
	en := newGenericEnv(t)
	f := en.mustAdd(t, en.alice, "Vendor_DLLs", "v1.4", "vendor-dlls-1.4.zip", "one")
	if f.Name != "vendor-dlls" || f.Version != "1.4" || f.Size != 3 || f.UploadedBy != "alice" {
		t.Fatalf("recorded %+v", f)
	}
	serial, _ := en.cat.Serial(ctx)

	t.Run("identical", func(t *testing.T) {
		got, existed, err := en.add(t, en.alice, "vendor-dlls", "1.4.0", "vendor-dlls-1.4.zip", "one")
		if err != nil || !existed || got.ID != f.ID {
			t.Fatalf("= %+v %v %v, want the recorded file", got, existed, err)
		}
		if s, _ := en.cat.Serial(ctx); s != serial {
			t.Errorf("serial moved %d -> %d", serial, s)
		}
	})
	t.Run("other bytes", func(t *testing.T) {
		_, _, err := en.add(t, en.alice, "vendor-dlls", "1.4", "vendor-dlls-1.4.zip", "two")
		if !errors.Is(err, index.ErrExists) {
			t.Fatalf("err = %v, want ErrExists", err)
		}
		got, _ := en.cat.GenericFile(ctx, "vendor-dlls", "1.4", "vendor-dlls-1.4.zip")
		if got.SHA256 != f.SHA256 {
			t.Error("the file was replaced")
		}
		if s, _ := en.cat.Serial(ctx); s != serial {
			t.Errorf("serial moved %d -> %d", serial, s)
		}
	})
	t.Run("another user", func(t *testing.T) {
		if _, _, err := en.add(t, en.bob, "vendor-dlls", "1.5", "x.zip", "b"); !errors.Is(err, index.ErrForbidden) {
			t.Fatalf("bob uploaded to alice's package: %v", err)
		}
		if err := en.cat.AuthorizeGeneric(ctx, en.bob, "vendor-dlls"); !errors.Is(err, index.ErrForbidden) {
			t.Errorf("AuthorizeGeneric(bob) = %v", err)
		}
		if err := en.cat.AuthorizeGeneric(ctx, en.bob, "Vendor.DLLs"); !errors.Is(err, index.ErrForbidden) {
			t.Errorf("AuthorizeGeneric(bob, another spelling) = %v", err)
		}
		if err := en.cat.AuthorizeGeneric(ctx, en.alice, "vendor-dlls"); err != nil {
			t.Errorf("AuthorizeGeneric(alice) = %v", err)
		}
		admin := en.bob
		admin.Admin, admin.Scope = true, index.ScopeAdmin
		en.mustAdd(t, admin, "vendor-dlls", "1.5", "x.zip", "b")
		owners, _ := en.cat.GenericOwners(ctx, "vendor-dlls")
		if fmt.Sprint(owners) != "[alice]" {
			t.Errorf("owners = %v", owners)
		}
	})
	t.Run("token limits", func(t *testing.T) {
		limited := en.bob
		limited.Projects = []string{"other"}
		if err := en.cat.AuthorizeGeneric(ctx, limited, "vendor-dlls"); !errors.Is(err, index.ErrForbidden) {
			t.Errorf("a token limited to other may upload to vendor-dlls: %v", err)
		}
		limited.Projects = []string{"vendor-dlls"}
		if err := en.cat.AuthorizeGeneric(ctx, limited, "vendor-dlls"); err != nil {
			t.Errorf("a token limited to vendor-dlls may not upload there: %v", err)
		}
	})
	t.Run("own namespace", func(t *testing.T) {
		// alice owns generic vendor-dlls; the project of that name is free.
		if err := en.cat.AuthorizeUpload(ctx, en.bob, "vendor-dlls"); err != nil {
			t.Errorf("project vendor-dlls is not free: %v", err)
		}
		if _, err := en.cat.Project(ctx, "vendor-dlls"); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("a generic upload made a project: %v", err)
		}
	})
	for _, bad := range []struct{ name, version, file string }{
		{"-x", "1.0", "a.zip"}, {"x", "latest", "a.zip"}, {"x", "1.0", "../a.zip"}, {"x", "1.0", ".hidden"},
		{"x", "1.0", "a/b"}, {"x", "1.0", `a\b`}, {"x", "1.0", "a\x00b"}, {"x", "1.0", strings.Repeat("a", 256)},
	} {
		if _, _, err := en.add(t, en.alice, bad.name, bad.version, bad.file, "z"); !errors.Is(err, index.ErrInvalid) {
			t.Errorf("add %q %q %q: %v, want ErrInvalid", bad.name, bad.version, bad.file, err)
		}
	}
	events, _ := en.cat.AuditEvents(ctx, index.AuditQuery{Action: index.AuditGenericUpload})
	if len(events) != 2 || events[1].Project != "vendor-dlls" || events[1].Version != "1.4" || events[1].Filename != "vendor-dlls-1.4.zip" ||
		events[1].Actor != "alice" || events[1].RemoteAddr != "192.0.2.1" {
		t.Errorf("audit: %+v", events)
	}
	if ref, _ := en.cat.BlobReferenced(ctx, f.BlobKey); !ref {
		t.Error("BlobReferenced does not see a generic file's blob")
	}
}

func TestCheckGenericFilename(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"myapp-1.4.zip", true}, {"vendor dlls (x64).zip", true}, {"ünïcode.tar.gz", true}, {strings.Repeat("a", 255), true},
		{"", false}, {".", false}, {"..", false}, {".env", false}, {"a..b", false}, {"a/b", false}, {`a\b`, false},
		{"a\x00", false}, {"a\nb", false}, {"a\x7f", false}, {"a\u0085", false}, {"\xff\xfe", false}, {strings.Repeat("a", 256), false},
	} {
		if err := index.CheckGenericFilename(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckGenericFilename(%q) = %v", tc.name, err)
		}
	}
}

func TestLatestGenericFile(t *testing.T) {
	ctx := context.Background()
	en := newGenericEnv(t)
	for _, v := range []string{"1.0", "1.10", "1.9", "2.0rc1", "2.0.dev3", "1.10.post1"} {
		en.mustAdd(t, en.alice, "myapp", v, "myapp.zip", "app "+v)
	}
	en.mustAdd(t, en.alice, "myapp", "3.0a1", "only-pre.zip", "pre")
	en.mustAdd(t, en.alice, "myapp", "0.1", "old.zip", "old")
	for _, tc := range []struct {
		file string
		pre  bool
		want string
	}{
		{"myapp.zip", false, "1.10.post1"}, // by PEP 440, not string order; post-releases are final
		{"myapp.zip", true, "2.0rc1"},
		{"only-pre.zip", false, "3.0a1"}, // no final has it
		{"old.zip", false, "0.1"},        // the newest version with that file
	} {
		f, err := en.cat.LatestGenericFile(ctx, "MyApp", tc.file, tc.pre)
		if err != nil || f.Version != tc.want || f.Filename != tc.file {
			t.Errorf("latest %s pre=%v = %s %v, want %s", tc.file, tc.pre, f.Version, err, tc.want)
		}
	}
	if _, err := en.cat.LatestGenericFile(ctx, "myapp", "nope.zip", true); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := en.cat.LatestGenericFile(ctx, "-bad", "myapp.zip", true); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("a bad name: %v", err)
	}

	g, versions, err := en.cat.GenericVersions(ctx, "myapp")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range versions {
		got = append(got, v.Version)
	}
	if strings.Join(got, " ") != "3.0a1 2.0rc1 2.0.dev3 1.10.post1 1.10 1.9 1.0 0.1" {
		t.Errorf("versions newest first: %v", got)
	}
	if g.Latest != "1.10.post1" || g.Versions != 8 || g.Files != 8 || g.LastUpload == nil {
		t.Errorf("package: %+v", g)
	}
	pkgs, err := en.cat.GenericPackages(ctx)
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "myapp" || pkgs[0].Latest != "1.10.post1" || pkgs[0].Versions != 8 || pkgs[0].Files != 8 {
		t.Errorf("packages: %+v %v", pkgs, err)
	}
	if _, _, err := en.cat.GenericVersions(ctx, "nope"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("unknown package: %v", err)
	}
}

func TestDeleteGenericRows(t *testing.T) {
	ctx := context.Background()
	en := newGenericEnv(t)
	en.mustAdd(t, en.alice, "myapp", "1.0", "a.zip", "a")
	en.mustAdd(t, en.alice, "myapp", "1.0", "b.zip", "b")
	en.mustAdd(t, en.alice, "myapp", "2.0", "a.zip", "a") // same bytes as 1.0's a.zip
	who := index.Actor{Name: "alice", RemoteAddr: "192.0.2.9"}

	rm, err := en.cat.DeleteGenericRows(ctx, "myapp", "1.0.0", "b.zip", who)
	if err != nil || len(rm.Files) != 1 || rm.Bytes != 1 || len(rm.Blobs) != 1 {
		t.Fatalf("delete file: %+v %v", rm, err)
	}
	if _, err := en.cat.DeleteGenericRows(ctx, "myapp", "1.0", "b.zip", who); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("again: %v", err)
	}
	rm, err = en.cat.DeleteGenericRows(ctx, "myapp", "1.0", "", who)
	if err != nil || len(rm.Files) != 1 || rm.Files[0].Filename != "a.zip" {
		t.Fatalf("delete version: %+v %v", rm, err)
	}
	if ref, _ := en.cat.BlobReferenced(ctx, rm.Blobs[0]); !ref {
		t.Error("the blob 2.0 shares is no longer referenced")
	}
	_, versions, _ := en.cat.GenericVersions(ctx, "myapp")
	if len(versions) != 1 || versions[0].Version != "2.0" {
		t.Errorf("left: %+v", versions)
	}
	for _, bad := range [][2]string{{"myapp", "1.0"}, {"nope", "1.0"}, {"-x", "1.0"}, {"myapp", "not a version"}} {
		if _, err := en.cat.DeleteGenericRows(ctx, bad[0], bad[1], "", who); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("delete %v: %v", bad, err)
		}
	}
	events, _ := en.cat.AuditEvents(ctx, index.AuditQuery{Action: index.AuditGenericDelete})
	if len(events) != 2 || events[0].Filename != "a.zip" || events[0].Version != "1.0" || events[1].Filename != "b.zip" ||
		events[0].Actor != "alice" || events[0].RemoteAddr != "192.0.2.9" {
		t.Errorf("audit: %+v", events)
	}
}

func TestGenericPrune(t *testing.T) {
	ctx := context.Background()
	en := newGenericEnv(t)
	start := en.now
	for i, v := range []string{"1.0", "1.1.dev1", "1.1.dev2", "1.1.dev3", "1.1", "1.2rc1", "1.2.dev1"} {
		en.now = start.Add(time.Duration(i) * 24 * time.Hour)
		en.mustAdd(t, en.alice, "myapp", v, "myapp.zip", "app "+v)
	}
	en.mustAdd(t, en.alice, "other", "1.0.dev1", "o.zip", "o")
	en.now = start.Add(10 * 24 * time.Hour)
	plan := func(r index.GenericPruneRules) string {
		t.Helper()
		p, err := en.cat.PlanGenericPrune(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range p.Versions {
			out = append(out, v.Name+"="+v.Version)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		name  string
		rules index.GenericPruneRules
		want  string
	}{
		{"dev keep 2", index.GenericPruneRules{Keep: 2}, "myapp=1.1.dev1 myapp=1.1.dev2"},
		{"dev keep 1 one name", index.GenericPruneRules{Keep: 1, Names: []string{"MyApp"}}, "myapp=1.1.dev1 myapp=1.1.dev2 myapp=1.1.dev3"},
		{"all keep 3", index.GenericPruneRules{Keep: 3, All: true}, "myapp=1.0 myapp=1.1.dev1 myapp=1.1.dev2 myapp=1.1.dev3"},
		{"dev older than 8 days", index.GenericPruneRules{OlderThan: 8 * 24 * time.Hour}, "myapp=1.1.dev1"},
		{"all keep 2 and older than 7 days", index.GenericPruneRules{Keep: 2, OlderThan: 7 * 24 * time.Hour, All: true},
			"myapp=1.0 myapp=1.1.dev1 myapp=1.1.dev2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := plan(tc.rules); got != tc.want {
				t.Errorf("plan = %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []index.GenericPruneRules{{}, {Keep: -1}, {OlderThan: -time.Second}, {Keep: 1, Names: []string{"-x"}}} {
		if _, err := en.cat.PlanGenericPrune(ctx, bad); !errors.Is(err, index.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}

	serial, _ := en.cat.Serial(ctx)
	res, err := en.cat.PruneGenericRows(ctx, index.GenericPruneRules{Keep: 2}, index.Actor{Name: "retention"})
	if err != nil || len(res.Versions) != 2 || len(res.Files) != 2 {
		t.Fatalf("prune: %+v %v", res, err)
	}
	if s, _ := en.cat.Serial(ctx); s <= serial {
		t.Error("the serial did not move")
	}
	if got := plan(index.GenericPruneRules{Keep: 2}); got != "" {
		t.Errorf("after the prune the plan is %q", got)
	}
	events, _ := en.cat.AuditEvents(ctx, index.AuditQuery{Action: index.AuditGenericDelete, Actor: "retention"})
	if len(events) != 2 || !strings.HasPrefix(events[0].Detail, "prune: keep") {
		t.Errorf("audit: %+v", events)
	}
}

func TestRepairGenericBlobRef(t *testing.T) {
	ctx := context.Background()
	en := newGenericEnv(t)
	f := en.mustAdd(t, en.alice, "myapp", "1.0", "a.zip", "a")
	var refs []index.BlobRef
	if err := en.cat.ReferencedBlobs(ctx, func(r index.BlobRef) error { refs = append(refs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Kind != index.BlobGeneric || refs[0].Key != f.BlobKey || refs[0].Size != 1 || refs[0].Project != "myapp" {
		t.Fatalf("refs: %+v", refs)
	}
	var keys []string
	en.cat.BlobKeys(ctx, func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 1 || keys[0] != f.BlobKey {
		t.Errorf("BlobKeys: %v", keys)
	}
	repaired, orphans, err := en.cat.RepairBlobRef(ctx, refs[0], "missing", index.Actor{Name: "fsck"}, nil)
	if err != nil || !repaired || len(orphans) != 1 || orphans[0] != f.BlobKey {
		t.Fatalf("repair: %v %v %v", repaired, orphans, err)
	}
	if _, err := en.cat.GenericFile(ctx, "myapp", "1.0", "a.zip"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("the row is still there: %v", err)
	}
	// A fresh upload of the file is accepted again.
	en.mustAdd(t, en.alice, "myapp", "1.0", "a.zip", "a2")
}

func TestSetGenericOwner(t *testing.T) {
	ctx := context.Background()
	en := newGenericEnv(t)
	en.mustAdd(t, en.alice, "myapp", "1.0", "a.zip", "a")
	who := index.Actor{Name: "alice"}
	if _, _, err := en.add(t, en.bob, "myapp", "1.1", "a.zip", "b"); !errors.Is(err, index.ErrForbidden) {
		t.Fatalf("bob before: %v", err)
	}
	if err := en.cat.SetGenericOwner(ctx, "MyApp", "bob", true, who); err != nil {
		t.Fatal(err)
	}
	if err := en.cat.SetGenericOwner(ctx, "myapp", "bob", true, who); err != nil {
		t.Errorf("adding twice: %v", err)
	}
	en.mustAdd(t, en.bob, "myapp", "1.1", "a.zip", "b")
	if owners, _ := en.cat.GenericOwners(ctx, "myapp"); strings.Join(owners, ",") != "alice,bob" {
		t.Errorf("owners: %v", owners)
	}
	if err := en.cat.SetGenericOwner(ctx, "myapp", "alice", false, who); err != nil {
		t.Fatal(err)
	}
	if err := en.cat.SetGenericOwner(ctx, "myapp", "bob", false, who); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("removing the last owner: %v", err)
	}
	for _, bad := range [][2]string{{"nope", "bob"}, {"myapp", "nobody"}, {"-x", "bob"}} {
		if err := en.cat.SetGenericOwner(ctx, bad[0], bad[1], true, who); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	events, _ := en.cat.AuditEvents(ctx, index.AuditQuery{Project: "myapp", Actor: "alice"})
	if len(events) != 3 || events[0].Action != "generic-owner-remove" || events[1].Action != "generic-owner-add" {
		t.Errorf("audit: %+v", events)
	}
}
