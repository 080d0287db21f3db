package scm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep508"
)

// AutoCompat chooses the compat level from a pyproject.toml (nil: none
// found): the setuptools_scm release line its [build-system] requires
// allow, which is what pip's build isolation installs. When several lines
// are allowed the highest wins, since pip installs the newest release that
// matches; without a setuptools_scm requirement, or one without a version,
// it is the newest line (DefaultCompat). The reason says which of these
// applied, e.g. "pyproject.toml build-system requires setuptools_scm<8".
//
// A requirement for vcs-versioning (the library setuptools_scm 10 wraps)
// means 10. A specifier that allows only releases below 7 gives 7, and one
// that allows only releases above 10 gives 10, each with a reason that
// says so. Markers are not evaluated: every setuptools_scm requirement
// counts, and the highest line any of them allows wins. Errors: ErrConfig
// for a requirement that does not parse.
func AutoCompat(pp *Pyproject) (Compat, string, error) {
	if pp == nil {
		return DefaultCompat, "newest (no pyproject.toml)", nil
	}
	var (
		best    Compat
		because string
	)
	for _, raw := range pp.BuildRequires {
		req, err := pep508.ParseRequirement(raw)
		if err != nil {
			return 0, "", errorf(ErrConfig, "%s: [build-system] requires %q: %v", pp.Path, raw, err)
		}
		var c Compat
		var why string
		switch req.Name {
		case "setuptools-scm":
			c, why = compatAllowed(req.Specifier)
		case "vcs-versioning":
			c, why = Compat10, ""
		default:
			continue
		}
		if c > best {
			best = c
			because = "pyproject.toml build-system requires " + strings.TrimSpace(raw) + why
		}
	}
	if best == 0 {
		return DefaultCompat, "newest (pyproject.toml build-system requires no setuptools_scm)", nil
	}
	return best, because, nil
}

// compatAllowed returns the highest release line (7 to 10) of which the
// specifier allows some release, and a note when the answer is clamped or
// the specifier has no version.
func compatAllowed(spec pep440.SpecifierSet) (Compat, string) {
	if spec.Len() == 0 {
		return DefaultCompat, " (no version: the newest)"
	}
	for line := int(Compat10); line >= int(Compat7); line-- {
		if allowsLine(spec, line) {
			return Compat(line), ""
		}
	}
	for line := int(Compat10) + 1; line < int(Compat10)+20; line++ {
		if allowsLine(spec, line) {
			return Compat10, fmt.Sprintf(" (only %d.x or later; %d is the newest imitated)", line, Compat10)
		}
	}
	return Compat7, fmt.Sprintf(" (only releases before 7; %d is the oldest imitated)", Compat7)
}

// allowsLine reports whether spec allows some final release line.x: it
// tries the line's first and a far release, and every version the
// specifier names in that line together with its neighbours above.
func allowsLine(spec pep440.SpecifierSet, line int) bool {
	l := strconv.Itoa(line)
	candidates := []string{l, l + ".0.0", l + ".999.999"}
	for _, sp := range spec.Specifiers() {
		w := strings.TrimSuffix(sp.Version(), ".*")
		v, err := pep440.Parse(w)
		if err != nil {
			continue
		}
		rel := v.Release()
		if rel[0] != l || v.Epoch() != "" && v.Epoch() != "0" {
			continue
		}
		candidates = append(candidates, v.Public().String())
		for i := range rel {
			bumped := append([]string{}, rel[:i+1]...)
			n, _ := strconv.Atoi(bumped[i])
			bumped[i] = strconv.Itoa(n + 1)
			if i == 0 {
				continue // the next line
			}
			candidates = append(candidates, strings.Join(bumped, "."))
		}
		candidates = append(candidates, strings.Join(rel, ".")+".1", v.Public().String()+".post1")
	}
	for _, c := range candidates {
		v, err := pep440.Parse(c)
		if err == nil && spec.Contains(v, false) {
			return true
		}
	}
	return false
}
