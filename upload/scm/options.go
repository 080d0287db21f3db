package scm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options configure Describe. The zero value means setuptools_scm's
// defaults at compat 10 for the current directory.
type Options struct {
	// Root is the directory that must be the top of the git work tree
	// (setuptools_scm's root). Default ".".
	Root string
	// VersionScheme is tried in order; the first name known at this compat
	// level is used. Default guess-next-dev.
	VersionScheme []string
	// LocalScheme is tried in order; the first scheme that gives a result
	// wins, and "+unknown" is used when none does. Default node-and-date.
	LocalScheme []string
	// TagRegex extracts the version from a tag; Python syntax that RE2
	// lacks (look-around, back references) is reported as ErrConfig.
	// Default DefaultTagRegex.
	TagRegex string
	// TagPrefix (10.1+ tag.prefix) is stripped from tags before TagRegex
	// runs and narrows the describe --match glob. Ignored below compat 10.
	TagPrefix string
	// TagStrict (10.1+ tag.strict) makes the --match glob require a dot.
	// Ignored below compat 10.
	TagStrict bool
	// FallbackVersion is used when no SCM is found (and, from compat 9,
	// as the base when git finds no tag). "" means unset.
	FallbackVersion string
	// FallbackRoot is where PKG-INFO, .git_archival.txt, pyproject.toml or
	// setup.py are looked for when Root is not a git work tree. Default
	// Root.
	FallbackRoot string
	// ParentdirPrefixVersion: when Root's base name starts with it, the
	// rest is the fallback version.
	ParentdirPrefixVersion string
	// DescribeCommand replaces `git describe …` completely; its output is
	// parsed the same way. nil means the built-in command.
	DescribeCommand []string
	// NoNormalize keeps tag versions as written (setuptools_scm's
	// normalize = false).
	NoNormalize bool
	// DistName selects SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<DIST>.
	DistName string
	// SearchParentDirectories lets Root be below the work tree's top.
	SearchParentDirectories bool
	// PreParse is warn_on_shallow (default), fail_on_shallow,
	// fetch_on_shallow or (9+) fail_on_missing_submodules.
	PreParse string
	// Compat is the setuptools_scm release line to imitate. Default 10.
	Compat Compat
	// Env is the environment for pretend versions, SOURCE_DATE_EPOCH and
	// the git subprocesses. nil means os.Environ().
	Env []string
	// Now replaces the wall clock (tests). nil means time.Now.
	Now func() time.Time
	// Warn receives setuptools_scm's warnings (shallow clone, stripped tag
	// suffix, …). nil discards them.
	Warn func(msg string)
	// DebianPatch imitates the patch in Debian's python3-setuptools-scm
	// 7.1.0-3, which strips a leading "debian/" and then "upstream/" from
	// the described tag. Upstream setuptools_scm never did this; the
	// option exists only to compare with Debian's package (the oracle).
	DebianPatch bool
	// Git is the git executable, also used for a DescribeCommand whose
	// first word is "git". Default "git".
	Git string
}

// config is Options resolved and validated once.
type config struct {
	Options
	root         string // absolute
	fallbackRoot string // absolute
	tagRegex     *regexp.Regexp
	versionKey   int // submatch index of the version group
	env          map[string]string
	envList      []string
	time         time.Time // SOURCE_DATE_EPOCH or now, UTC
	now          time.Time // the wall clock
	timeout      time.Duration
}

func (o Options) resolve() (*config, error) {
	c := &config{Options: o}
	if c.Compat == 0 {
		c.Compat = DefaultCompat
	}
	if c.Compat < Compat7 || c.Compat > Compat10 {
		return nil, errorf(ErrConfig, "compat %d: want 7, 8, 9 or 10", c.Compat)
	}
	if c.Root == "" {
		c.Root = "."
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return nil, errorf(ErrConfig, "root %s: %v", c.Root, err)
	}
	c.root = root
	c.fallbackRoot = root
	if c.FallbackRoot != "" {
		if c.fallbackRoot, err = filepath.Abs(c.FallbackRoot); err != nil {
			return nil, errorf(ErrConfig, "fallback_root %s: %v", c.FallbackRoot, err)
		}
	}
	if len(c.VersionScheme) == 0 {
		c.VersionScheme = []string{GuessNextDev}
	}
	if len(c.LocalScheme) == 0 {
		c.LocalScheme = []string{NodeAndDate}
	}
	if c.Compat < Compat10 {
		c.TagPrefix, c.TagStrict = "", false
	}
	if c.Git == "" {
		c.Git = "git"
	}
	if c.Warn == nil {
		c.Warn = func(string) {}
	}
	if c.PreParse == "" {
		c.PreParse = "warn_on_shallow"
	}
	switch c.PreParse {
	case "warn_on_shallow", "fail_on_shallow", "fetch_on_shallow", "fail_on_missing_submodules":
	default:
		return nil, errorf(ErrConfig, "pre_parse %q: want warn_on_shallow, fail_on_shallow, fetch_on_shallow or fail_on_missing_submodules", c.PreParse)
	}
	if err := c.compileTagRegex(); err != nil {
		return nil, err
	}

	c.envList = c.Env
	if c.envList == nil {
		c.envList = os.Environ()
	}
	c.env = make(map[string]string, len(c.envList))
	for _, kv := range c.envList {
		if k, v, ok := strings.Cut(kv, "="); ok {
			c.env[k] = v
		}
	}

	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.now = now()
	c.time = c.now.UTC()
	// ScmVersion.__init__: int(os.environ["SOURCE_DATE_EPOCH"]) when the
	// variable is present at all, read as UTC.
	if s, ok := c.env["SOURCE_DATE_EPOCH"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, errorf(ErrConfig, "SOURCE_DATE_EPOCH=%q is not an integer", s)
		}
		c.time = time.Unix(n, 0).UTC()
	}

	c.timeout = 40 * time.Second
	if c.Compat >= Compat8 {
		if s := c.env["SETUPTOOLS_SCM_SUBPROCESS_TIMEOUT"]; s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, errorf(ErrConfig, "SETUPTOOLS_SCM_SUBPROCESS_TIMEOUT=%q is not an integer", s)
			}
			c.timeout = time.Duration(n) * time.Second
		}
	}
	return c, nil
}

// compileTagRegex compiles the tag regex with Python's re.match semantics
// (anchored at the start only) and finds the version group the way
// _parse_version_tag does: the only group when there is one, else the
// group named "version".
func (c *config) compileTagRegex() error {
	src := c.TagRegex
	if src == "" {
		src = DefaultTagRegex
	}
	re, err := regexp.Compile(`\A(?:` + src + `)`)
	if err != nil {
		return errorf(ErrConfig, "tag_regex %q: %v", src, err)
	}
	c.tagRegex = re
	switch {
	case re.NumSubexp() == 1:
		c.versionKey = 1
	default:
		c.versionKey = re.SubexpIndex("version")
		if c.Compat >= Compat10 && c.versionKey < 0 {
			return errorf(ErrConfig, "tag_regex %q: expected a single match group or a group named 'version'", src)
		}
		if c.versionKey < 0 {
			c.Warn("Expected tag_regex to contain a single match group or a group named 'version' to identify the version part of any tag.")
		}
	}
	return nil
}

func (c *config) knownVersionScheme(name string) bool {
	switch name {
	case GuessNextDev, PostRelease, NoGuessDev, PythonSimplifiedSemver, ReleaseBranchSemver, CalverByDate:
		return true
	case OnlyVersion:
		return c.Compat >= Compat8
	case SemverPEP440, SemverPEP440Release:
		return c.Compat >= Compat10
	}
	return false
}

func (c *config) versionScheme() (string, error) {
	for _, name := range c.VersionScheme {
		if c.knownVersionScheme(name) {
			switch name {
			case SemverPEP440:
				return PythonSimplifiedSemver, nil
			case SemverPEP440Release:
				return ReleaseBranchSemver, nil
			}
			return name, nil
		}
	}
	return "", errorf(ErrUnknownScheme, "unknown version scheme %s at compat %d", strings.Join(c.VersionScheme, ", "), c.Compat)
}

// String renders the options the way they would appear in a debug trace.
func (c *config) String() string {
	return fmt.Sprintf("root=%s compat=%d version_scheme=%v local_scheme=%v", c.root, c.Compat, c.VersionScheme, c.LocalScheme)
}
