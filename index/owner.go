package index

import "context"

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
	var exists, owner int
	err := c.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE name = ?1),
		EXISTS (SELECT 1 FROM project_owners o JOIN projects p ON p.id = o.project_id WHERE p.name = ?1 AND o.user_id = ?2)`,
		project, userID).Scan(&exists, &owner)
	if err != nil {
		return false, formatError(err)
	}
	return exists == 0 || anyProject || owner == 1, nil
}

// AuthorizeUpload returns nil when p may upload to project (normalized):
// its token restriction, if any, includes the project, and MayUpload says
// yes. It returns an index.ErrForbidden *Error that says why otherwise.
// The upload endpoint and the dev-number endpoint both ask it.
func (c *Catalog) AuthorizeUpload(ctx context.Context, p Principal, project string) error {
	if !p.ProjectAllowed(project) {
		return Errorf(ErrForbidden, "The given token isn't allowed to upload to project '%s'", project)
	}
	ok, err := c.MayUpload(ctx, project, p.UserID, p.Admin || len(p.Projects) > 0)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(ErrForbidden, "The user '%s' isn't allowed to upload to project '%s': only its owners and admins may", p.User, project)
	}
	return nil
}
