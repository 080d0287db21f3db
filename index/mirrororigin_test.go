package index_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestMirrorOrigin: the first page records the mirror's upstream, a page
// of another upstream is refused, and SetMirrorUpstream switches (keeping
// the pages, due at once, or dropping them), audited.
func TestMirrorOrigin(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	const a, b = "https://a.example/simple/", "https://b.example/simple/"
	page := func(name, upstream string) *index.MirrorProject {
		return &index.MirrorProject{Name: name, Upstream: upstream, UpstreamSerial: 900, ETag: `"x"`, FetchedAt: time.Now(),
			Files: []index.MirrorFile{{Filename: name + "-1.0.tar.gz", URL: upstream + "../f/" + name + "-1.0.tar.gz"}}}
	}
	if rec, n, err := cat.MirrorUpstream(ctx); rec != "" || n != 0 || err != nil {
		t.Fatalf("empty catalog: %q %d %v", rec, n, err)
	}
	if _, _, err := cat.PutMirrorPage(ctx, page("one", a)); err != nil {
		t.Fatal(err)
	}
	if rec, n, _ := cat.MirrorUpstream(ctx); rec != a || n != 1 {
		t.Errorf("recorded %q with %d pages", rec, n)
	}
	_, _, err := cat.PutMirrorPage(ctx, page("two", b))
	var ce *index.UpstreamChangedError
	if !errors.As(err, &ce) || ce.Recorded != a || ce.Current != b {
		t.Errorf("a page of another upstream: %v", err)
	}
	if _, _, err := cat.PutMirrorPage(ctx, page("imported", "")); err != nil {
		t.Errorf("an imported page (no upstream): %v", err)
	}

	if _, _, err := cat.SetMirrorUpstream(ctx, b, false, index.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	st, err := cat.MirrorProjectState(ctx, "one")
	if err != nil || !st.FetchedAt.IsZero() || st.ETag != "" || st.UpstreamSerial != 0 || st.Upstream != a {
		t.Errorf("kept page: %+v %v (want due at once, no validators, still from a)", st, err)
	}
	names, _, err := cat.IndexNames(ctx, true)
	if err != nil || len(names) != 2 || !names[0].Mirrored || names[0].Name != "imported" {
		t.Errorf("IndexNames: %+v %v", names, err)
	}
	if n, _, err := cat.SetMirrorUpstream(ctx, a, true, index.Actor{Name: "test"}); err != nil || n != 2 {
		t.Fatalf("drop: %d %v", n, err)
	}
	if _, n, _ := cat.MirrorUpstream(ctx); n != 0 {
		t.Errorf("%d pages after drop", n)
	}
	evs, _ := cat.AuditEvents(ctx, index.AuditQuery{Action: "mirror upstream"})
	if len(evs) != 2 || !strings.Contains(evs[0].Detail, "2 cached pages dropped") || !strings.Contains(evs[1].Detail, "kept") {
		t.Errorf("audit: %+v", evs)
	}
	if names, _, _ := cat.IndexNames(ctx, false); len(names) != 0 {
		t.Errorf("hosted only: %+v", names)
	}
}
