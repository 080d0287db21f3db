package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pyindex/pyindex/index"
)

// The catalog records which upstream the mirror's pages come from
// (index.Catalog.MirrorUpstream): a mirror of another upstream refuses to
// start rather than mix its pages with those (serve and mirror sync alike),
// unless mirror.upstream_changed says to keep or drop them.

// origin is how the catalog names an upstream: its simple-API root with a
// trailing slash, the scheme and host in lower case, no credentials.
func origin(c *client) string {
	u := *c.base
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	return u.String()
}

// Upstream returns the upstream this mirror fetches from, as the catalog
// records it (no credentials); "" for an offline mirror without one.
func (m *Mirror) Upstream() string {
	if !m.cfg.hasUpstream() {
		return ""
	}
	return m.origin
}

// CheckUpstream compares the upstream the catalog's cached pages come from
// with this mirror's, before the mirror serves or syncs. The same, or none
// recorded yet: the mirror's becomes the recorded one. Another: with
// mirror.upstream_changed "refuse" (the default) it returns an error that
// says what to do; "keep" and "drop" record the new upstream, keeping the
// cached pages (each refreshed from it when next asked for) or dropping them
// with the files only they used; the change is audited as actor. An
// offline mirror never fetches, so nothing can mix: it checks nothing.
// note, when not "", says what was done, for the log.
func (m *Mirror) CheckUpstream(ctx context.Context, actor string) (note string, err error) {
	if m.cfg.Offline || !m.cfg.hasUpstream() {
		return "", nil
	}
	cur := m.origin
	rec, pages, err := m.cat.MirrorUpstream(ctx)
	if err != nil {
		return "", err
	}
	if rec == cur {
		return "", nil
	}
	if rec == "" {
		if _, _, err := m.cat.SetMirrorUpstream(ctx, cur, false, index.Actor{Name: actor}); err != nil {
			return "", err
		}
		if pages == 0 {
			return "", nil
		}
		return fmt.Sprintf("the catalog did not record where its %d cached pages came from; recorded %s", pages, cur), nil
	}
	switch m.cfg.UpstreamChanged {
	case UpstreamChangedKeep:
		if _, _, err := m.cat.SetMirrorUpstream(ctx, cur, false, index.Actor{Name: actor}); err != nil {
			return "", err
		}
		m.warmProjects.Clear()
		m.warmFiles.Clear()
		return fmt.Sprintf("upstream changed from %s to %s: the %d cached pages are kept, each refreshed from the new upstream when next asked for", rec, cur, pages), nil
	case UpstreamChangedDrop:
		n, orphans, err := m.cat.SetMirrorUpstream(ctx, cur, true, index.Actor{Name: actor})
		if err != nil {
			return "", err
		}
		m.warmProjects.Clear()
		m.warmFiles.Clear()
		m.deleteBlobs(ctx, orphans)
		return fmt.Sprintf("upstream changed from %s to %s: dropped the %d cached pages of the old one (and %d files only they used)", rec, cur, n, len(orphans)), nil
	}
	return "", &UpstreamChangedError{Recorded: rec, Current: cur, Pages: pages}
}

// UpstreamChangedError is CheckUpstream's refusal: the catalog's cached
// pages come from another upstream than this mirror's.
type UpstreamChangedError struct {
	Recorded, Current string
	Pages             int
}

func (e *UpstreamChangedError) Error() string {
	return fmt.Sprintf("the mirror's %d cached pages come from the upstream %s, but this run's upstream is %s; "+
		"refusing to mix the two indexes' pages. Use --upstream %s (or mirror.upstream) to go on with the old one, "+
		"or switch with --upstream-changed=keep (keep the cached pages and files, each page refreshed from the new upstream when next asked for) "+
		"or --upstream-changed=drop (drop them and the files only they used); mirror.upstream_changed in the configuration does the same",
		e.Pages, e.Recorded, e.Current, e.Recorded)
}

// changedElsewhere turns the catalog's refusal of a page (another process
// switched the mirror to another upstream meanwhile) into an upstream
// error a client can be shown.
func changedElsewhere(err error) error {
	var ce *index.UpstreamChangedError
	if !errors.As(err, &ce) {
		return err
	}
	return &index.UpstreamError{Status: http.StatusServiceUnavailable,
		Msg: "this server mirrors " + ce.Current + " but the catalog's mirror was switched to " + ce.Recorded + "; restart it with that upstream", Err: err}
}
