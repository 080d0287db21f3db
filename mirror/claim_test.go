package mirror_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestClaim: the first upload of a name the upstream serves needs an
// admin (audited) or the name on internal_names; other names are free;
// when the upstream cannot be asked, non-admins are refused unless the
// page is cached (then it is known to be served).
func TestClaim(t *testing.T) {
	ctx := context.Background()
	user := index.Principal{User: "ci", UserID: 2, Scope: index.ScopeUpload}
	admin := index.Principal{User: "root", UserID: 1, Scope: index.ScopeAdmin, Admin: true}
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", func(c *mirror.Config) { c.InternalNames = []string{"Acme_Int*", "other-?"} })

	_, err := e.Mirror.Claim(ctx, user, "acme-util")
	if !errors.Is(err, index.ErrForbidden) || !strings.Contains(err.Error(), "only an admin") || !strings.Contains(err.Error(), "mirror.internal_names") {
		t.Errorf("a user claiming an upstream name: %v", err)
	}
	note, err := e.Mirror.Claim(ctx, admin, "acme-util")
	if err != nil || !strings.Contains(note, "the upstream "+up.URL) {
		t.Errorf("an admin claiming an upstream name: %q %v", note, err)
	}
	if note, err := e.Mirror.Claim(ctx, user, "acme-new"); err != nil || note != "" {
		t.Errorf("a name the upstream lacks: %q %v", note, err)
	}
	before := up.Total()
	for _, n := range []string{"acme-internal", "acme-int", "other-x"} {
		if note, err := e.Mirror.Claim(ctx, user, n); err != nil || note != "" {
			t.Errorf("internal name %s: %q %v", n, note, err)
		}
	}
	if up.Total() != before {
		t.Error("internal names were looked up upstream")
	}
	if _, err := e.Mirror.Claim(ctx, user, "other-xy"); err != nil {
		t.Errorf("other-xy (not upstream): %v", err)
	}

	// The upstream fails: a cached page still says the name is served;
	// an uncached name cannot be checked, and a user is refused.
	up.SetStatus(http.StatusServiceUnavailable)
	if _, err := e.Mirror.Claim(ctx, user, "acme-util"); !errors.Is(err, index.ErrForbidden) || !strings.Contains(err.Error(), "only an admin") {
		t.Errorf("cached upstream name, upstream down: %v", err)
	}
	_, err = e.Mirror.Claim(ctx, user, "acme-core")
	if !errors.Is(err, index.ErrForbidden) || !strings.Contains(err.Error(), "Cannot check") {
		t.Errorf("unchecked name, upstream down: %v", err)
	}
	if note, err := e.Mirror.Claim(ctx, admin, "acme-core"); err != nil || !strings.Contains(note, "could not be checked") {
		t.Errorf("admin, upstream down: %q %v", note, err)
	}

	// Offline, only what is cached can be shadowed.
	off := newEnv(t, nil, "", func(c *mirror.Config) { c.Upstream, c.Offline = "", true })
	if _, err := off.Mirror.Claim(ctx, user, "acme-util"); err != nil {
		t.Errorf("offline, uncached: %v", err)
	}
}

// TestInternalNamesConfig refuses patterns that are no project names.
func TestInternalNamesConfig(t *testing.T) {
	cfg := mirror.DefaultConfig()
	cfg.InternalNames = []string{"acme-*", "ok_name", "bad/name", "[x]", ""}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `"bad/name"`) || !strings.Contains(err.Error(), `"[x]"`) || strings.Contains(err.Error(), "acme-*") || strings.Contains(err.Error(), "ok_name") {
		t.Errorf("Validate: %v", err)
	}
}
