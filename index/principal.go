package index

import "slices"

// Principal is an authenticated caller: a user with a password (scope
// upload, or admin for admins), or an API token with its own scope and
// optional project restriction.
type Principal struct {
	User   string
	UserID int64
	Admin  bool  // the admin scope is in effect
	Scope  Scope // what the credential may do
	// Projects are the normalized names the credential is limited to;
	// empty: any. A principal with the admin scope never has any
	// (CreateToken refuses such tokens, CheckToken demotes old ones).
	Projects []string
	TokenID  int64 // 0 for a password
}

// Anonymous is the principal of a request without credentials.
var Anonymous = Principal{}

// ProjectAllowed reports whether the credential's project restriction (if
// any) includes project (a normalized name).
func (p Principal) ProjectAllowed(project string) bool {
	return len(p.Projects) == 0 || slices.Contains(p.Projects, project)
}

// CanRead reports whether p may read project (or the root when project is
// empty) in private-read mode.
func (p Principal) CanRead(project string) bool {
	if p.Scope < ScopeRead {
		return false
	}
	return project == "" || p.ProjectAllowed(project)
}
