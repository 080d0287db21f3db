package index_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

func TestAddFile(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	fn, data := indextest.Wheel(t, "acme_util", "1.0", "")
	f := indextest.Seed(t, cat, store, fn, data)
	serial, _ := cat.Serial(ctx)

	d := indextest.Sum(data)
	nf := index.NewFile{Project: "acme-util", Version: "1.0", Filename: fn, PackageType: "bdist_wheel",
		Size: int64(len(data)), SHA256: d.SHA256, MD5: d.MD5, Blake2b256: d.Blake2b256, BlobKey: storage.Key(d.SHA256)}

	t.Run("identical", func(t *testing.T) {
		got, existed, err := cat.AddFile(ctx, nf)
		if err != nil || !existed || got.ID != f.ID {
			t.Fatalf("AddFile = %+v, %v, %v; want the existing file", got, existed, err)
		}
		if s, _ := cat.Serial(ctx); s != serial {
			t.Errorf("serial moved from %d to %d", serial, s)
		}
	})
	t.Run("different bytes", func(t *testing.T) {
		other := nf
		other.SHA256 = strings.Repeat("0", 64)
		if _, _, err := cat.AddFile(ctx, other); !errors.Is(err, index.ErrExists) {
			t.Fatalf("err = %v, want ErrExists", err)
		}
		if s, _ := cat.Serial(ctx); s != serial {
			t.Errorf("serial moved from %d to %d", serial, s)
		}
	})
	t.Run("same release other spelling", func(t *testing.T) {
		other := nf
		other.Version, other.Filename, other.SHA256 = "1.0.0", "acme_util-1.0.0.tar.gz", strings.Repeat("1", 64)
		g, existed, err := cat.AddFile(ctx, other)
		if err != nil || existed || g.Version != "1.0" || g.ReleaseID != f.ReleaseID {
			t.Fatalf("AddFile = %+v, %v, %v; want a file of release 1.0", g, existed, err)
		}
	})
	for _, bad := range []struct{ name, project, version string }{
		{"bad project", "-acme", "1.0"},
		{"empty project", "", "1.0"},
		{"bad version", "acme-util", "1.0-foo-bar"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			other := nf
			other.Project, other.Version, other.Filename = bad.project, bad.version, "x.whl"
			if _, _, err := cat.AddFile(ctx, other); !errors.Is(err, index.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("audit", func(t *testing.T) {
		evs, err := cat.AuditEvents(ctx, index.AuditQuery{Project: "acme-util", Action: "upload"})
		if err != nil || len(evs) != 2 {
			t.Fatalf("AuditEvents = %v, %v", evs, err)
		}
	})
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	if _, err := cat.AddUser(ctx, "alice", "correct horse", false, "test"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"duplicate", func() error { _, err := cat.AddUser(ctx, "alice", "another pass", false, "test"); return err }, index.ErrExists},
		{"bad name", func() error { _, err := cat.AddUser(ctx, "a/b", "long enough", false, "test"); return err }, index.ErrInvalid},
		{"empty name", func() error { _, err := cat.AddUser(ctx, "", "long enough", false, "test"); return err }, index.ErrInvalid},
		{"token name", func() error { _, err := cat.AddUser(ctx, "__token__", "long enough", false, "test"); return err }, index.ErrInvalid},
		{"long name", func() error {
			_, err := cat.AddUser(ctx, strings.Repeat("a", 65), "long enough", false, "test")
			return err
		}, index.ErrInvalid},
		{"short password", func() error { _, err := cat.AddUser(ctx, "bob", "short", false, "test"); return err }, index.ErrInvalid},
		{"long password", func() error { _, err := cat.AddUser(ctx, "bob", strings.Repeat("p", 73), false, "test"); return err }, index.ErrInvalid},
		{"check ok", func() error { _, err := cat.CheckPassword(ctx, "alice", "correct horse"); return err }, nil},
		{"check cached", func() error { _, err := cat.CheckPassword(ctx, "alice", "correct horse"); return err }, nil},
		{"check wrong", func() error { _, err := cat.CheckPassword(ctx, "alice", "wrong horse"); return err }, index.ErrBadCredentials},
		{"check unknown", func() error { _, err := cat.CheckPassword(ctx, "nobody", "correct horse"); return err }, index.ErrBadCredentials},
		{"passwd short", func() error { return cat.SetPassword(ctx, "alice", "short", "test") }, index.ErrInvalid},
		{"passwd unknown", func() error { return cat.SetPassword(ctx, "nobody", "long enough", "test") }, index.ErrNotFound},
		{"passwd", func() error { return cat.SetPassword(ctx, "alice", "battery staple", "test") }, nil},
		{"old password refused", func() error { _, err := cat.CheckPassword(ctx, "alice", "correct horse"); return err }, index.ErrBadCredentials},
		{"new password", func() error { _, err := cat.CheckPassword(ctx, "alice", "battery staple"); return err }, nil},
		{"remove", func() error { return cat.RemoveUser(ctx, "alice", "test") }, nil},
		{"removed cannot log in", func() error { _, err := cat.CheckPassword(ctx, "alice", "battery staple"); return err }, index.ErrBadCredentials},
		{"remove again", func() error { return cat.RemoveUser(ctx, "alice", "test") }, index.ErrNotFound},
		{"re-add", func() error { _, err := cat.AddUser(ctx, "alice", "a new password", true, "test"); return err }, nil},
		{"old cached password refused after re-add", func() error { _, err := cat.CheckPassword(ctx, "alice", "battery staple"); return err }, index.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	us, err := cat.Users(ctx)
	if err != nil || len(us) != 1 || us[0].Name != "alice" || !us[0].Admin {
		t.Errorf("Users = %+v, %v", us, err)
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	// The path goes into a file: URI; characters special there must survive.
	path := filepath.Join(t.TempDir(), "a dir?#%&=", "catalog.db")
	cat := indextest.OpenCatalog(t, path)
	indextest.SeedDist(t, cat, indextest.Store(t), "acme_util-0.1-py3-none-any.whl")
	serial, _ := cat.Serial(ctx)
	cat.Close()

	t.Run("reopen is idempotent", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			c := indextest.OpenCatalog(t, path)
			if s, err := c.Serial(ctx); err != nil || s != serial {
				t.Fatalf("serial = %d, %v; want %d", s, err, serial)
			}
			if _, err := c.File(ctx, "acme_util-0.1-py3-none-any.whl"); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	})
	t.Run("schema too new", func(t *testing.T) {
		indextest.MarkNewerSchema(t, path, "9999_future.sql")
		c, err := indextest.TryOpenCatalog(t, path)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, index.ErrSchemaTooNew) || !strings.Contains(err.Error(), "upgrade pyindex") {
			t.Fatalf("Open = %v, want ErrSchemaTooNew saying to upgrade", err)
		}
	})
}
