package scm

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// plan is a version scheme's answer: either a complete version (final), or
// a base to which ".dev<N>" is appended (format_next_version's
// "{guessed}.dev{distance}").
type plan struct {
	final string
	base  string
	dev   bool
}

// Format returns the version setuptools_scm would print for r: the
// version scheme's output plus the local scheme's. A Preformatted result
// is returned verbatim.
//
// Errors: ErrUnknownScheme, ErrScheme, ErrDirty (strict local schemes).
func (r *Result) Format() (string, error) {
	if r.Preformatted {
		return r.Version, nil
	}
	p, err := r.plan()
	if err != nil {
		return "", err
	}
	main := p.final
	if p.dev {
		main = p.base + ".dev" + strconv.Itoa(r.Distance)
	}
	return r.withLocal(main)
}

// Base returns the version the scheme puts before ".dev<N>", for instance
// "1.2.4" for tag 1.2.3 plus commits under guess-next-dev, or "0.1" with no
// tag. It returns ErrNotDev when the result is not a dev version (an exact
// tag, post-release, only-version, a pretend or fallback version, calver on
// a release branch).
func (r *Result) Base() (string, error) {
	if r.Preformatted {
		return "", errorf(ErrNotDev, "%s version %s is used verbatim", r.Source, r.Version)
	}
	p, err := r.plan()
	if err != nil {
		return "", err
	}
	if !p.dev {
		return "", errorf(ErrNotDev, "version %s does not end in .devN", p.final)
	}
	return p.base, nil
}

// FormatDev is Format with n in place of the distance: Base() + ".dev<n>"
// plus the local scheme's suffix. See Base for ErrNotDev.
func (r *Result) FormatDev(n int) (string, error) {
	base, err := r.Base()
	if err != nil {
		return "", err
	}
	return r.WithLocal(base + ".dev" + strconv.Itoa(n))
}

// WithLocal appends the local scheme's suffix to a public version the way
// Format does (from compat 9, merged with the tag's own local part).
func (r *Result) WithLocal(public string) (string, error) {
	if r.Preformatted {
		return public, nil
	}
	return r.withLocal(public)
}

func (r *Result) withLocal(main string) (string, error) {
	local, err := r.local()
	if err != nil {
		return "", err
	}
	if r.c.Compat < Compat9 {
		return main + local, nil
	}
	return combineLocal(main, r.TagLocal, local), nil
}

// combineLocal is 9.x's _combine_version_with_local_parts: the existing
// local segments first, then each part's segments not already present.
func combineLocal(main string, parts ...string) string {
	var segs []string
	if pub, loc, ok := strings.Cut(main, "+"); ok {
		main = pub
		segs = strings.Split(loc, ".")
	}
	for _, part := range parts {
		part = strings.Trim(strings.TrimSpace(part), "+")
		for _, s := range strings.Split(part, ".") {
			if s != "" && !contains(segs, s) {
				segs = append(segs, s)
			}
		}
	}
	if len(segs) == 0 {
		return main
	}
	return main + "+" + strings.Join(segs, ".")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *Result) plan() (plan, error) {
	name, err := r.c.versionScheme()
	if err != nil {
		return plan{}, err
	}
	t := r.tag
	if r.c.Compat >= Compat9 {
		t, _ = t.split()
	}
	switch name {
	case GuessNextDev:
		if r.Exact {
			return plan{final: t.str}, nil
		}
		base, err := guessNextVersion(t.str)
		return plan{base: base, dev: true}, err
	case PostRelease:
		if r.Exact {
			return plan{final: t.str}, nil
		}
		return plan{final: t.str + ".post" + strconv.Itoa(r.Distance)}, nil
	case NoGuessDev:
		if r.Exact {
			return plan{final: t.str}, nil
		}
		base, err := dontGuessNextVersion(t.str)
		return plan{base: base, dev: true}, err
	case OnlyVersion:
		return plan{final: t.str}, nil
	case PythonSimplifiedSemver:
		return r.simplifiedSemver(t)
	case ReleaseBranchSemver:
		return r.releaseBranchSemver(t)
	case CalverByDate:
		return r.calverByDate(t)
	}
	return plan{}, errorf(ErrUnknownScheme, "unknown version scheme %s", name)
}

// stripLocal is _strip_local.
func stripLocal(v string) string {
	pub, _, _ := strings.Cut(v, "+")
	return pub
}

// bumpDev is _bump_dev: "1.3.0.dev0" -> "1.3.0"; ok is false when there is
// no ".dev"; any other dev number is an error.
func bumpDev(v string) (string, bool, error) {
	i := strings.LastIndex(v, ".dev")
	if i < 0 {
		return "", false, nil
	}
	if v[i+4:] != "0" {
		return "", false, errorf(ErrScheme, "choosing custom numbers for the `.devX` distance is not supported.\n "+
			"The %s can't be bumped\nPlease drop the tag or create a new supported one ending in .dev0", v)
	}
	return v[:i], v[:i] != "", nil
}

var bumpRegex = regexp.MustCompile(`\A(.*?)(\d+)\z`)

// bumpLast is _bump_regex: increment the last number in the string.
func bumpLast(v string) (string, error) {
	m := bumpRegex.FindStringSubmatch(v)
	if m == nil {
		return "", errorf(ErrScheme, "%s does not end with a number to bump, please correct or use a custom version scheme", v)
	}
	n, _ := new(big.Int).SetString(m[2], 10)
	return m[1] + n.Add(n, big.NewInt(1)).String(), nil
}

// guessNextVersion is guess_next_version.
func guessNextVersion(tag string) (string, error) {
	v := stripLocal(tag)
	if b, ok, err := bumpDev(v); err != nil || ok {
		return b, err
	}
	return bumpLast(v)
}

// dontGuessNextVersion is _dont_guess_next_version (no-guess-dev).
func dontGuessNextVersion(tag string) (string, error) {
	v := stripLocal(tag)
	if b, ok, err := bumpDev(v); err != nil || ok {
		return b, err
	}
	if strings.Contains(v, "post") {
		return "", errorf(ErrScheme, "%s already is a post release, refusing to guess the update", v)
	}
	return v + ".post1", nil
}

// semver retains and increments release parts the way
// guess_next_simple_semver does, with the arithmetic done by
// Masterminds/semver.
const (
	semverMinor = 2
	semverPatch = 3
)

func (r *Result) simpleSemver(t tagVersion, retain int, increment bool) (string, error) {
	var parts []string
	if r.c.Compat >= Compat8 && t.ok {
		parts = t.v.Release()
		// 10.x: a .dev0 tag anchors the release: no increment.
		if r.c.Compat >= Compat10 && isDev0(t) {
			increment = false
		}
	} else {
		parts = strings.Split(t.str, ".")
	}
	if len(parts) > retain {
		parts = parts[:retain]
	}
	var nums [3]uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 64)
		if err != nil {
			return "", errorf(ErrScheme, "%s can't be parsed as numeric version", r)
		}
		nums[i] = n
	}
	v := semver.New(nums[0], nums[1], nums[2], "", "")
	if increment {
		switch retain {
		case semverMinor:
			*v = v.IncMinor()
		case semverPatch:
			*v = v.IncPatch()
		default:
			*v = v.IncMajor()
		}
	}
	return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()), nil
}

func isDev0(t tagVersion) bool {
	n, ok := t.v.Dev()
	return ok && n == "0"
}

// simplifiedSemver is python-simplified-semver (10.x: semver-pep440).
func (r *Result) simplifiedSemver(t tagVersion) (plan, error) {
	if r.Exact {
		if r.c.Compat >= Compat10 {
			return plan{final: t.str}, nil
		}
		v, err := r.simpleSemver(t, semverPatch, false)
		return plan{final: v}, err
	}
	retain := semverPatch
	if strings.Contains(r.Branch, "feature") {
		retain = semverMinor
	}
	v, err := r.simpleSemver(t, retain, true)
	return plan{base: v, dev: true}, err
}

// releaseBranchSemver is release-branch-semver (10.x:
// semver-pep440-release-branch).
func (r *Result) releaseBranchSemver(t tagVersion) (plan, error) {
	if r.Exact {
		return plan{final: t.str}, nil
	}
	if r.Branch != "" {
		parts := strings.Split(r.Branch, "/")
		bv, ok, err := r.c.parseVersionTag(parts[len(parts)-1])
		if err != nil {
			return plan{}, err
		}
		if ok && bv.version != "" {
			branchVer := strings.TrimPrefix(bv.version, "v")
			if firstN(strings.Split(t.str, "."), semverMinor) == firstN(strings.Split(branchVer, "."), semverMinor) {
				// A release/maintenance branch: patch, rc or beta bump.
				base, err := guessNextVersion(t.str)
				return plan{base: base, dev: true}, err
			}
		}
	}
	// A development branch: minor bump.
	v, err := r.simpleSemver(t, semverMinor, true)
	return plan{base: v, dev: true}, err
}

func firstN(parts []string, n int) string {
	if len(parts) > n {
		parts = parts[:n]
	}
	return strings.Join(parts, "\x00")
}

// dateVerRe is date_ver_match; the optional v prefix is accepted from 8.0.
var (
	dateVerRe7 = regexp.MustCompile(`\A(?P<date>(?P<year>\d{2}|\d{4})(?:\.\d{1,2}){2})(?:\.(?P<patch>\d*))??\z`)
	dateVerRe8 = regexp.MustCompile(`\A(?P<date>(?P<prefix>[vV]?)(?P<year>\d{2}|\d{4})(?:\.\d{1,2}){2})(?:\.(?P<patch>\d*))?\z`)
)

type dateMatch struct {
	date, prefix, year, patch string
}

func (c *config) dateVerMatch(v string) (dateMatch, bool) {
	re := dateVerRe8
	if c.Compat < Compat8 {
		re = dateVerRe7
	}
	m := re.FindStringSubmatch(v)
	if m == nil {
		return dateMatch{}, false
	}
	g := func(name string) string {
		if i := re.SubexpIndex(name); i >= 0 {
			return m[i]
		}
		return ""
	}
	return dateMatch{date: g("date"), prefix: g("prefix"), year: g("year"), patch: g("patch")}, true
}

// calverByDate is calver-by-date.
func (r *Result) calverByDate(t tagVersion) (plan, error) {
	if r.Exact && !r.Dirty {
		return plan{final: t.str}, nil
	}
	if strings.HasPrefix(r.Branch, "release-") {
		parts := strings.Split(r.Branch, "-")
		bv, ok, err := r.c.parseVersionTag(parts[len(parts)-1])
		if err != nil {
			return plan{}, err
		}
		if ok {
			if _, ok := r.c.dateVerMatch(bv.version); ok {
				return plan{final: bv.version}, nil
			}
		}
	}
	base, err := r.guessNextDateVer(t)
	return plan{base: base, dev: true}, err
}

// guessNextDateVer is guess_next_date_ver: same day as the tag's date ->
// patch + 1, another day -> HEAD's date with patch 0.
func (r *Result) guessNextDateVer(t tagVersion) (string, error) {
	c := r.c
	m, ok := c.dateVerMatch(t.str)
	layout := "%y.%m.%d"
	if !ok {
		c.Warn(fmt.Sprintf("%s does not correspond to a valid versioning date, assuming legacy version", r))
	} else {
		if len(m.year) == 4 {
			layout = "%Y.%m.%d"
		}
		layout = m.prefix + layout
	}
	// "today": the real UTC date in 7.x, version.time (SOURCE_DATE_EPOCH
	// or now) from 8.
	today := dateOf(c.now.UTC())
	if c.Compat >= Compat8 {
		today = dateOf(r.Time)
	}
	head := r.NodeDate
	if head.IsZero() {
		head = today
	}
	var tagDate time.Time
	switch {
	case !ok && c.Compat >= Compat9:
		tagDate = head.AddDate(0, 0, -1)
	case !ok:
		tagDate = today
	default:
		var err error
		if tagDate, err = strptimeDate(m.date, layout); err != nil {
			return "", errorf(ErrScheme, "time data %s does not match format %s", pyRepr(m.date), pyRepr(layout))
		}
	}
	patch := 0
	if tagDate.Equal(head) {
		if ok && m.patch != "" {
			n, err := strconv.Atoi(m.patch)
			if err != nil {
				return "", errorf(ErrScheme, "invalid patch %q", m.patch)
			}
			patch = n
		}
		patch++
	} else if ok && tagDate.After(head) {
		c.Warn(fmt.Sprintf("your previous tag  (%s) is ahead your node date (%s)",
			tagDate.Format("2006-01-02"), head.Format("2006-01-02")))
	}
	next := strftimeDate(head, layout) + "." + strconv.Itoa(patch)
	tv, err := c.versionCls(next)
	if err != nil {
		return "", err
	}
	return tv.str, nil
}

// strptimeDate parses text with one of the layouts guessNextDateVer uses
// ("[v]%Y.%m.%d" or "[v]%y.%m.%d"), accepting one- or two-digit months and
// days as Python's strptime does, and rejecting impossible dates.
func strptimeDate(text, layout string) (time.Time, error) {
	prefix, _, _ := strings.Cut(layout, "%")
	rest, ok := strings.CutPrefix(text, prefix)
	if !ok {
		return time.Time{}, fmt.Errorf("prefix")
	}
	f := strings.Split(rest, ".")
	if len(f) != 3 {
		return time.Time{}, fmt.Errorf("fields")
	}
	var n [3]int
	for i, s := range f {
		v, err := strconv.Atoi(s)
		if err != nil || s == "" {
			return time.Time{}, fmt.Errorf("number")
		}
		n[i] = v
	}
	year := n[0]
	if strings.Contains(layout, "%y") {
		if len(f[0]) != 2 {
			return time.Time{}, fmt.Errorf("year")
		}
		// POSIX/Python %y: 69-99 -> 19xx, 00-68 -> 20xx.
		if year < 69 {
			year += 2000
		} else {
			year += 1900
		}
	} else if len(f[0]) != 4 {
		return time.Time{}, fmt.Errorf("year")
	}
	d := time.Date(year, time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	if d.Year() != year || int(d.Month()) != n[1] || d.Day() != n[2] {
		return time.Time{}, fmt.Errorf("date")
	}
	return d, nil
}

// strftimeDate formats d with "[v]%Y.%m.%d" or "[v]%y.%m.%d" (zero-padded
// like strftime).
func strftimeDate(d time.Time, layout string) string {
	r := strings.NewReplacer("%Y", fmt.Sprintf("%04d", d.Year()), "%y", fmt.Sprintf("%02d", d.Year()%100),
		"%m", fmt.Sprintf("%02d", int(d.Month())), "%d", fmt.Sprintf("%02d", d.Day()))
	return r.Replace(layout)
}

// local runs the local schemes in order; the first one with a result wins,
// "+unknown" when none has one.
func (r *Result) local() (string, error) {
	for _, name := range r.c.LocalScheme {
		switch name {
		case NodeAndDate:
			return r.localWithTime("20060102"), nil
		case NodeAndTimestamp:
			return r.localWithTime("20060102150405"), nil
		case DirtyTag:
			if r.Dirty {
				return "+dirty", nil
			}
			return "", nil
		case NoLocalVersion:
			return "", nil
		case NoLocalVersionStrict:
			if r.c.Compat < Compat10 {
				continue
			}
			if r.Dirty {
				return "", errorf(ErrDirty, "the working tree has uncommitted changes (local_scheme %s)", name)
			}
			return "", nil
		case FailOnUncommittedChanges:
			if r.c.Compat < Compat10 {
				continue
			}
			if r.Dirty {
				return "", errorf(ErrDirty, "the working tree has uncommitted changes (local_scheme %s)", name)
			}
			// Returns None: the next local scheme decides.
		}
	}
	return "+unknown", nil
}

// localWithTime is _format_local_with_time.
func (r *Result) localWithTime(layout string) string {
	stamp := r.Time.UTC().Format(layout)
	if r.Exact || r.Node == "" {
		if r.Dirty {
			return "+d" + stamp
		}
		return ""
	}
	if r.Dirty {
		return "+" + r.Node + ".d" + stamp
	}
	return "+" + r.Node
}
