package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestProjectLimitedAdminToken: an admin token cannot be limited to
// projects (the admin API acts on users, tokens and every project), and
// one made before that rule (in an older catalog) acts on nothing there: it
// cannot mint tokens, reset passwords, create users, or yank and delete
// files, of another project or its own.
func TestProjectLimitedAdminToken(t *testing.T) {
	en := newAdminEnv(t)
	ctx := context.Background()
	mine := en.seed("acme-util", "1.0")
	other := en.seed("beta", "1.0")

	rec := en.call("POST", "/api/v1/tokens", en.rootAuth, `{"user": "root", "scope": "admin", "projects": ["acme-util"]}`, nil)
	if rec.Code != http.StatusBadRequest || !strings.Contains(errorBody(t, rec), "cannot be limited to projects") {
		t.Errorf("creating a project-limited admin token: %d %s", rec.Code, rec.Body.String())
	}
	if _, _, err := en.cat.CreateToken(ctx, index.NewToken{User: "root", Scope: index.ScopeAdmin, Projects: []string{"acme-util"}}, "test"); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("CreateToken: %v, want ErrInvalid", err)
	}

	// An admin token of an older catalog, limited to acme-util.
	tok, secret, err := en.cat.CreateToken(ctx, index.NewToken{User: "root", Scope: index.ScopeAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	indextest.LegacyProjectToken(t, en.cat, tok.ID, "acme-util")
	p, err := en.cat.CheckToken(ctx, secret)
	if err != nil || p.Scope != index.ScopeUpload || p.Admin || strings.Join(p.Projects, " ") != "acme-util" {
		t.Errorf("its principal: %+v, %v; want upload scope limited to acme-util", p, err)
	}
	tokensBefore, _ := en.cat.Tokens(ctx, "")
	legacy := "Bearer " + secret
	for _, tc := range []struct{ name, method, path, body string }{
		{"mint an unlimited admin token", "POST", "/api/v1/tokens", `{"user": "root", "scope": "admin"}`},
		{"list tokens", "GET", "/api/v1/tokens", ""},
		{"reset root's password", "PUT", "/api/v1/users/root/password", `{"password": "hijacked-password"}`},
		{"create an admin user", "POST", "/api/v1/users", `{"name": "eve", "password": "eve-password-1", "admin": true}`},
		{"remove a user", "DELETE", "/api/v1/users/dev", ""},
		{"yank another project", "POST", "/api/v1/projects/beta/releases/1.0/yank", `{"reason": "x"}`},
		{"delete another project's file", "DELETE", "/api/v1/projects/beta/files/" + other.Filename, ""},
		{"delete another project", "DELETE", "/api/v1/projects/beta", ""},
		{"yank its own project", "POST", "/api/v1/projects/acme-util/releases/1.0/yank", `{"reason": "x"}`},
		{"delete its own file", "DELETE", "/api/v1/projects/acme-util/files/" + mine.Filename, ""},
		{"prune", "POST", "/api/v1/prune", `{"keep_dev": 0, "released_dev": true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			rec := en.call(tc.method, tc.path, legacy, body, nil)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", rec.Code, rec.Body.String())
			}
			if msg := errorBody(t, rec); !strings.Contains(msg, "limited to projects (acme-util)") || !strings.Contains(msg, "admin API") {
				t.Errorf("message %q does not say why", msg)
			}
		})
	}
	// Nothing changed.
	if toks, _ := en.cat.Tokens(ctx, ""); len(toks) != len(tokensBefore) {
		t.Errorf("tokens: %d, were %d", len(toks), len(tokensBefore))
	}
	if _, err := en.cat.CheckPassword(ctx, "root", rootPassword); err != nil {
		t.Errorf("root's password changed: %v", err)
	}
	if _, err := en.cat.GetUser(ctx, "eve"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("eve was created: %v", err)
	}
	if _, err := en.cat.GetUser(ctx, "dev"); err != nil {
		t.Errorf("dev was removed: %v", err)
	}
	for _, project := range []string{"acme-util", "beta"} {
		if _, rels, err := en.cat.ProjectDetail(ctx, project); err != nil || len(rels) != 1 || rels[0].Yanked || len(rels[0].Files) != 1 {
			t.Errorf("%s changed: %+v %v", project, rels, err)
		}
	}
	for _, f := range []index.File{mine, other} {
		if !en.exists(f.BlobKey) {
			t.Errorf("blob of %s deleted", f.Filename)
		}
	}
}
