package index_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/pyindex/pyindex/index"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/pep440"
)

func TestAllocateDevVersion(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	for _, v := range []string{"1.2.3", "1.2.4.dev17+gabc1234", "2.0rc1"} {
		fn, data := indextest.Wheel(t, "acme_util", v, "")
		indextest.Seed(t, cat, store, fn, data)
	}
	sha := func(i int) string { return fmt.Sprintf("%040x", i+1) }

	t.Run("above uploaded dev builds", func(t *testing.T) {
		dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "1.2.4", Commit: sha(0), Branch: "main"}, "ci")
		if err != nil || dv.Version != "1.2.4.dev18" || dv.Number != 18 {
			t.Fatalf("got %+v, %v; want 1.2.4.dev18", dv, err)
		}
	})
	t.Run("same commit, same number", func(t *testing.T) {
		dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "Acme_Util", Base: "1.2.4.0", Commit: strings.ToUpper(sha(0)), Branch: "main"}, "ci")
		if err != nil || dv.Number != 18 || !dv.Reused {
			t.Fatalf("got %+v, %v; want the same number again", dv, err)
		}
	})
	t.Run("no base: guess-next-dev of the newest version", func(t *testing.T) {
		// 2.0rc1 is the newest version: guess-next-dev gives 2.0rc2, as
		// setuptools_scm would for a tag 2.0rc1 plus commits.
		dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "", Commit: sha(1), Branch: "feature"}, "ci")
		if err != nil || dv.Base != "2.0rc2" || dv.Number != 1 {
			t.Fatalf("got %+v, %v; want 2.0rc2.dev1", dv, err)
		}
		// Now 2.0rc2.dev1 is the newest: its base is kept. (A number not
		// yet uploaded is known only in canonical form: 2rc2.)
		dv, err = cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Commit: sha(2), Branch: "feature"}, "ci")
		if err != nil || pep440.Canonical(dv.Version) != "2rc2.dev2" {
			t.Fatalf("got %+v, %v; want 2.0rc2.dev2", dv, err)
		}
		dv, err = cat.AllocateDevVersion(ctx, index.DevRequest{Project: "new-project", Base: "", Commit: sha(1), Branch: "main"}, "ci")
		if err != nil || dv.Version != "0.1.dev1" {
			t.Fatalf("new project: %+v, %v", dv, err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, tc := range [][3]string{
			{"acme-util", "1.2.4.dev3", sha(2)}, {"acme-util", "1.2.4+local", sha(2)}, {"acme-util", "not a version", sha(2)},
			{"acme-util", "1.0", "xyz"}, {"acme-util", "1.0", ""}, {"-bad-", "1.0", sha(2)},
		} {
			if _, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: tc[0], Base: tc[1], Commit: tc[2], Branch: ""}, "ci"); err == nil {
				t.Errorf("AllocateDevVersion(%q, %q, %q) succeeded", tc[0], tc[1], tc[2])
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		const n = 50
		var wg sync.WaitGroup
		nums := make([]int64, 2*n)
		errs := make([]error, 2*n)
		for i := 0; i < 2*n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// Every commit asks twice (a retry): same number both times.
				dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "3.0", Commit: sha(100 + i%n), Branch: "main"}, "ci")
				nums[i], errs[i] = dv.Number, err
			}(i)
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i := 0; i < n; i++ {
			if errs[i] != nil || errs[i+n] != nil {
				t.Fatalf("errors: %v %v", errs[i], errs[i+n])
			}
			if nums[i] != nums[i+n] {
				t.Errorf("commit %d got %d and %d", i, nums[i], nums[i+n])
			}
			seen[nums[i]] = true
		}
		var got []int
		for k := range seen {
			got = append(got, int(k))
		}
		sort.Ints(got)
		if len(got) != n || got[0] != 1 || got[n-1] != n {
			t.Errorf("numbers %v, want 1..%d without gaps or duplicates", got, n)
		}
	})
	t.Run("upload records commit and branch", func(t *testing.T) {
		defer t.Run("dirty", func(t *testing.T) {
			// A dirty tree of the same commit is numbered apart, once per
			// set of changes; its upload records the commit.
			d1, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "4.0", Commit: sha(7), Dirty: "00aa11bb", Branch: "release/4"}, "ci")
			if err != nil || d1.Reused || d1.Dirty != "00aa11bb" {
				t.Fatalf("dirty: %+v, %v", d1, err)
			}
			d2, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "4.0", Commit: sha(7), Dirty: "00AA11BB"}, "ci")
			if err != nil || !d2.Reused || d2.Number != d1.Number {
				t.Fatalf("same changes again: %+v, %v; want %d", d2, err, d1.Number)
			}
			d3, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "4.0", Commit: sha(7), Dirty: "ffffffff"}, "ci")
			if err != nil || d3.Reused || d3.Number != d1.Number+1 {
				t.Fatalf("other changes: %+v, %v; want %d", d3, err, d1.Number+1)
			}
			fn, data := indextest.Wheel(t, "acme_util", d1.Version, "")
			if f := indextest.Seed(t, cat, store, fn, data); f.CommitSHA != sha(7) || f.Branch != "release/4 (uncommitted changes)" {
				t.Errorf("dirty file records commit %q branch %q", f.CommitSHA, f.Branch)
			}
			if _, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "4.0", Commit: sha(7), Dirty: "xyz"}, "ci"); !errors.Is(err, index.ErrInvalid) {
				t.Errorf("bad dirty digest: %v", err)
			}
		})
		dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-util", Base: "4.0", Commit: sha(7), Branch: "release/4"}, "ci")
		if err != nil {
			t.Fatal(err)
		}
		fn, data := indextest.Wheel(t, "acme_util", dv.Version+"+g0000008", "")
		f := indextest.Seed(t, cat, store, fn, data)
		if f.CommitSHA != sha(7) || f.Branch != "release/4" {
			t.Errorf("file records commit %q branch %q", f.CommitSHA, f.Branch)
		}
	})
}

func TestNextDevBase(t *testing.T) {
	for in, want := range map[string]string{
		"": "0.1", "1.2.3": "1.2.4", "1.2.4.dev2": "1.2.4", "1.2.4.dev2+g1234567": "1.2.4", "2.0rc1": "2.0rc2",
		"2.0rc2.dev5": "2.0rc2", "1.0.post1": "1.0.post2", "1.2.3.post1.dev4": "1.2.3.post1", "1!2.0": "1!2.1",
		"1.2.3+local.7": "1.2.4", "1.9": "1.10", "2024.6.20": "2024.6.21",
	} {
		if got := index.NextDevBase(in); got != want {
			t.Errorf("NextDevBase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDevVersionAboveAll is the shallow-clone contract: the project's
// newest version counts releases, uploads and numbers handed out, and an
// AboveAll request whose base fell behind is refused with the newest.
func TestDevVersionAboveAll(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	sha := func(i int) string { return fmt.Sprintf("%040x", i+1) }
	st, err := cat.DevState(ctx, "acme-svc")
	if err != nil || st.Newest != "" {
		t.Fatalf("empty project: %+v, %v", st, err)
	}
	fn, data := indextest.Wheel(t, "acme_svc", "1.2.3", "")
	indextest.Seed(t, cat, store, fn, data)
	fn, data = indextest.Wheel(t, "acme_svc", "1.2.4.dev2", "")
	indextest.Seed(t, cat, store, fn, data)
	if st, _ := cat.DevState(ctx, "Acme.Svc"); st.Newest != "1.2.4.dev2" || st.Project != "acme-svc" {
		t.Fatalf("state %+v, want newest 1.2.4.dev2", st)
	}
	dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-svc", Base: "1.2.4", Commit: sha(0), AboveAll: true}, "ci")
	if err != nil || dv.Version != "1.2.4.dev3" {
		t.Fatalf("got %+v, %v; want 1.2.4.dev3", dv, err)
	}
	// A number handed out but not uploaded counts too.
	if st, _ := cat.DevState(ctx, "acme-svc"); st.Newest != "1.2.4.dev3" {
		t.Fatalf("state %+v, want newest 1.2.4.dev3", st)
	}
	// A release came in between: the base 1.2.4 is behind.
	fn, data = indextest.Wheel(t, "acme_svc", "1.2.4", "")
	indextest.Seed(t, cat, store, fn, data)
	_, err = cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-svc", Base: "1.2.4", Commit: sha(1), AboveAll: true}, "ci")
	var stale *index.StaleBaseError
	if !errors.As(err, &stale) || stale.Newest != "1.2.4" || !errors.Is(err, index.ErrExists) {
		t.Fatalf("stale base: %v", err)
	}
	// The commit that has a number keeps it.
	if dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-svc", Base: "1.2.4", Commit: sha(0), AboveAll: true}, "ci"); err != nil || !dv.Reused || dv.Number != 3 {
		t.Fatalf("reuse: %+v, %v", dv, err)
	}
	if dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-svc", Base: index.NextDevBase(stale.Newest), Commit: sha(1), AboveAll: true}, "ci"); err != nil || dv.Version != "1.2.5.dev1" {
		t.Fatalf("after the release: %+v, %v", dv, err)
	}
}
