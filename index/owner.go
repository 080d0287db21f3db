package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// Ownership rules (README, "Project owners"):
//
//   - An admin may add and remove any project's owners.
//   - An owner may add and remove the owners of a project they own, as on
//     PyPI, when signed in with their password (or a web session), never
//     with an API token: a token is for CI, and one that leaks must not be
//     able to hand a project to someone else.
//   - The last owner can be removed only by an admin (an owner cannot lock
//     everyone out by mistake). A project without owners is admin-only:
//     admins, and tokens limited to it, may upload; this is also what
//     ForceRemoveUser leaves when it removes a project's only owner.
//
// Every change is audited ("owner add", "owner remove") with the project.

// ProjectOwners is a project with its owners, sorted by name.
type ProjectOwners struct {
	Project string   `json:"project"`
	Owners  []string `json:"owners"`
}

// OwnsProjectsError is RemoveUser's refusal: the user still owns projects,
// which must be handed on first (or ForceRemoveUser used). It matches
// ErrExists: ownerships exist that stand in the way.
type OwnsProjectsError struct {
	User     string
	Projects []string
}

func (e *OwnsProjectsError) Error() string {
	return fmt.Sprintf("user %s owns %s: add another owner to each first, or force the removal (those projects keep their other owners or become admin-only)",
		e.User, strings.Join(e.Projects, ", "))
}

// Is reports whether target is ErrExists.
func (e *OwnsProjectsError) Is(target error) bool { return target == ErrExists }

// MayManageOwners returns nil when by may see and change the owners of
// project (normalized): by is an admin, or an owner of the project signed
// in without an API token. It returns ErrNotFound for an unknown project
// and an ErrForbidden *Error that says why otherwise.
func (c *Catalog) MayManageOwners(ctx context.Context, by Principal, project string) error {
	return c.read(ctx, func(tx *sql.Tx) error {
		id, err := ownedProjectID(ctx, tx, project)
		if err != nil {
			return err
		}
		return mayManageOwners(ctx, tx, by, project, id)
	})
}

func mayManageOwners(ctx context.Context, tx *sql.Tx, by Principal, project string, projectID int64) error {
	if by.Admin && by.Scope >= ScopeAdmin {
		return nil
	}
	if by.TokenID != 0 {
		return Errorf(ErrForbidden, "API tokens cannot manage the owners of '%s': sign in with an owner's password, or use an admin credential", project)
	}
	if by.Scope < ScopeUpload || by.UserID == 0 {
		return Errorf(ErrForbidden, "Only the owners of '%s' and admins may manage its owners", project)
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_owners WHERE project_id = ? AND user_id = ?`, projectID, by.UserID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return Errorf(ErrForbidden, "The user '%s' does not own '%s': only its owners and admins may manage its owners", by.User, project)
	}
	return nil
}

// ownedProjectID returns the id of project (a name, normalized here), or
// ErrNotFound / ErrInvalid.
func ownedProjectID(ctx context.Context, tx *sql.Tx, project string) (int64, error) {
	if !pep503.Valid(project) {
		return 0, Errorf(ErrInvalid, "project name %q", project)
	}
	return projectID(ctx, tx, pep503.Normalize(project))
}

func ownerNames(ctx context.Context, tx *sql.Tx, projectID int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT u.name FROM project_owners o JOIN users u ON u.id = o.user_id
		WHERE o.project_id = ? ORDER BY u.name`, projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ListOwners returns project's owners when by may manage them
// (MayManageOwners, whose errors it returns).
func (c *Catalog) ListOwners(ctx context.Context, by Principal, project string) (ProjectOwners, error) {
	var po ProjectOwners
	err := c.read(ctx, func(tx *sql.Tx) error {
		id, err := ownedProjectID(ctx, tx, project)
		if err != nil {
			return err
		}
		if err := mayManageOwners(ctx, tx, by, pep503.Normalize(project), id); err != nil {
			return err
		}
		po.Project = pep503.Normalize(project)
		po.Owners, err = ownerNames(ctx, tx, id)
		return err
	})
	return po, err
}

// lockOwners takes the project's row lock for the rest of tx, so that two
// owner changes of one project (on PostgreSQL, from two replicas) run one
// after the other and the last-owner rule holds. SQLite has one writer
// anyway.
func lockOwners(ctx context.Context, tx *sql.Tx, projectID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE projects SET display_name = display_name WHERE id = ?`, projectID)
	return err
}

// ownerUserID returns the id of the user named user, or ErrNotFound.
func ownerUserID(ctx context.Context, tx *sql.Tx, user string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: user %q", ErrNotFound, user)
	}
	return id, err
}

// AddOwner makes user an owner of project, when by may manage its owners,
// and returns the project's owners afterwards. It returns ErrNotFound for
// an unknown project or user, ErrExists when user already owns it, and
// MayManageOwners' errors.
func (c *Catalog) AddOwner(ctx context.Context, by Principal, project, user string, who Actor) (ProjectOwners, error) {
	return c.changeOwner(ctx, by, project, user, who, true)
}

// RemoveOwner removes user from project's owners, when by may manage them,
// and returns the owners left. The last owner can be removed only by an
// admin (the project becomes admin-only); an owner gets ErrForbidden. It
// returns ErrNotFound for an unknown project or user or one that does not
// own the project, and MayManageOwners' errors.
func (c *Catalog) RemoveOwner(ctx context.Context, by Principal, project, user string, who Actor) (ProjectOwners, error) {
	return c.changeOwner(ctx, by, project, user, who, false)
}

func (c *Catalog) changeOwner(ctx context.Context, by Principal, project, user string, who Actor, add bool) (ProjectOwners, error) {
	var po ProjectOwners
	err := c.write(ctx, func(tx *sql.Tx) error {
		pid, err := ownedProjectID(ctx, tx, project)
		if err != nil {
			return err
		}
		name := pep503.Normalize(project)
		if err := mayManageOwners(ctx, tx, by, name, pid); err != nil {
			return err
		}
		uid, err := ownerUserID(ctx, tx, user)
		if err != nil {
			return err
		}
		if err := lockOwners(ctx, tx, pid); err != nil {
			return err
		}
		owners, err := ownerNames(ctx, tx, pid)
		if err != nil {
			return err
		}
		owns := slices.Contains(owners, user)
		action, detail := "owner add", "user "+user
		switch {
		case add && owns:
			return fmt.Errorf("%w: %s already owns %s", ErrExists, user, name)
		case add:
			_, err = tx.ExecContext(ctx, `INSERT INTO project_owners (project_id, user_id) VALUES (?, ?)`, pid, uid)
		case !owns:
			return fmt.Errorf("%w: %s is not an owner of %s", ErrNotFound, user, name)
		case len(owners) == 1 && !(by.Admin && by.Scope >= ScopeAdmin):
			return Errorf(ErrForbidden, "'%s' is the last owner of '%s': add another owner first (only an admin may leave a project without owners)", user, name)
		default:
			action = "owner remove"
			if len(owners) == 1 {
				detail += "; no owners left: admin-only"
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM project_owners WHERE project_id = ? AND user_id = ?`, pid, uid)
		}
		if err != nil {
			return err
		}
		po.Project = name
		if po.Owners, err = ownerNames(ctx, tx, pid); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: action, Project: name,
			RemoteAddr: who.RemoteAddr, Detail: detail})
	})
	return po, err
}

// ownedBy returns the projects userID owns, each with all its owners.
func ownedBy(ctx context.Context, tx *sql.Tx, userID int64) ([]ProjectOwners, []int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT p.id, p.name FROM project_owners o JOIN projects p ON p.id = o.project_id
		WHERE o.user_id = ? ORDER BY p.name`, userID)
	if err != nil {
		return nil, nil, err
	}
	var out []ProjectOwners
	var ids []int64
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, nil, err
		}
		out = append(out, ProjectOwners{Project: name})
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return out, ids, nil
}

// removeUser deletes the user name. A user who owns projects is refused
// with an *OwnsProjectsError unless force is set; then each project loses
// the user as an owner (audited per project) and the result lists them
// with the owners they keep (none: admin-only).
func (c *Catalog) removeUser(ctx context.Context, name, actor string, force bool) ([]ProjectOwners, error) {
	var owned []ProjectOwners
	err := c.write(ctx, func(tx *sql.Tx) error {
		uid, err := ownerUserID(ctx, tx, name)
		if err != nil {
			return err
		}
		var ids []int64
		if owned, ids, err = ownedBy(ctx, tx, uid); err != nil {
			return err
		}
		if len(owned) > 0 && !force {
			e := &OwnsProjectsError{User: name}
			for _, po := range owned {
				e.Projects = append(e.Projects, po.Project)
			}
			return e
		}
		now := c.now().UnixMicro()
		var names []string
		for i, id := range ids {
			if err := lockOwners(ctx, tx, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM project_owners WHERE project_id = ? AND user_id = ?`, id, uid); err != nil {
				return err
			}
			if owned[i].Owners, err = ownerNames(ctx, tx, id); err != nil {
				return err
			}
			detail := "user " + name + " (removed with the user)"
			if len(owned[i].Owners) == 0 {
				detail += "; no owners left: admin-only"
			}
			if err := audit(ctx, tx, now, Event{Actor: actor, Action: "owner remove", Project: owned[i].Project, Detail: detail}); err != nil {
				return err
			}
			names = append(names, owned[i].Project)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, uid); err != nil {
			return err
		}
		detail := "user " + name
		if len(names) > 0 {
			detail += "; forced, owned " + strings.Join(names, ", ")
		}
		return audit(ctx, tx, now, Event{Actor: actor, Action: "user remove", Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	if owned == nil {
		owned = []ProjectOwners{}
	}
	return owned, nil
}
