package index_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestAllocateDevVersionOverflow: once the next dev number of a base would
// not fit in an int64, AllocateDevVersion refuses (ErrExists, a message
// that says so) instead of handing out ".dev-9223372036854775808", and
// records nothing; a commit that already has a number still gets it.
func TestAllocateDevVersionOverflow(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	seed := func(project, version string) {
		t.Helper()
		fn, data := indextest.Wheel(t, strings.ReplaceAll(project, "-", "_"), version, "")
		indextest.Seed(t, cat, store, fn, data)
	}
	sha := func(i int) string { return fmt.Sprintf("%040x", i+1) }
	refused := func(t *testing.T, project, base, commit string) {
		t.Helper()
		serial, _ := cat.Serial(ctx)
		before, _ := cat.AuditEvents(ctx, index.AuditQuery{Action: "dev version"})
		dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: project, Base: base, Commit: commit, Branch: "main"}, "ci")
		if !errors.Is(err, index.ErrExists) {
			t.Fatalf("got %+v, %v; want ErrExists", dv, err)
		}
		var ie *index.Error
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "no dev number is left") || !strings.Contains(ie.Msg, "9223372036854775807") {
			t.Errorf("message %q does not say the numbers are used up", err)
		}
		if s, _ := cat.Serial(ctx); s != serial {
			t.Errorf("serial moved from %d to %d", serial, s)
		}
		if after, _ := cat.AuditEvents(ctx, index.AuditQuery{Action: "dev version"}); len(after) != len(before) {
			t.Errorf("a refused allocation was audited: %d -> %d events", len(before), len(after))
		}
	}

	t.Run("uploaded at the largest number", func(t *testing.T) {
		seed("acme-max", "1.0.dev9223372036854775807")
		refused(t, "acme-max", "1.0", sha(0))
		refused(t, "acme-max", "1.0", sha(0)) // and again: no half-written state
		// Another base of the project is unaffected.
		if dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-max", Base: "1.1", Commit: sha(0), Branch: "main"}, "ci"); err != nil || dv.Version != "1.1.dev1" {
			t.Errorf("another base: %+v, %v", dv, err)
		}
	})
	t.Run("uploaded beyond int64", func(t *testing.T) {
		seed("acme-huge", "2.0.dev99999999999999999999")
		refused(t, "acme-huge", "2.0.0", sha(0)) // the same base, spelled otherwise
	})
	t.Run("allocated up to the largest number", func(t *testing.T) {
		seed("acme-edge", "3.0.dev9223372036854775806")
		dv, err := cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-edge", Base: "3.0", Commit: sha(0), Branch: "main"}, "ci")
		if err != nil || dv.Number != 9223372036854775807 || dv.Version != "3.0.dev9223372036854775807" {
			t.Fatalf("the last number: %+v, %v", dv, err)
		}
		refused(t, "acme-edge", "3.0", sha(1))
		dv, err = cat.AllocateDevVersion(ctx, index.DevRequest{Project: "acme-edge", Base: "3.0", Commit: sha(0), Branch: "main"}, "ci")
		if err != nil || !dv.Reused || dv.Number != 9223372036854775807 {
			t.Errorf("the commit that has the last number: %+v, %v", dv, err)
		}
	})
}
