package pep508

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Requirement is a parsed PEP 508 dependency specifier without a URL:
// `name[extra,...] specifier ; marker`.
//
// https://peps.python.org/pep-0508/#specification
type Requirement struct {
	Name      string   // PEP 503 normalized
	Extras    []string // normalized, sorted, unique
	Specifier pep440.SpecifierSet
	Marker    *Marker // nil: none
}

// String returns the requirement in canonical form.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	b.WriteString(r.Specifier.String())
	if r.Marker != nil {
		b.WriteString("; " + r.Marker.String())
	}
	return b.String()
}

// ErrUnsupported is wrapped by the errors for requirements that name no
// project of an index: direct references (`name @ URL`), bare URLs and
// local paths (and, in pip requirements files, editables).
var ErrUnsupported = errors.New("unsupported requirement")

// ParseRequirement parses one PEP 508 requirement. Direct references
// (`name @ URL`) and bare URLs or paths wrap ErrUnsupported: only names
// that an index can answer for are taken. Other malformed input is an
// error naming the requirement.
//
// https://peps.python.org/pep-0508/#grammar
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	var r Requirement
	spec, marker, hasMarker := strings.Cut(s, ";")
	if hasMarker {
		m, err := ParseMarker(marker)
		if err != nil {
			return r, err
		}
		r.Marker = m
	}
	spec = strings.TrimSpace(spec)
	i := 0
	for i < len(spec) && (isIdent(spec[i]) || spec[i] == '-' || spec[i] == '.') {
		i++
	}
	name := spec[:i]
	rest := strings.TrimSpace(spec[i:])
	if strings.Contains(s, "://") || strings.HasPrefix(rest, "@") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return r, fmt.Errorf("%w: %q is a URL or a path, not a requirement by name (name, extras, versions, markers)", ErrUnsupported, s)
	}
	if name == "" || !pep503.Valid(name) {
		return r, fmt.Errorf("invalid requirement %q: no project name", s)
	}
	r.Name = pep503.Normalize(name)
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return r, fmt.Errorf("invalid requirement %q: missing ']'", s)
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			if e = strings.TrimSpace(e); e != "" {
				if !pep503.Valid(e) {
					return r, fmt.Errorf("invalid requirement %q: bad extra %q", s, e)
				}
				r.Extras = append(r.Extras, pep503.Normalize(e))
			}
		}
		slices.Sort(r.Extras)
		r.Extras = slices.Compact(r.Extras)
		rest = strings.TrimSpace(rest[end+1:])
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = rest[1 : len(rest)-1]
	}
	set, err := pep440.ParseSpecifierSet(rest)
	if err != nil {
		return r, fmt.Errorf("invalid requirement %q: %w", s, err)
	}
	r.Specifier = set
	return r, nil
}
