package main_test

import (
	"strings"
	"testing"

	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestMirrorSyncDryRunUnknownSize: against an HTML-only upstream, which
// gives no sizes, a dry run says how many files are of unknown size, never
// "0 B".
func TestMirrorSyncDryRunUnknownSize(t *testing.T) {
	up := mirrortest.Start(t, true)
	out, err := runCLI(t, nil, "", "mirror", "sync", "acme-util==0.2", "--dry-run", "--data", t.TempDir(), "--upstream", up.SimpleURL())
	if err != nil || !strings.Contains(out, "2 to fetch (2 files of unknown size)") || strings.Contains(out, "0 B") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	out, err = runCLI(t, nil, "", "mirror", "sync", "acme-util==0.2", "--dry-run", "--json", "--data", t.TempDir(), "--upstream", up.SimpleURL())
	if err != nil || !strings.Contains(out, `"size": null`) || !strings.Contains(out, `"missing_unknown_size": 2`) {
		t.Errorf("dry run --json: %v\n%s", err, out)
	}
}
