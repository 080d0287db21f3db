// Package devapi is the wire format of the dev-number endpoint,
// POST /api/v1/projects/NAME/dev-versions, shared by the server
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
// (with the same base) gets the same number again, so a retried request is
// harmless. Without Base the server uses the next version after the
// project's newest final release.
type Request struct {
	// Base is the public version before ".devN" ("1.2.4"); empty to let
	// the server choose.
	Base string `json:"base,omitempty"`
	// Commit is the full hash of the commit being built.
	Commit string `json:"commit"`
	// Branch is the branch being built; informational.
	Branch string `json:"branch,omitempty"`
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
	// Version is the whole dev version.
	Version string `json:"version"`
}

// DevBase returns the public version before ".devN" in Version ("1.2.4"
// for "1.2.4.dev17"), computed from Version and Number alone.
func (r Response) DevBase() string {
	return strings.TrimSuffix(r.Version, ".dev"+strconv.Itoa(r.Number))
}
