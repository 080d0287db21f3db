package index_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestProjectHistory: the web interface's reads of a project page give
// the releases in PEP 440 order without files, one release's files by any
// spelling of its version, and which requirements this index has.
func TestProjectHistory(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	add := func(project, version, filename string) {
		t.Helper()
		sum := indextest.Sum([]byte(filename))
		if _, _, err := cat.AddFile(ctx, index.NewFile{Project: project, Version: version, Filename: filename, PackageType: "sdist",
			Size: 1, SHA256: sum.SHA256, MD5: sum.MD5, Blake2b256: sum.Blake2b256, BlobKey: "sha256/" + sum.SHA256, AnyProject: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"1.10", "1.2", "2.0rc1", "1.2.post1", "1.0.dev3"} {
		add("Acme-Core", v, "acme_core-"+v+".tar.gz")
	}
	add("acme-core", "1.2", "acme_core-1.2.zip")
	add("other", "1.0", "other-1.0.tar.gz")
	if _, err := cat.Yank(ctx, "acme-core", "1.10", "broken", index.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cat.PutMirrorPage(ctx, &index.MirrorProject{Name: "numpy", FetchedAt: time.Now(), ChangedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	p, rels, err := cat.ProjectHistory(ctx, "acme-core")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		if len(r.Files) != 0 || r.Metadata.Name != "" {
			t.Errorf("release %s carries files or metadata", r.Version)
		}
		got = append(got, r.Version)
	}
	if want := []string{"1.0.dev3", "1.2", "1.2.post1", "1.10", "2.0rc1"}; !slices.Equal(got, want) || p.DisplayName != "Acme-Core" {
		t.Errorf("history %v of %q, want %v of Acme-Core", got, p.DisplayName, want)
	}
	if !rels[3].Yanked || rels[3].YankedReason != "broken" || p.LastSerial == 0 {
		t.Errorf("1.10: yanked %v %q; serial %d", rels[3].Yanked, rels[3].YankedReason, p.LastSerial)
	}
	if _, _, err := cat.ProjectHistory(ctx, "nothing"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}

	files, err := cat.ReleaseFiles(ctx, "Acme_Core", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Filename != "acme_core-1.2.tar.gz" || files[1].Filename != "acme_core-1.2.zip" {
		t.Errorf("files of 1.2: %+v", files)
	}
	for _, tc := range []struct{ project, version string }{{"acme-core", "3.0"}, {"nothing", "1.0"}} {
		if _, err := cat.ReleaseFiles(ctx, tc.project, tc.version); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("files of %s %s: %v", tc.project, tc.version, err)
		}
	}
	if _, err := cat.ReleaseFiles(ctx, "acme-core", "not a version"); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("a bad version: %v", err)
	}

	known, err := cat.KnownProjects(ctx, []string{"acme-core", "numpy", "missing", "other"})
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 3 || !known["acme-core"] || !known["numpy"] || !known["other"] {
		t.Errorf("known: %v", known)
	}
	if _, err := cat.KnownProjects(ctx, make([]string, 501)); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("501 names: %v", err)
	}
}
