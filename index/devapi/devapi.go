// Package devapi is the wire format of the dev-number endpoint,
// /api/v1/projects/NAME/dev-versions, shared by the server
// (index/admin) and its client (upload/scm, behind scmversion --index).
//
// It imports only the standard library, so that the client does not pull
// in the catalog.
package devapi

import (
	"net/url"
	"strconv"
	"strings"
)

// Route is the endpoint's route pattern, with the project as the path
// parameter "project".
const Route = "/api/v1/projects/:project/dev-versions"

// Path returns the endpoint's path, relative to the index URL, for
// project (path-escaped).
func Path(project string) string {
	return "/api/v1/projects/" + url.PathEscape(project) + "/dev-versions"
}

// Request is the JSON body of a request.
//
// The server's contract: numbers are strictly increasing per project and
// base, always above any <base>.devN already uploaded, and the same commit
// (with the same base and, for a dirty tree, the same changes) gets the
// same number again, so a retried request is harmless. Without Base the
// server applies guess-next-dev to the project's newest version (State's
// Newest): a dev version's base is kept, anything else has its last number
// bumped; 0.1 for a project without versions.
type Request struct {
	// Base is the public version before ".devN" ("1.2.4"); empty to let
	// the server choose.
	Base string `json:"base,omitempty"`
	// Commit is the full hash of the commit being built.
	Commit string `json:"commit"`
	// Dirty is a hex digest of the uncommitted changes when the work tree
	// is dirty; such a build is numbered apart from the clean commit.
	Dirty string `json:"dirty,omitempty"`
	// Branch is the branch being built; informational.
	Branch string `json:"branch,omitempty"`
	// AboveAll asks for a version greater than every version the project
	// has (State's Newest). The server answers 409 with a Conflict when
	// the base no longer achieves that; the client then asks for the state
	// again. A commit's existing number is returned regardless.
	AboveAll bool `json:"above_all,omitempty"`
}

// State is the answer to GET on the endpoint: what a client needs to
// choose a base from the index (a clone without tags).
type State struct {
	Project string `json:"project"`
	// Newest is the greatest version (PEP 440) among the project's
	// releases, uploaded files and dev numbers handed out; "" when none.
	Newest string `json:"newest"`
}

// Conflict is the body of a 409 answer to an AboveAll request.
type Conflict struct {
	Error string `json:"error"`
	// Newest is the project's newest version at the time of the answer.
	Newest string `json:"newest"`
}

// Response is the server's answer: Version is Base + ".dev" + Number
// (equal to it under PEP 440 when the server normalizes the base).
type Response struct {
	// Base is the base the number was allocated for: the request's,
	// normalized, or the one the server chose.
	Base string `json:"base"`
	// Number is the dev number.
	Number int `json:"number"`
	// Reused reports that the commit already had this number.
	Reused bool `json:"reused"`
	// Dirty echoes the request's digest when the number is for a dirty
	// tree (a server that predates dirty keys leaves it out).
	Dirty string `json:"dirty,omitempty"`
	// Version is the whole dev version.
	Version string `json:"version"`
}

// DevBase returns the public version before ".devN" in Version ("1.2.4"
// for "1.2.4.dev17"), computed from Version and Number alone.
func (r Response) DevBase() string {
	return strings.TrimSuffix(r.Version, ".dev"+strconv.Itoa(r.Number))
}
