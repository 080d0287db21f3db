package pep440

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidSpecifier is the sentinel wrapped by every error that
// ParseSpecifier and ParseSpecifierSet return for malformed input.
var ErrInvalidSpecifier = errors.New("invalid specifier")

// Specifier is one version clause such as ">=3.8", "!=3.0.*", "~=1.4.5" or
// "===foobar". It is an immutable value.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#version-specifiers
type Specifier struct {
	op       string  // "~=", "==", "!=", "<=", ">=", "<", ">" or "==="
	version  string  // the version as written, surrounding space removed
	v        Version // parsed version (the base for wildcards); unset for ===
	wildcard bool    // "==V.*" or "!=V.*"
	hasLocal bool    // the version has a "+local" label (== and != only)
	pre      bool    // the clause itself names a pre-release
	bound    Version // "<": the exclusive upper bound (V, or V.dev0 for a non-pre-release V)
	prefix   string  // "~=" and wildcards: release prefix that must match
	lowered  string  // "===": the version, lower-cased
}

// ParseSpecifier parses a single clause: an operator, optional spaces and a
// version. The error wraps ErrInvalidSpecifier. The rules are those of
// packaging.specifiers.Specifier: wildcards only with == and !=, local labels
// only with == and !=, "~=" needs at least two release components, and
// "===" takes any string without whitespace, ';' or ')'.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#version-specifiers
func ParseSpecifier(s string) (Specifier, error) {
	sp, ok := parseSpecifier(s)
	if !ok {
		return Specifier{}, fmt.Errorf("%w: %q", ErrInvalidSpecifier, s)
	}
	return sp, nil
}

func parseSpecifier(in string) (Specifier, bool) {
	s := trimSpace(in)
	var op string
	switch {
	case strings.HasPrefix(s, "==="):
		op = "==="
	case strings.HasPrefix(s, "~="), strings.HasPrefix(s, "=="), strings.HasPrefix(s, "!="),
		strings.HasPrefix(s, "<="), strings.HasPrefix(s, ">="):
		op = s[:2]
	case strings.HasPrefix(s, "<"), strings.HasPrefix(s, ">"):
		op = s[:1]
	default:
		return Specifier{}, false
	}
	sp := Specifier{op: op, version: trimSpace(s[len(op):])}
	ver := sp.version

	if op == "===" {
		// Arbitrary equality: anything without whitespace, ';' or ')'.
		if strings.ContainsAny(ver, ";)") || strings.IndexFunc(ver, isPySpace) >= 0 {
			return Specifier{}, false
		}
		sp.lowered = strings.ToLower(ver)
		if v, ok := parse(ver); ok {
			sp.pre = v.IsPrerelease()
		}
		return sp, true
	}

	if base, ok := strings.CutSuffix(ver, ".*"); ok {
		// Prefix matching: v?(N!)?N(.N)*.* with == and != only.
		if op != "==" && op != "!=" || !plainRelease(base) {
			return Specifier{}, false
		}
		v, ok := parse(base)
		if !ok {
			return Specifier{}, false
		}
		sp.v = v
		sp.wildcard = true
		sp.prefix = v.releaseOr0()
		return sp, true
	}

	v, ok := parse(ver)
	if !ok {
		return Specifier{}, false
	}
	sp.v = v
	sp.hasLocal = v.local != ""
	if sp.hasLocal && op != "==" && op != "!=" {
		return Specifier{}, false
	}
	switch op {
	case "~=":
		i := strings.LastIndexByte(v.release, '.')
		if i < 0 {
			return Specifier{}, false
		}
		sp.prefix = v.release[:i]
	case "<":
		sp.bound = v
		if !v.IsPrerelease() {
			sp.bound = MustParse(v.String() + ".dev0")
		}
	}
	sp.pre = op != "!=" && v.IsPrerelease()
	return sp, true
}

// plainRelease reports whether s is v?(N!)?N(.N)* with ASCII digits.
func plainRelease(s string) bool {
	if s != "" && lower(s[0]) == 'v' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, '!'); i >= 0 {
		if i == 0 || !allDigits(s[:i]) {
			return false
		}
		s = s[i+1:]
	}
	for {
		seg, rest, more := strings.Cut(s, ".")
		if !allDigits(seg) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// Operator returns the operator of sp, such as ">=" or "===".
func (sp Specifier) Operator() string { return sp.op }

// Version returns the version of sp as written (surrounding spaces removed,
// not normalized), including a trailing ".*" for wildcards.
func (sp Specifier) Version() string { return sp.version }

// String returns sp without spaces, e.g. "<2" for "< 2", as packaging
// prints it.
func (sp Specifier) String() string { return sp.op + sp.version }

// Prereleases reports whether sp itself names a pre-release, which makes a
// SpecifierSet containing it accept pre-releases. As in packaging, "!=" and
// wildcard clauses never do, and "===" does when its string parses as a
// pre-release.
func (sp Specifier) Prereleases() bool { return sp.pre }

// Contains reports whether v satisfies sp. Pre-releases are rejected unless
// prereleases is true or sp names a pre-release itself; see
// SpecifierSet.Contains.
func (sp Specifier) Contains(v Version, prereleases bool) bool {
	if v.IsPrerelease() && !prereleases && !sp.pre {
		return false
	}
	return sp.match(v, v.String())
}

// canonical returns the identity packaging uses to deduplicate clauses:
// the operator plus the canonical version (trailing zeros kept for "~=").
func (sp Specifier) canonical() string {
	if sp.op == "===" || sp.wildcard {
		return sp.op + sp.version
	}
	if sp.op == "~=" {
		return sp.op + sp.v.String()
	}
	return sp.op + sp.v.Canonical()
}

// match reports whether v lies in the range sp describes, ignoring the
// pre-release policy. raw is the string "===" compares against.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#version-specifiers
func (sp Specifier) match(v Version, raw string) bool {
	switch sp.op {
	case "===":
		// https://packaging.python.org/en/latest/specifications/version-specifiers/#arbitrary-equality
		return strings.ToLower(raw) == sp.lowered
	case "==":
		// https://packaging.python.org/en/latest/specifications/version-specifiers/#version-matching
		if sp.wildcard {
			return prefixMatch(v, sp.v.epoch, sp.prefix)
		}
		if sp.hasLocal {
			return Compare(v, sp.v) == 0
		}
		return compareNoLocal(v, sp.v) == 0
	case "!=":
		// https://packaging.python.org/en/latest/specifications/version-specifiers/#version-exclusion
		if sp.wildcard {
			return !prefixMatch(v, sp.v.epoch, sp.prefix)
		}
		if sp.hasLocal {
			return Compare(v, sp.v) != 0
		}
		return compareNoLocal(v, sp.v) != 0
	case "~=":
		// https://packaging.python.org/en/latest/specifications/version-specifiers/#compatible-release
		return Compare(v, sp.v) >= 0 && prefixMatch(v, sp.v.epoch, sp.prefix)
	case "<=":
		// https://packaging.python.org/en/latest/specifications/version-specifiers/#inclusive-ordered-comparison
		return compareNoLocal(v, sp.v) <= 0
	case ">=":
		return Compare(v, sp.v) >= 0
	case "<":
		// https://packaging.python.org/en/latest/specifications/version-specifiers/#exclusive-ordered-comparison
		// <V excludes the pre-releases of V unless V is one: the bound
		// is V.dev0, the smallest version of V's family.
		return Compare(v, sp.bound) < 0
	case ">":
		// >V excludes V's local versions and, unless V is itself a post
		// or dev release, V's post-releases: with V = X or X{a|b|rc}N,
		// every version above V that shares V's epoch, release and
		// pre-release is V+local or a post-release of V. When V has a
		// post or dev segment nothing public lies between V and the next
		// candidate, so only V's local versions need excluding.
		if compareNoLocal(v, sp.v) <= 0 {
			return false
		}
		if sp.v.post != "" || sp.v.dev != "" {
			return true
		}
		return !(cmpNum(v.epoch, sp.v.epoch) == 0 && cmpRelease(v.release, sp.v.release) == 0 &&
			v.pre == sp.v.pre && (v.pre == 0 || cmpNum(v.preN, sp.v.preN) == 0))
	}
	return false
}

// prefixMatch reports whether v has the given epoch and its release,
// padded with zeros, starts with prefix. This is exactly the half-open
// range [prefix.dev0, next-prefix.dev0) that packaging uses for "==V.*"
// and for the upper side of "~=".
func prefixMatch(v Version, epoch, prefix string) bool {
	if cmpNum(v.epoch, epoch) != 0 {
		return false
	}
	rel := v.release
	for prefix != "" {
		var x, y string
		x, prefix = nextSegment(prefix)
		y, rel = nextSegment(rel)
		if cmpNum(x, y) != 0 {
			return false
		}
	}
	return true
}

// SpecifierSet is a comma-separated list of clauses that must all hold, such
// as ">=2.7, !=3.0.*, <4". The zero SpecifierSet is empty and matches every
// version (subject to the pre-release policy). It is an immutable value.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#version-specifiers
type SpecifierSet struct {
	specs []Specifier // sorted by String, duplicates removed
	pre   bool        // some clause names a pre-release
}

// ParseSpecifierSet parses a comma-separated list of clauses. Empty items
// and spaces around items are ignored, so "" is the empty set. The error
// wraps ErrInvalidSpecifier and quotes the first bad clause.
func ParseSpecifierSet(s string) (SpecifierSet, error) {
	var set SpecifierSet
	for item := range strings.SplitSeq(s, ",") {
		item = trimSpace(item)
		if item == "" {
			continue
		}
		sp, ok := parseSpecifier(item)
		if !ok {
			return SpecifierSet{}, fmt.Errorf("%w: %q", ErrInvalidSpecifier, item)
		}
		set.specs = append(set.specs, sp)
		set.pre = set.pre || sp.pre
	}
	// Canonical order, as packaging's str(): sorted by string, and clauses
	// that are equal after canonicalization (==1.0 and ==1.0.0) kept once.
	slices.SortStableFunc(set.specs, func(a, b Specifier) int {
		return strings.Compare(a.String(), b.String())
	})
	if len(set.specs) > 1 {
		seen := make(map[string]bool, len(set.specs))
		set.specs = slices.DeleteFunc(set.specs, func(sp Specifier) bool {
			c := sp.canonical()
			if seen[c] {
				return true
			}
			seen[c] = true
			return false
		})
	}
	return set, nil
}

// MustParseSpecifierSet is like ParseSpecifierSet but panics on error.
func MustParseSpecifierSet(s string) SpecifierSet {
	set, err := ParseSpecifierSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

// String returns the clauses joined by "," in canonical order (sorted by
// their string form, duplicates removed, no spaces), as packaging prints a
// SpecifierSet: ">=1.0.0,!=1.0.1" gives "!=1.0.1,>=1.0.0".
func (s SpecifierSet) String() string {
	var b strings.Builder
	for i, sp := range s.specs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sp.String())
	}
	return b.String()
}

// Specifiers returns the clauses of s in canonical order. The slice is a
// copy.
func (s SpecifierSet) Specifiers() []Specifier {
	return slices.Clone(s.specs)
}

// Len returns the number of distinct clauses in s.
func (s SpecifierSet) Len() int { return len(s.specs) }

// Prereleases reports whether some clause of s names a pre-release (for
// example ">=2.0b1"), which makes s accept pre-releases by default.
func (s SpecifierSet) Prereleases() bool { return s.pre }

// Contains reports whether v satisfies every clause of s.
//
// Pre-releases (including development releases) are rejected unless
// prereleases is true or a clause of s names a pre-release itself (see
// Specifier.Prereleases). Current packaging, given prereleases=None, would
// also accept a matching pre-release when it is the only candidate; Contains
// sees one version at a time and leaves that rule to Filter. Beyond that the
// semantics are packaging's: local labels
// are ignored when the clause has none, "==1.0.*" matches by zero-padded
// release prefix, ">V" excludes V's post-releases and local versions, "<V"
// excludes V's pre-releases unless V is one, and "===" compares strings
// case-insensitively (against v.String() here; see ContainsString).
func (s SpecifierSet) Contains(v Version, prereleases bool) bool {
	if v.IsPrerelease() && !prereleases && !s.pre {
		return false
	}
	raw := ""
	for _, sp := range s.specs {
		if sp.op == "===" && raw == "" {
			raw = v.String()
		}
		if !sp.match(v, raw) {
			return false
		}
	}
	return true
}

// ContainsString is Contains for a version given as a string. A string that
// is not a valid version can satisfy only "===" clauses, which compare it as
// written (ignoring case); it satisfies the empty set too, as in packaging.
// "===" clauses also compare valid versions as written, so "1.0.0" does not
// satisfy "===1.0".
func (s SpecifierSet) ContainsString(v string, prereleases bool) bool {
	p, ok := parse(v)
	if !ok {
		for _, sp := range s.specs {
			if sp.op != "===" || strings.ToLower(v) != sp.lowered {
				return false
			}
		}
		return true
	}
	if p.IsPrerelease() && !prereleases && !s.pre {
		return false
	}
	for _, sp := range s.specs {
		if !sp.match(p, v) {
			return false
		}
	}
	return true
}

// Filter returns, in their original order, the versions of vs that satisfy
// every clause of s, with packaging's SpecifierSet.filter semantics for
// pre-releases: if prereleases is non-nil it says whether pre-releases are
// kept; if it is nil, they are kept when a clause of s names a pre-release,
// and otherwise only when no final release matches (PEP 440's "only
// pre-releases are available" rule). vs is not modified.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#handling-of-pre-releases
func (s SpecifierSet) Filter(vs []Version, prereleases *bool) []Version {
	keepPre, fallback := s.pre, false
	if prereleases != nil {
		keepPre = *prereleases
	} else if !s.pre {
		fallback = true
	}
	out := make([]Version, 0, len(vs))
	final := false
	for _, v := range vs {
		if v.IsPrerelease() && !keepPre && !fallback {
			continue
		}
		raw := ""
		ok := true
		for _, sp := range s.specs {
			if sp.op == "===" && raw == "" {
				raw = v.String()
			}
			if !sp.match(v, raw) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		final = final || !v.IsPrerelease()
		out = append(out, v)
	}
	if fallback && final {
		out = slices.DeleteFunc(out, Version.IsPrerelease)
	}
	return out
}
