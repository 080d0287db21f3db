// Package scm computes the version setuptools_scm would give a git checkout.
//
// It runs git exactly as setuptools_scm does (same argv, same environment
// rewriting, same fallbacks), parses the describe output, turns the tag into
// a PEP 440 version through the configured tag regex and index/pep440, and
// applies setuptools_scm's version and local schemes. Tags are never chosen
// here: git describe chooses them.
//
// The behaviour of four setuptools_scm release lines is covered, selected by
// Options.Compat (7, 8, 9 or 10; default 10). The measured differences are
// listed in docs/scmversion.md and in the research notes scm-versions.md
// that this package implements.
//
// The flow is split so that a caller can replace the distance by a number
// handed out elsewhere (the index's dev-versions endpoint):
//
//	r, err := scm.Describe(ctx, opts) // run git, parse, no scheme applied yet
//	v, err := r.Format()              // what setuptools_scm prints
//	base, err := r.Base()             // "1.2.4" for 1.2.3 + N commits (guess-next-dev)
//	v, err = r.FormatDev(17)          // "1.2.4.dev17" + the local scheme's suffix
package scm

import (
	"errors"
	"fmt"
	"strconv"
)

// Compat selects which setuptools_scm release line to imitate where they
// differ.
type Compat int

// The supported compatibility levels. DefaultCompat is what an unpinned
// `pip install setuptools-scm` gets.
const (
	Compat7       Compat = 7
	Compat8       Compat = 8
	Compat9       Compat = 9
	Compat10      Compat = 10
	DefaultCompat        = Compat10
)

// ParseCompat parses "7", "8", "9" or "10" (a leading "v" and a trailing
// minor version such as "9.2" are accepted).
func ParseCompat(s string) (Compat, error) {
	t := s
	if len(t) > 0 && (t[0] == 'v' || t[0] == 'V') {
		t = t[1:]
	}
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			t = t[:i]
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 7 || n > 10 {
		return 0, fmt.Errorf("%w: compat %q: want 7, 8, 9 or 10", ErrConfig, s)
	}
	return Compat(n), nil
}

// Scheme names accepted in Options.VersionScheme.
const (
	GuessNextDev           = "guess-next-dev"
	PostRelease            = "post-release"
	NoGuessDev             = "no-guess-dev"
	OnlyVersion            = "only-version" // 8+
	PythonSimplifiedSemver = "python-simplified-semver"
	ReleaseBranchSemver    = "release-branch-semver"
	CalverByDate           = "calver-by-date"
	SemverPEP440           = "semver-pep440"                // 10: new name of python-simplified-semver
	SemverPEP440Release    = "semver-pep440-release-branch" // 10: new name of release-branch-semver
)

// Local scheme names accepted in Options.LocalScheme.
const (
	NodeAndDate              = "node-and-date"
	NodeAndTimestamp         = "node-and-timestamp"
	DirtyTag                 = "dirty-tag"
	NoLocalVersion           = "no-local-version"
	NoLocalVersionStrict     = "no-local-version-strict"     // 10
	FailOnUncommittedChanges = "fail-on-uncommitted-changes" // 10
)

// DefaultTagRegex is setuptools_scm's default tag_regex (identical in 7.1
// to 10.2).
const DefaultTagRegex = `^(?:[\w-]+-)?(?P<version>[vV]?\d+(?:\.\d+){0,2}[^\+]*)(?:\+.*)?$`

// Errors. Every error returned by this package wraps exactly one of these;
// test with errors.Is. The text of the error is setuptools_scm's own message
// where it has one.
var (
	// ErrNoVersion: no git work tree at the root and no fallback applies
	// (setuptools_scm's LookupError).
	ErrNoVersion = errors.New("unable to detect version")
	// ErrBadTag: the nearest tag does not yield a version through the tag
	// regex (setuptools_scm's AssertionError in 7-9, ValueError in 10).
	ErrBadTag = errors.New("tag is not a version")
	// ErrInvalidVersion: a string that must be PEP 440 is not
	// (packaging's InvalidVersion).
	ErrInvalidVersion = errors.New("invalid version")
	// ErrUnknownScheme: no version scheme name is known at this compat
	// level (setuptools_scm's AssertionError).
	ErrUnknownScheme = errors.New("unknown version scheme")
	// ErrScheme: the version scheme refuses the tag (a ValueError in
	// setuptools_scm: ".devN with N != 0", "already a post release",
	// "can't be parsed as numeric version").
	ErrScheme = errors.New("version scheme failed")
	// ErrDirty: a strict local scheme (10.x) found uncommitted changes.
	ErrDirty = errors.New("uncommitted changes")
	// ErrShallow: pre_parse fail_on_shallow and the clone is shallow.
	ErrShallow = errors.New("shallow clone")
	// ErrGit: git is missing or a git command could not run.
	ErrGit = errors.New("git failed")
	// ErrConfig: bad options, configuration file or environment.
	ErrConfig = errors.New("bad configuration")
	// ErrNotDev: Base or FormatDev was asked for a version that does not
	// end in .devN (an exact tag, post-release, only-version, a pretend
	// version, calver on a release branch).
	ErrNotDev = errors.New("version is not a dev version")
)

// kindError carries setuptools_scm's message text while unwrapping to one
// of the sentinels above.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// pyRepr quotes s the way Python's repr() quotes a simple str.
func pyRepr(s string) string {
	return "'" + s + "'"
}
