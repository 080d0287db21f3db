package index_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
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
		dv, err := cat.AllocateDevVersion(ctx, "acme-util", "1.2.4", sha(0), "main", "ci")
		if err != nil || dv.Version != "1.2.4.dev18" || dv.Number != 18 {
			t.Fatalf("got %+v, %v; want 1.2.4.dev18", dv, err)
		}
	})
	t.Run("same commit, same number", func(t *testing.T) {
		dv, err := cat.AllocateDevVersion(ctx, "Acme_Util", "1.2.4.0", strings.ToUpper(sha(0)), "main", "ci")
		if err != nil || dv.Number != 18 || !dv.Reused {
			t.Fatalf("got %+v, %v; want the same number again", dv, err)
		}
	})
	t.Run("no base: after the newest final release", func(t *testing.T) {
		dv, err := cat.AllocateDevVersion(ctx, "acme-util", "", sha(1), "feature", "ci")
		if err != nil || dv.Base != "1.2.4" || dv.Number != 19 {
			t.Fatalf("got %+v, %v; want 1.2.4.dev19", dv, err)
		}
		dv, err = cat.AllocateDevVersion(ctx, "new-project", "", sha(1), "main", "ci")
		if err != nil || dv.Version != "0.1.dev1" {
			t.Fatalf("new project: %+v, %v", dv, err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, tc := range [][3]string{
			{"acme-util", "1.2.4.dev3", sha(2)}, {"acme-util", "1.2.4+local", sha(2)}, {"acme-util", "not a version", sha(2)},
			{"acme-util", "1.0", "xyz"}, {"acme-util", "1.0", ""}, {"-bad-", "1.0", sha(2)},
		} {
			if _, err := cat.AllocateDevVersion(ctx, tc[0], tc[1], tc[2], "", "ci"); err == nil {
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
				dv, err := cat.AllocateDevVersion(ctx, "acme-util", "3.0", sha(100+i%n), "main", "ci")
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
		dv, err := cat.AllocateDevVersion(ctx, "acme-util", "4.0", sha(7), "release/4", "ci")
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
