package sync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/mirror/mirrortest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

// TestSyncUnparsableDependency is issue 17's crash loop: a Requires-Dist of
// `x ; (((((…` with 2.5 million "(" killed the process with a stack
// overflow when a sync with deps reached it. Now such a dependency, in a
// hosted release (uploaded before uploads checked Requires-Dist) or in a
// mirrored one, is skipped with a short note, and the rest is synced.
func TestSyncUnparsableDependency(t *testing.T) {
	deep := "x ; " + strings.Repeat("(", 2_500_000)
	up := mirrortest.Start(t, false)
	up.AddProject("app", mirrortest.Wheel(mirrortest.Meta{Name: "app", Version: "1.0", RequiresDist: []string{deep, "lib"}}, "py3-none-any"))
	up.AddProject("lib", mirrortest.Wheel(mirrortest.Meta{Name: "lib", Version: "1.0"}, "py3-none-any"))
	e := mirrortest.NewEnv(t, up, "", nil)
	seedHosted(t, e, "site-app", "1.0", deep, "app")

	rep, err := mirrorsync.Run(context.Background(), deps(e), mirrorsync.Options{Requirements: reqs(t, "site-app"), Deps: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fileNames(rep), " "); got != "app-1.0-py3-none-any.whl lib-1.0-py3-none-any.whl" || !rep.OK() {
		t.Errorf("files %q, failures %+v", got, rep.Failures)
	}
	skipped := 0
	for _, n := range rep.Notes {
		if strings.Contains(n, "not followed") {
			skipped++
			if !strings.Contains(n, "more than the limit of 64 KiB") || len(n) > 500 {
				t.Errorf("note of %d bytes: %.300q", len(n), n)
			}
		}
	}
	if skipped != 2 {
		t.Errorf("%d dependencies skipped, want 2 (hosted and mirrored): %.1000q", skipped, rep.Notes)
	}
}
