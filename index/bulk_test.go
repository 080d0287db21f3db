package index_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/indextest"
)

// bulkFiles returns files for three projects, with several files per
// release and versions that normalize (1.0 and 1.0.0 are one release).
func bulkFiles() []index.NewFile {
	var out []index.NewFile
	add := func(project, version, filename string) {
		out = append(out, index.NewFile{
			Project: project, Version: version, Filename: filename, PackageType: "bdist_wheel",
			PythonVersion: "py3", RequiresPython: ">=3.9", Size: 10, SHA256: fmt.Sprintf("%064x", len(out)),
			MD5: "m", Blake2b256: "b", BlobKey: "sha256/00/00/x", UploadedBy: "seed", UploaderID: 0,
			Metadata: dist.Metadata{Name: project, Version: version, Summary: "s"},
		})
	}
	for i := range 7 {
		v := fmt.Sprintf("1.%d", i)
		add("Acme.Util", v, "acme_util-"+v+"-py3-none-any.whl")
		add("Acme.Util", v, "acme_util-"+v+".tar.gz")
	}
	add("acme-util", "2.0", "acme_util-2.0-py3-none-any.whl")
	add("acme-util", "2.0.0", "acme_util-2.0.0-py3-none-any.whl")
	add("other", "0.1", "other-0.1.tar.gz")
	add("third", "3!1.0.dev1+local", "third-3!1.0.dev1+local.tar.gz")
	return out
}

// TestAddFilesMatchesAddFile records the same files one by one and in bulk
// (with a batch boundary inside a project) and expects the same catalog.
func TestAddFilesMatchesAddFile(t *testing.T) {
	ctx := context.Background()
	files := bulkFiles()
	one, bulk := indextest.Catalog(t), indextest.Catalog(t)
	now := func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	one.SetClock(now)
	bulk.SetClock(now)
	for _, nf := range files {
		if _, _, err := one.AddFile(ctx, nf); err != nil {
			t.Fatal(err)
		}
	}
	var progress []int
	if err := bulk.AddFiles(ctx, files[:5], func(n int) { progress = append(progress, n) }); err != nil {
		t.Fatal(err)
	}
	if err := bulk.AddFiles(ctx, files[5:], nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(progress, []int{5}) {
		t.Errorf("progress = %v, want [5]", progress)
	}
	s1, _ := one.Serial(ctx)
	s2, _ := bulk.Serial(ctx)
	if s1 != s2 || s1 != int64(len(files)) {
		t.Errorf("serials %d, %d; want %d", s1, s2, len(files))
	}
	n1, _, err1 := one.ProjectNames(ctx)
	n2, _, err2 := bulk.ProjectNames(ctx)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(n1, n2) {
		t.Errorf("ProjectNames differ:\n%v %v\n%v %v", n1, err1, n2, err2)
	}
	for _, n := range n1 {
		p1, r1, err1 := one.ProjectDetail(ctx, n.Name)
		p2, r2, err2 := bulk.ProjectDetail(ctx, n.Name)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		// Row ids differ with insertion order; compare the content.
		p1.ID, p2.ID = 0, 0
		if !reflect.DeepEqual(p1, p2) || len(r1) != len(r2) {
			t.Fatalf("%s: project %+v vs %+v, %d vs %d releases", n.Name, p1, p2, len(r1), len(r2))
		}
		for i := range r1 {
			a, b := *r1[i], *r2[i]
			a.ID, b.ID, a.ProjectID, b.ProjectID = 0, 0, 0, 0
			for j := range a.Files {
				a.Files[j].ID, a.Files[j].ReleaseID, a.Files[j].ProjectID = 0, 0, 0
			}
			for j := range b.Files {
				b.Files[j].ID, b.Files[j].ReleaseID, b.Files[j].ProjectID = 0, 0, 0
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s release %d:\n%+v\n%+v", n.Name, i, a, b)
			}
		}
	}
	e1, _ := one.AuditEvents(ctx, index.AuditQuery{Action: "upload"})
	e2, _ := bulk.AuditEvents(ctx, index.AuditQuery{Action: "upload"})
	if len(e1) != len(files) || len(e2) != len(files) {
		t.Errorf("audit entries %d, %d; want %d", len(e1), len(e2), len(files))
	}
}

// TestAddFilesExisting refuses a filename already recorded and rolls back
// that batch only.
func TestAddFilesExisting(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	files := bulkFiles()
	if err := cat.AddFiles(ctx, files[:3], nil); err != nil {
		t.Fatal(err)
	}
	err := cat.AddFiles(ctx, files[2:5], nil)
	if !errors.Is(err, index.ErrExists) {
		t.Fatalf("AddFiles of an existing file = %v, want ErrExists", err)
	}
	if s, _ := cat.Serial(ctx); s != 3 {
		t.Errorf("serial = %d after a rolled-back batch, want 3", s)
	}
	if _, err := cat.File(ctx, files[3].Filename); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("file of the rolled-back batch: %v", err)
	}
	if err := cat.AddFiles(ctx, []index.NewFile{{Project: "bad name!", Version: "1"}}, nil); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("invalid name: %v", err)
	}
}
