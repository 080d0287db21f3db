package mirror_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	"github.com/pyindex/pyindex/storage"
)

// otherMirror returns a mirror of up over e's catalog and store, as a
// second process (or a restart with another upstream) would make.
func otherMirror(t *testing.T, e *env, up *mirrortest.Upstream, changed string) *mirror.Mirror {
	t.Helper()
	cfg := e.Config
	cfg.Upstream, cfg.UpstreamChanged = up.SimpleURL(), changed
	m, err := mirror.New(cfg, mirror.Deps{Catalog: e.Cat, Store: e.Store, Log: mirrortest.QuietLog(), Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestUpstreamOrigin: the catalog records the upstream of its cached
// pages; a mirror of another upstream refuses to run (saying what to do),
// or keeps the pages (refreshed from the new upstream when next asked for)
// or drops them when told; a page of another upstream is never written
// next to the recorded one's.
func TestUpstreamOrigin(t *testing.T) {
	ctx := context.Background()
	a, b := mirrortest.Start(t, false), mirrortest.Start(t, false)
	e := newEnv(t, a, "", nil)
	if note, err := e.Mirror.CheckUpstream(ctx, "test"); err != nil || note != "" {
		t.Fatalf("first check: %q %v", note, err)
	}
	e.Page("acme-util")
	e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)
	rec, pages, err := e.Cat.MirrorUpstream(ctx)
	if err != nil || rec != e.Mirror.Upstream() || pages != 1 || !strings.HasPrefix(rec, a.URL) {
		t.Fatalf("recorded %q (%d pages), %v; want %q", rec, pages, err, e.Mirror.Upstream())
	}

	// Another upstream, refused: the message names both and the ways out.
	mb := otherMirror(t, e, b, mirror.UpstreamChangedRefuse)
	_, err = mb.CheckUpstream(ctx, "test")
	var ce *mirror.UpstreamChangedError
	if !errors.As(err, &ce) || ce.Recorded != rec {
		t.Fatalf("another upstream: %v", err)
	}
	for _, want := range []string{a.URL, b.URL, "--upstream " + rec, "--upstream-changed=keep", "--upstream-changed=drop", "mirror.upstream_changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	// Even unchecked, its pages are not written beside the others.
	if err := mb.Refresh(ctx, "acme-core"); err == nil || !strings.Contains(err.Error(), "switched") {
		t.Errorf("a page of another upstream was cached: %v", err)
	}
	if _, err := e.Cat.MirrorProjectState(ctx, "acme-core"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("acme-core cached from the other upstream: %v", err)
	}

	// keep: the page and its cached file stay; the page comes from the
	// new upstream on the next request.
	mk := otherMirror(t, e, b, mirror.UpstreamChangedKeep)
	note, err := mk.CheckUpstream(ctx, "test")
	if err != nil || !strings.Contains(note, "kept") {
		t.Fatalf("keep: %q %v", note, err)
	}
	if rec, _, _ := e.Cat.MirrorUpstream(ctx); rec != mk.Upstream() {
		t.Errorf("after keep, recorded %q", rec)
	}
	if _, err := mk.Page(ctx, "acme-util"); err != nil || b.Count("/simple/acme-util/") != 1 {
		t.Errorf("kept page not refreshed from the new upstream: %v, %d requests", err, b.Count("/simple/acme-util/"))
	}
	st, _ := e.Cat.MirrorProjectState(ctx, "acme-util")
	if st.Upstream != mk.Upstream() {
		t.Errorf("refreshed page says it came from %q", st.Upstream)
	}
	f, err := e.Cat.MirrorFile(ctx, "acme-util", "acme_util-0.2-py3-none-any.whl")
	if err != nil || f.BlobKey == "" {
		t.Errorf("the cached file was not kept: %+v %v", f, err)
	}
	evs, _ := e.Cat.AuditEvents(ctx, index.AuditQuery{Action: "mirror upstream"})
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "kept") {
		t.Errorf("audit: %+v", evs)
	}

	// drop: back to a, dropping b's pages and the files only they used.
	md := otherMirror(t, e, a, mirror.UpstreamChangedDrop)
	note, err = md.CheckUpstream(ctx, "test")
	if err != nil || !strings.Contains(note, "dropped the 1 cached pages") {
		t.Fatalf("drop: %q %v", note, err)
	}
	if _, pages, _ := e.Cat.MirrorUpstream(ctx); pages != 0 {
		t.Errorf("%d pages left after drop", pages)
	}
	if _, err := e.Store.Stat(ctx, f.BlobKey); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("the dropped page's file is still stored: %v", err)
	}
	// And the same upstream again: nothing to do.
	if note, err := otherMirror(t, e, a, mirror.UpstreamChangedRefuse).CheckUpstream(ctx, "test"); err != nil || note != "" {
		t.Errorf("same upstream: %q %v", note, err)
	}
}
