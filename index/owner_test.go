package index_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/storage"
)

// TestOwnership checks the ownership rules in the catalog: who may manage
// owners, the last owner, and removing a user who owns projects.
func TestOwnership(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	ids := map[string]int64{}
	for _, u := range []string{"alice", "bob", "carol"} {
		usr, err := cat.AddUser(ctx, u, u+"-password", false, "test")
		if err != nil {
			t.Fatal(err)
		}
		ids[u] = usr.ID
	}
	fn, data := indextest.Wheel(t, "acme_util", "1.0", "")
	d := indextest.Sum(data)
	if _, _, err := cat.AddFile(ctx, index.NewFile{Project: "Acme_Util", Version: "1.0", Filename: fn, PackageType: "bdist_wheel",
		Size: int64(len(data)), SHA256: d.SHA256, MD5: d.MD5, Blake2b256: d.Blake2b256, BlobKey: storage.Key(d.SHA256),
		UploadedBy: "alice", UploaderID: ids["alice"]}); err != nil {
		t.Fatal(err)
	}
	pw := func(u string) index.Principal {
		return index.Principal{User: u, UserID: ids[u], Scope: index.ScopeUpload}
	}
	admin := index.Principal{User: "root", Admin: true, Scope: index.ScopeAdmin}
	token := pw("alice")
	token.TokenID = 7
	who := index.Actor{Name: "test"}

	steps := []struct {
		name    string
		do      func() (index.ProjectOwners, error)
		want    error
		owners  []string
		mayBeOK bool
	}{
		{"token may not", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, token, "acme-util", "bob", who) }, index.ErrForbidden, nil, false},
		{"non-owner may not", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, pw("bob"), "acme-util", "bob", who) }, index.ErrForbidden, nil, false},
		{"owner adds (any spelling)", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, pw("alice"), "ACME.util", "bob", who) }, nil, []string{"alice", "bob"}, true},
		{"twice", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, pw("alice"), "acme-util", "bob", who) }, index.ErrExists, nil, false},
		{"unknown user", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, pw("alice"), "acme-util", "nobody", who) }, index.ErrNotFound, nil, false},
		{"unknown project", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, admin, "nope", "bob", who) }, index.ErrNotFound, nil, false},
		{"bad project name", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, admin, "-nope-", "bob", who) }, index.ErrInvalid, nil, false},
		{"not an owner", func() (index.ProjectOwners, error) {
			return cat.RemoveOwner(ctx, pw("alice"), "acme-util", "carol", who)
		}, index.ErrNotFound, nil, false},
		{"owner removes owner", func() (index.ProjectOwners, error) { return cat.RemoveOwner(ctx, pw("bob"), "acme-util", "alice", who) }, nil, []string{"bob"}, true},
		{"last owner stays", func() (index.ProjectOwners, error) { return cat.RemoveOwner(ctx, pw("bob"), "acme-util", "bob", who) }, index.ErrForbidden, nil, false},
		{"admin lists", func() (index.ProjectOwners, error) { return cat.ListOwners(ctx, admin, "acme-util") }, nil, []string{"bob"}, true},
		{"non-owner may not list", func() (index.ProjectOwners, error) { return cat.ListOwners(ctx, pw("alice"), "acme-util") }, index.ErrForbidden, nil, false},
		{"admin adds", func() (index.ProjectOwners, error) { return cat.AddOwner(ctx, admin, "acme-util", "carol", who) }, nil, []string{"bob", "carol"}, true},
	}
	for _, s := range steps {
		po, err := s.do()
		if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
		if s.mayBeOK && (po.Project != "acme-util" || !slices.Equal(po.Owners, s.owners)) {
			t.Errorf("%s: %+v, want owners %v", s.name, po, s.owners)
		}
	}
	// Uploads follow: alice is no owner any more.
	if ok, _ := cat.MayUpload(ctx, "acme-util", ids["alice"], false); ok {
		t.Error("alice may still upload")
	}

	// A user who owns projects is refused, naming them, unless forced.
	var owns *index.OwnsProjectsError
	if err := cat.RemoveUser(ctx, "bob", "test"); !errors.As(err, &owns) || !errors.Is(err, index.ErrExists) || !slices.Equal(owns.Projects, []string{"acme-util"}) {
		t.Fatalf("RemoveUser of an owner: %v", err)
	}
	if err := cat.RemoveUser(ctx, "alice", "test"); err != nil {
		t.Fatalf("RemoveUser of a non-owner: %v", err)
	}
	owned, err := cat.ForceRemoveUser(ctx, "bob", "test")
	if err != nil || len(owned) != 1 || !slices.Equal(owned[0].Owners, []string{"carol"}) {
		t.Fatalf("ForceRemoveUser(bob) = %+v, %v", owned, err)
	}
	owned, err = cat.ForceRemoveUser(ctx, "carol", "test")
	if err != nil || len(owned) != 1 || len(owned[0].Owners) != 0 {
		t.Fatalf("ForceRemoveUser(carol) = %+v, %v", owned, err)
	}
	if _, err := cat.ForceRemoveUser(ctx, "carol", "test"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("ForceRemoveUser of a removed user: %v", err)
	}
	po, err := cat.ListOwners(ctx, admin, "acme-util")
	if err != nil || len(po.Owners) != 0 {
		t.Errorf("an admin-only project: %+v, %v", po, err)
	}
	events, _ := cat.AuditEvents(ctx, index.AuditQuery{Project: "acme-util"})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action+": "+e.Detail)
	}
	want := []string{
		"owner remove: user carol (removed with the user); no owners left: admin-only",
		"owner remove: user bob (removed with the user)",
		"owner add: user carol",
		"owner remove: user alice",
		"owner add: user bob",
	}
	if !slices.Equal(actions[:len(want)], want) {
		t.Errorf("audit:\n%q\nwant\n%q", actions, want)
	}
}
