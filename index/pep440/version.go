package pep440

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid is the sentinel wrapped by every error that Parse returns for
// a string that is not a valid version.
var ErrInvalid = errors.New("invalid version")

// Version is a parsed PEP 440 version. It is an immutable value and safe to
// copy and to share between goroutines.
//
// Two Versions can be equal under Compare while their fields differ (1.0 and
// 1.0.0), so compare them with Equal or Compare, never with ==.
//
// The zero Version behaves exactly like the version "0". A Version may
// share memory with the string it was parsed from.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#public-version-identifiers
type Version struct {
	// s is the normalized form. The other string fields point into s (or,
	// after Public or BaseVersion, into the longer string s was cut from),
	// so a Version costs at most one allocation, and none when the input
	// was already normalized.
	s       string
	epoch   string // digits without leading zeros; "" when the epoch is 0
	release string // normalized release segment, e.g. "1.0.3"
	// relKey packs a release of at most four components below 2^15 into
	// 15-bit fields (missing components count as zero, which is exactly
	// the padding semantics of Compare) with relKeyValid set; otherwise 0.
	relKey uint64
	pre    byte   // 0 (none), 'a', 'b' or 'c' (rc)
	preN   string // pre-release number when pre != 0
	post   string // post-release number; "" when absent
	dev    string // development-release number; "" when absent
	local  string // normalized local label without '+'; "" when absent
}

// Parse parses s as a version, accepting everything that Python packaging's
// Version accepts, and normalizes it. The error wraps ErrInvalid when s is
// not a valid version.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#normalization
func Parse(s string) (Version, error) {
	v, ok := parse(s)
	if !ok {
		return Version{}, fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	return v, nil
}

// MustParse is like Parse but panics if s is not a valid version. It is meant
// for constants in code and tests.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Valid reports whether s is a valid version, that is, whether Parse would
// succeed.
func Valid(s string) bool {
	_, ok := parse(s)
	return ok
}

// String returns the normalized form of v, exactly as Python's
// str(packaging.version.Version(s)) prints it: for example "1.0.0rc1" or
// "1!2.0.post0.dev3+ubuntu.1". Trailing zeros in the release are kept.
func (v Version) String() string {
	if v.s == "" {
		return "0"
	}
	return v.s
}

// MarshalText implements encoding.TextMarshaler using the normalized form.
func (v Version) MarshalText() ([]byte, error) {
	return []byte(v.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with Parse. The error
// wraps ErrInvalid when text is not a valid version.
func (v *Version) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Canonical returns the canonical form of v, as Python's
// packaging.utils.canonicalize_version prints it: the normalized form with
// trailing ".0" components removed from the release segment (1.0.0 gives
// "1", 1.4.0.0 gives "1.4", 0.0 gives "0"). The local label is kept.
func (v Version) Canonical() string {
	s := v.String()
	rel := v.releaseOr0()
	trim := len(rel)
	for trim > 1 && rel[trim-1] == '0' && rel[trim-2] == '.' {
		trim -= 2
	}
	if trim == len(rel) {
		return s
	}
	start := 0
	if v.epoch != "" {
		start = len(v.epoch) + 1
	}
	return s[:start+trim] + s[start+len(rel):]
}

// Canonical returns the canonical form of the version s (see
// Version.Canonical). If s is not a valid version it is returned unchanged,
// as packaging.utils.canonicalize_version does.
func Canonical(s string) string {
	v, ok := parse(s)
	if !ok {
		return s
	}
	return v.Canonical()
}

// Epoch returns the epoch as a decimal string without leading zeros ("0"
// when the version has no epoch).
func (v Version) Epoch() string {
	if v.epoch == "" {
		return "0"
	}
	return v.epoch
}

// Release returns the components of the release segment as decimal strings
// without leading zeros, trailing zeros included (1.2.0 gives 1, 2, 0). The
// slice is newly allocated on every call.
func (v Version) Release() []string {
	return strings.Split(v.releaseOr0(), ".")
}

// Pre returns the pre-release label ("a", "b" or "rc") and number, and
// whether the version has a pre-release segment at all.
func (v Version) Pre() (label, n string, ok bool) {
	switch v.pre {
	case 'a':
		return "a", v.preN, true
	case 'b':
		return "b", v.preN, true
	case 'c':
		return "rc", v.preN, true
	}
	return "", "", false
}

// Post returns the post-release number and whether there is one.
func (v Version) Post() (string, bool) {
	return v.post, v.post != ""
}

// Dev returns the development-release number and whether there is one.
func (v Version) Dev() (string, bool) {
	return v.dev, v.dev != ""
}

// Local returns the normalized local version label (lower case, segments
// joined by "."), or "" when there is none.
func (v Version) Local() string {
	return v.local
}

// IsPrerelease reports whether v is a pre-release or a development release,
// as packaging's is_prerelease does.
func (v Version) IsPrerelease() bool {
	return v.pre != 0 || v.dev != ""
}

// IsDevrelease reports whether v has a development-release segment.
func (v Version) IsDevrelease() bool {
	return v.dev != ""
}

// IsPostrelease reports whether v has a post-release segment.
func (v Version) IsPostrelease() bool {
	return v.post != ""
}

// Public returns v without its local version label.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers
func (v Version) Public() Version {
	if v.local == "" {
		return v
	}
	p := v
	p.s = v.s[:len(v.s)-len(v.local)-1]
	p.local = ""
	return p
}

// BaseVersion returns the epoch and release segment of v only, without any
// pre-, post-, development or local segment.
func (v Version) BaseVersion() Version {
	n := len(v.release)
	if v.epoch != "" {
		n += len(v.epoch) + 1
	}
	return Version{s: v.s[:n], epoch: v.epoch, release: v.release, relKey: v.relKey}
}

// Equal reports whether v and o are the same version under Compare.
func (v Version) Equal(o Version) bool {
	return Compare(v, o) == 0
}

// Less reports whether v sorts before o under Compare.
func (v Version) Less(o Version) bool {
	return Compare(v, o) < 0
}

// Compare returns -1, 0 or +1 depending on whether a sorts before, equal to
// or after b. The order is packaging's: epoch first, then the release with
// trailing zeros ignored, then X.devN < XaN < XbN < XrcN < X < X.postN (a
// dev segment sorts just before the release it belongs to), then the local
// label, where no label sorts first, numeric segments sort after
// alphanumeric ones and numerically, alphanumeric ones case-insensitively,
// and a longer label wins when one is a prefix of the other.
//
// Compare does not allocate.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#summary-of-permitted-suffixes-and-relative-ordering
func Compare(a, b Version) int {
	return compare(&a, &b)
}

// compare is Compare on pointers, so that sorting does not copy Versions.
func compare(a, b *Version) int {
	if c := cmpNum(a.epoch, b.epoch); c != 0 {
		return c
	}
	if c := cmpReleaseOf(a, b); c != 0 {
		return c
	}
	if c := comparePublicSuffix(a, b); c != 0 {
		return c
	}
	return cmpLocal(a.local, b.local)
}

// compareNoLocal is Compare with both local labels ignored.
func compareNoLocal(a, b Version) int {
	if c := cmpNum(a.epoch, b.epoch); c != 0 {
		return c
	}
	if c := cmpReleaseOf(&a, &b); c != 0 {
		return c
	}
	return comparePublicSuffix(&a, &b)
}

// comparePublicSuffix compares the pre-, post- and dev segments.
func comparePublicSuffix(a, b *Version) int {
	ra, rb := preRank(a), preRank(b)
	if ra != rb {
		if ra < rb {
			return -1
		}
		return 1
	}
	if a.pre != 0 {
		if c := cmpNum(a.preN, b.preN); c != 0 {
			return c
		}
	}
	// No post segment sorts before any post segment.
	switch {
	case a.post == "" && b.post != "":
		return -1
	case a.post != "" && b.post == "":
		return 1
	case a.post != "":
		if c := cmpNum(a.post, b.post); c != 0 {
			return c
		}
	}
	// No dev segment sorts after any dev segment.
	switch {
	case a.dev == "" && b.dev != "":
		return 1
	case a.dev != "" && b.dev == "":
		return -1
	case a.dev != "":
		return cmpNum(a.dev, b.dev)
	}
	return 0
}

// preRank orders the pre-release slot: a bare dev release (X.devN, no pre
// and no post) sorts before every pre-release, and no pre-release sorts
// after all of them.
func preRank(v *Version) int {
	switch v.pre {
	case 'a':
		return 1
	case 'b':
		return 2
	case 'c':
		return 3
	}
	if v.post == "" && v.dev != "" {
		return 0
	}
	return 4
}

// cmpNum compares two decimal strings without leading zeros; "" counts as 0.
func cmpNum(a, b string) int {
	if a == "" {
		a = "0"
	}
	if b == "" {
		b = "0"
	}
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// relKeyValid marks Version.relKey as usable.
const relKeyValid = 1 << 63

// cmpReleaseOf compares the release segments of a and b, using the packed
// keys when both have one.
func cmpReleaseOf(a, b *Version) int {
	if a.relKey != 0 && b.relKey != 0 {
		return cmp.Compare(a.relKey, b.relKey)
	}
	return cmpRelease(a.release, b.release)
}

// cmpRelease compares two dotted release segments as if the shorter one
// were padded with zeros.
func cmpRelease(a, b string) int {
	if a == b {
		return 0
	}
	for a != "" || b != "" {
		var x, y string
		x, a = nextSegment(a)
		y, b = nextSegment(b)
		if c := cmpNum(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// cmpLocal compares two normalized local labels.
func cmpLocal(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	for {
		switch {
		case a == "" && b == "":
			return 0
		case a == "":
			return -1
		case b == "":
			return 1
		}
		var x, y string
		x, a = nextSegment(a)
		y, b = nextSegment(b)
		xn, yn := allDigits(x), allDigits(y)
		var c int
		switch {
		case xn && yn:
			c = cmpNum(x, y)
		case xn:
			c = 1
		case yn:
			c = -1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
}

// nextSegment splits off the first dot-separated segment of s; for an
// empty s it returns "" (which cmpNum reads as zero). Segments are short,
// so a plain loop beats strings.IndexByte here.
func nextSegment(s string) (seg, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func (v Version) releaseOr0() string {
	if v.release == "" {
		return "0"
	}
	return v.release
}

// Sort sorts vs in ascending order under Compare. The sort is stable, so
// versions that compare equal (1.0 and 1.0.0) keep their relative order.
func Sort(vs []Version) {
	if len(vs) <= 12 {
		// Insertion sort: stable, and no allocation for short lists.
		for i := 1; i < len(vs); i++ {
			for j := i; j > 0 && compare(&vs[j], &vs[j-1]) < 0; j-- {
				vs[j], vs[j-1] = vs[j-1], vs[j]
			}
		}
		return
	}
	// Sorting indexes with the original position as tie-breaker is stable
	// and lets pdqsort move 4-byte indexes instead of whole Versions.
	idx := make([]int32, len(vs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		if c := compare(&vs[i], &vs[j]); c != 0 {
			return c
		}
		return cmp.Compare(i, j)
	})
	// Apply the permutation in place, one cycle at a time: position j
	// receives the element at idx[j]; idx[j] = j marks j as done.
	for i := range idx {
		if idx[i] == int32(i) {
			continue
		}
		tmp := vs[i]
		j := int32(i)
		for {
			k := idx[j]
			idx[j] = j
			if k == int32(i) {
				vs[j] = tmp
				break
			}
			vs[j] = vs[k]
			j = k
		}
	}
}

// Max returns the greatest version in vs under Compare and true, or the zero
// Version and false when there is no candidate. Pre-releases (including
// development releases) are candidates only when includePre is true; a
// caller that wants "the latest final release, or else the latest
// pre-release" calls Max(vs, false) and falls back to Max(vs, true). Of
// several equal maxima the first one is returned.
func Max(vs []Version, includePre bool) (Version, bool) {
	var best Version
	found := false
	for _, v := range vs {
		if !includePre && v.IsPrerelease() {
			continue
		}
		if !found || Compare(v, best) > 0 {
			best, found = v, true
		}
	}
	return best, found
}
