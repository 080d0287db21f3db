package pep508

import (
	"errors"
	"fmt"
	"net/url"
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
// that an index can answer for are taken. A requirement longer than
// MaxLength bytes, or whose marker nests deeper than MaxDepth, is refused
// before it is parsed. Other malformed input is an error naming the
// requirement (its first 80 bytes).
//
// https://peps.python.org/pep-0508/#grammar
func ParseRequirement(s string) (Requirement, error) {
	var r Requirement
	if err := checkLength("requirement", s); err != nil {
		return r, err
	}
	s = strings.TrimSpace(s)
	spec, marker, hasMarker := strings.Cut(s, ";")
	spec = strings.TrimSpace(spec)
	name, rest := cutName(spec)
	if strings.Contains(spec, "://") || strings.HasPrefix(rest, "@") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return r, fmt.Errorf("%w: %s is a URL or a path, not a requirement by name (name, extras, versions, markers)", ErrUnsupported, quote(s))
	}
	if name == "" || !pep503.Valid(name) {
		return r, fmt.Errorf("invalid requirement %s: no project name", quote(s))
	}
	r.Name = pep503.Normalize(name)
	extras, rest, err := cutExtras(rest)
	if err != nil {
		return r, fmt.Errorf("invalid requirement %s: %w", quote(s), err)
	}
	r.Extras = extras
	if strings.HasPrefix(rest, "@") {
		return r, fmt.Errorf("%w: %s is a direct reference (a URL), not a requirement by name (name, extras, versions, markers)", ErrUnsupported, quote(s))
	}
	if hasMarker {
		m, err := ParseMarker(marker)
		if err != nil {
			return r, err
		}
		r.Marker = m
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = rest[1 : len(rest)-1]
	}
	set, err := pep440.ParseSpecifierSet(rest)
	if err != nil {
		if len(err.Error()) > 200 { // it quotes the specifier whole
			err = fmt.Errorf("%w: %s", pep440.ErrInvalidSpecifier, quote(rest))
		}
		return r, fmt.Errorf("invalid requirement %s: %w", quote(s), err)
	}
	r.Specifier = set
	return r, nil
}

// cutName splits the project name off the front of a requirement's
// specification part; rest has its leading blanks removed.
func cutName(spec string) (name, rest string) {
	i := 0
	for i < len(spec) && (isIdent(spec[i]) || spec[i] == '-' || spec[i] == '.') {
		i++
	}
	return spec[:i], strings.TrimSpace(spec[i:])
}

// cutExtras parses a leading "[extra, ...]" of rest, if any, and returns
// the extras normalized, sorted and unique, and what follows (trimmed).
func cutExtras(rest string) ([]string, string, error) {
	if !strings.HasPrefix(rest, "[") {
		return nil, rest, nil
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return nil, "", errors.New("missing ']'")
	}
	var extras []string
	for _, e := range strings.Split(rest[1:end], ",") {
		if e = strings.TrimSpace(e); e != "" {
			if !pep503.Valid(e) {
				return nil, "", fmt.Errorf("bad extra %s", quote(e))
			}
			extras = append(extras, pep503.Normalize(e))
		}
	}
	slices.Sort(extras)
	return slices.Compact(extras), strings.TrimSpace(rest[end+1:]), nil
}

// Check reports whether s is a valid PEP 508 requirement, as a tool that
// reads core metadata (pip, through packaging) would parse it: what
// ParseRequirement accepts, and also a direct reference
// `name [extras] @ URL [; marker]`, which ParseRequirement refuses with
// ErrUnsupported because an index cannot answer for it. A bare URL or path
// is not a requirement and is an error here. The limits of
// ParseRequirement (MaxLength, MaxDepth) apply.
//
// https://peps.python.org/pep-0508/#grammar
func Check(s string) error {
	if err := checkLength("requirement", s); err != nil {
		return err
	}
	t := strings.TrimSpace(s)
	name, rest := cutName(t)
	if _, after, err := cutExtras(rest); err == nil && strings.HasPrefix(after, "@") && name != "" {
		return checkDirect(t, name, after[1:])
	}
	_, err := ParseRequirement(s)
	if errors.Is(err, ErrUnsupported) {
		return fmt.Errorf("invalid requirement %s: no project name (a bare URL or path)", quote(t))
	}
	return err
}

// checkDirect checks a direct reference, `name [extras] @ URL [; marker]`,
// given its name and the text after "@" (the extras are checked). The URL
// runs to the first blank, and a marker must be separated from it by one.
//
// https://peps.python.org/pep-0508/#grammar (url_req)
func checkDirect(s, name, after string) error {
	if !pep503.Valid(name) {
		return fmt.Errorf("invalid requirement %s: no project name", quote(s))
	}
	after = strings.TrimLeft(after, " \t")
	end := strings.IndexAny(after, " \t")
	if end < 0 {
		end = len(after)
	}
	if end == 0 {
		return fmt.Errorf("invalid requirement %s: no URL after '@'", quote(s))
	}
	// As packaging checks it: a scheme and a host, or a file: URL.
	if u, err := url.Parse(after[:end]); err != nil || u.Scheme == "" || u.Host == "" && u.Scheme != "file" {
		return fmt.Errorf("invalid requirement %s: %s is not a URL with a scheme and a host", quote(s), quote(after[:end]))
	}
	tail := strings.TrimSpace(after[end:])
	if tail == "" {
		return nil
	}
	marker, ok := strings.CutPrefix(tail, ";")
	if !ok {
		return fmt.Errorf("invalid requirement %s: unexpected %s after the URL", quote(s), quote(tail))
	}
	if _, err := ParseMarker(marker); err != nil {
		return err
	}
	return nil
}
