package mirror_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestDownWithinTTL: within a page's TTL the upstream goes down. The first
// client asking for an uncached file gets a 503 that says why; from then on
// the page lists only cached files (pip installs the cached version rather
// than failing), until the upstream answers again, which a background check
// notices without waiting for the TTL.
func TestDownWithinTTL(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	if p := e.Page("acme-util"); len(p.Files) != 5 {
		t.Fatalf("page has %d files, want 5", len(p.Files))
	}
	if r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 {
		t.Fatalf("caching a file: %d", r.Status)
	}
	if e.Mirror.UpstreamDown() {
		t.Fatal("the upstream counts as down while it answers")
	}

	up.SetStatus(http.StatusServiceUnavailable)
	e.Clock.Add(time.Minute) // within the TTL: the page is not asked for again
	if p := e.Page("acme-util"); len(p.Files) != 5 {
		t.Fatalf("nothing failed yet, the page has %d files, want 5", len(p.Files))
	}
	r := e.Get("/mirror/files/acme-util/acme_util-0.1-py3-none-any.whl", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "is not cached here") ||
		!strings.Contains(string(r.Body), "acme_util-0.1-py3-none-any.whl") {
		t.Errorf("uncached file with the upstream down: %d %s", r.Status, r.Body)
	}
	if !e.Mirror.UpstreamDown() {
		t.Fatal("a 503 from the upstream did not mark it down")
	}
	pages := up.Count("/simple/acme-util/")
	for _, accept := range []map[string]string{mirrortest.JSONAccept(), {"Accept": "text/html"}} {
		r := e.Get("/simple/acme-util/", accept)
		if r.Status != 200 || strings.Contains(string(r.Body), "acme_util-0.1-py3-none-any.whl") ||
			!strings.Contains(string(r.Body), "acme_util-0.2-py3-none-any.whl") {
			t.Errorf("page while the upstream is down (%s): %d\n%s", accept["Accept"], r.Status, r.Body)
		}
	}
	if r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 {
		t.Errorf("cached file while the upstream is down: %d", r.Status)
	}

	// The upstream comes back: the next page request after recheckDown
	// starts a check in the background; once it answered, every file is
	// listed again.
	up.SetStatus(0)
	e.Clock.Add(20 * time.Second)
	e.Page("acme-util")
	deadline := time.Now().Add(10 * time.Second)
	for e.Mirror.UpstreamDown() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.Mirror.UpstreamDown() {
		t.Fatal("the upstream is back, but the mirror still counts it as down")
	}
	if up.Count("/simple/acme-util/") <= pages {
		t.Error("no request checked whether the upstream was back")
	}
	if p := e.Page("acme-util"); len(p.Files) != 5 {
		t.Errorf("upstream back: the page has %d files, want 5", len(p.Files))
	}
}
