package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

// TestSyncUnknownSizes: an HTML-only upstream gives no sizes. A dry run
// says how many files are of unknown size instead of "0 B", the report
// has no size for them (null in JSON), and the audit entries of a real
// run count the bytes actually fetched.
func TestSyncUnknownSizes(t *testing.T) {
	up := mirrortest.Start(t, true)
	e := mirrortest.NewEnv(t, up, "", nil)
	opts := mirrorsync.Options{Requirements: reqs(t, "acme-util"), DryRun: true}
	dry, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || dry.Missing == 0 || dry.MissingUnknown != dry.Missing || dry.MissingBytes != 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	for _, f := range dry.Files {
		if f.Size != nil {
			t.Errorf("%s: size %d claimed, the upstream gives none", f.Filename, *f.Size)
		}
	}

	opts.DryRun, opts.Actor = false, "cli:test"
	rep, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || rep.Fetched != dry.Missing || rep.Bytes == 0 {
		t.Fatalf("real run: %+v %v", rep, err)
	}
	var total int64
	for _, f := range rep.Files {
		if f.Size == nil || *f.Size <= 0 {
			t.Errorf("%s: fetched, but no size in the report", f.Filename)
			continue
		}
		total += *f.Size
	}
	evs, err := e.Cat.AuditEvents(context.Background(), index.AuditQuery{Project: "acme-util", Action: "mirror sync"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit: %v %v", evs, err)
	}
	if want := fmt.Sprintf("fetched %d files, %d bytes", rep.Fetched, total); evs[0].Detail != want || strings.Contains(evs[0].Detail, " 0 bytes") {
		t.Errorf("audit detail %q, want %q", evs[0].Detail, want)
	}

	// A second dry run knows the sizes: the files are stored.
	opts.DryRun, opts.Actor = true, ""
	again, err := mirrorsync.Run(context.Background(), deps(e), opts)
	if err != nil || again.Present != rep.Fetched {
		t.Fatalf("second dry run: %+v %v", again, err)
	}
	for _, f := range again.Files {
		if f.Size == nil || *f.Size <= 0 {
			t.Errorf("%s: stored, but no size in the report", f.Filename)
		}
	}
}
