package generic

import (
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
)

// Latest is the version segment that asks for the newest version having a
// file (GET /generic/NAME/latest/FILE).
const Latest = "latest"

// Path is the parsed path of a generic file: /generic/NAME/VERSION/FILE.
type Path struct {
	Name        string // PEP 503 normalized
	DisplayName string // as sent
	// Version is the normalized PEP 440 version, or "" for Latest.
	Version  string
	Filename string
}

// IsLatest reports whether the path asks for the newest version.
func (p Path) IsLatest() bool { return p.Version == "" }

// URLPath returns the path of the file below the server's base path:
// "/generic/NAME/VERSION/FILE", every segment escaped.
func (p Path) URLPath() string {
	v := p.Version
	if v == "" {
		v = Latest
	}
	return "/generic/" + p.Name + "/" + httpx.EscapeFilename(v) + "/" + httpx.EscapeFilename(p.Filename)
}

// ParsePath checks the three segments of a generic file's path, already
// percent-decoded. name must be a valid package name (PEP 503 characters,
// at most 200 bytes), version a PEP 440 version (or "latest" when
// allowLatest), filename one safe path segment (index.CheckGenericFilename:
// no '/', '\', "..", NUL or control character, no leading dot, at most 255
// bytes). It returns an index.ErrInvalid *Error that says which part is
// wrong. Nothing of what it returns can leave the catalog's rows: the blob
// is found by its digest, never by this path.
func ParsePath(name, version, filename string, allowLatest bool) (Path, error) {
	if !index.ValidGenericName(name) {
		return Path{}, index.Errorf(index.ErrInvalid, "%q is not a valid package name: letters, digits and '.', '_', '-' between them, at most 200 bytes", clip(name))
	}
	p := Path{Name: pep503.Normalize(name), DisplayName: name, Filename: filename}
	if allowLatest && version == Latest {
		p.Version = ""
	} else {
		v, err := index.ParseGenericVersion(version)
		if err != nil {
			return Path{}, err
		}
		p.Version = v.String()
	}
	if err := index.CheckGenericFilename(filename); err != nil {
		return Path{}, err
	}
	return p, nil
}

// clip shortens a client-supplied string for a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
