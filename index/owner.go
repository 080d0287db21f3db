package index

import (
	"context"

	"github.com/pyindex/pyindex/index/pep503"
)

// IsOwner reports whether the user owns the project (normalized name).
func (c *Catalog) IsOwner(ctx context.Context, project, user string) (bool, error) {
	var n int
	err := c.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM project_owners o JOIN projects p ON p.id = o.project_id
		JOIN users u ON u.id = o.user_id WHERE p.name = ? AND u.name = ?)`, project, user).Scan(&n)
	return n == 1, formatError(err)
}

// Owners lists a project's owners.
func (c *Catalog) Owners(ctx context.Context, project string) ([]string, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT u.name FROM project_owners o JOIN projects p ON p.id = o.project_id
		JOIN users u ON u.id = o.user_id WHERE p.name = ? ORDER BY u.name`, project)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MayUpload reports whether a user may upload to project (normalized): yes
// when the project does not exist yet (the upload will make the user its
// owner), when anyProject is set (an admin, or a token limited to it), or
// when the user owns it. AddFile repeats the check atomically.
func (c *Catalog) MayUpload(ctx context.Context, project string, userID int64, anyProject bool) (bool, error) {
	return c.mayWrite(ctx, projectSpace, project, userID, anyProject)
}

// AuthorizeUpload returns nil when p may upload to project (normalized):
// its token restriction, if any, includes the project, and MayUpload says
// yes. It returns an index.ErrForbidden *Error that says why otherwise.
// The upload endpoint and the dev-number endpoint both ask it.
func (c *Catalog) AuthorizeUpload(ctx context.Context, p Principal, project string) error {
	return c.authorize(ctx, projectSpace, p, project)
}

// AuthorizeGeneric returns nil when p may upload to (or delete from) the
// generic package name (any spelling), by the rules AuthorizeUpload applies
// to projects: a token limited to projects is limited to the generic
// packages of the same names; a name nobody has uploaded yet is free (the
// first uploader becomes its owner); an existing one takes an owner, an
// admin or a token limited to it. Generic names are their own namespace:
// owning project "x" says nothing about generic package "x". It returns an
// index.ErrForbidden *Error that says why otherwise.
func (c *Catalog) AuthorizeGeneric(ctx context.Context, p Principal, name string) error {
	return c.authorize(ctx, genericSpace, p, pep503.Normalize(name))
}

// nameSpace is a namespace of owned names: projects, or generic packages.
type nameSpace struct {
	what   string // for messages: "project", "generic package"
	table  string // the names' table
	owners string // its owners' table
	fk     string // the owners' column referencing table
}

var (
	projectSpace = nameSpace{what: "project", table: "projects", owners: "project_owners", fk: "project_id"}
	genericSpace = nameSpace{what: "generic package", table: "generic_packages", owners: "generic_owners", fk: "package_id"}
)

// mayWrite is MayUpload in namespace ns.
func (c *Catalog) mayWrite(ctx context.Context, ns nameSpace, name string, userID int64, anyName bool) (bool, error) {
	var exists, owner int
	err := c.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+ns.table+` WHERE name = ?1),
		EXISTS (SELECT 1 FROM `+ns.owners+` o JOIN `+ns.table+` p ON p.id = o.`+ns.fk+` WHERE p.name = ?1 AND o.user_id = ?2)`,
		name, userID).Scan(&exists, &owner)
	if err != nil {
		return false, formatError(err)
	}
	return exists == 0 || anyName || owner == 1, nil
}

// authorize is AuthorizeUpload in namespace ns.
func (c *Catalog) authorize(ctx context.Context, ns nameSpace, p Principal, name string) error {
	if !p.ProjectAllowed(name) {
		return Errorf(ErrForbidden, "The given token isn't allowed to upload to %s '%s'", ns.what, name)
	}
	ok, err := c.mayWrite(ctx, ns, name, p.UserID, p.Admin || len(p.Projects) > 0)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(ErrForbidden, "The user '%s' isn't allowed to upload to %s '%s': only its owners and admins may", p.User, ns.what, name)
	}
	return nil
}
