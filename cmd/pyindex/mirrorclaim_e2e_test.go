package main_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/mirror/mirrortest"
)

// TestClaimUpstreamNameTwine: with real twine, an uploader cannot create
// a project whose name the upstream serves (403, saying why and what to
// do), which would hide the public project from every pip; an admin can,
// and the claim is audited; a name on mirror.internal_names and a name the
// upstream lacks are anyone's.
func TestClaimUpstreamNameTwine(t *testing.T) {
	twine := need(t, "twine")
	up := mirrortest.Start(t, false) // serves acme-util, acme-core, setuptools
	m := startServer(t, func(c *pyindex.Config) {
		c.Mirror.Upstream = up.SimpleURL()
		c.Mirror.InternalNames = []string{"acme-ut*"}
	})
	addUser(t, m, "ci", "ci-password-1", false)
	addUser(t, m, "root", "root-password-1", true)
	dist := func(name string) string { return filepath.Join("..", "..", "testdata", "dists", name) }
	upload := func(user, password, file string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, twine, "upload", "--non-interactive", "--disable-progress-bar", "--verbose",
			"--repository-url", m.URL()+"/legacy/", "-u", user, "-p", password, dist(file))
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		return strings.Join(strings.Fields(string(out)), " "), err // twine wraps long lines
	}

	out, err := upload("ci", "ci-password-1", "acme_core-1.0-py3-none-any.whl")
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "'acme-core' is a project of the upstream index") || !strings.Contains(out, "mirror.internal_names") {
		t.Fatalf("ci claiming an upstream name: %v\n%s", err, out)
	}
	if status, body := get(t, m.URL()+"/simple/acme-core/", "", ""); status != 200 || !strings.Contains(body, "/mirror/files/acme-core/") {
		t.Errorf("after the refusal the upstream's acme-core is still served: %d\n%s", status, body)
	}
	if out, err := upload("ci", "ci-password-1", "acme_util-0.1-py3-none-any.whl"); err != nil {
		t.Errorf("an internal name (mirror.internal_names): %v\n%s", err, out)
	}
	if out, err := upload("ci", "ci-password-1", "acme_future-1.0-py3-none-any.whl"); err != nil {
		t.Errorf("a name the upstream lacks: %v\n%s", err, out)
	}
	if out, err := upload("root", "root-password-1", "acme_core-1.0-py3-none-any.whl"); err != nil {
		t.Fatalf("an admin claiming an upstream name: %v\n%s", err, out)
	}
	evs, err := m.Catalog.AuditEvents(context.Background(), index.AuditQuery{Action: "claim project"})
	if err != nil || len(evs) != 1 || evs[0].Project != "acme-core" || evs[0].Actor != "root" || !strings.Contains(evs[0].Detail, "serves it") {
		t.Errorf("claim audit: %+v %v", evs, err)
	}
	if _, body := get(t, m.URL()+"/simple/acme-core/", "", ""); strings.Contains(body, "/mirror/files/") {
		t.Errorf("the claimed name still shows upstream files:\n%s", body)
	}
}
