package scm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Result is what Describe found: setuptools_scm's ScmVersion before any
// scheme ran. Its methods apply the configured schemes.
type Result struct {
	// Tag is the tag git describe chose, as printed ("" when there is none).
	Tag string
	// Version is str() of the tag's version: normalized PEP 440 unless
	// NoNormalize; "0.0" (or, from compat 9, the fallback version) when
	// there is no tag. For a Preformatted result it is the verbatim string.
	// From compat 9 it excludes the tag's local part (see TagLocal).
	Version string
	// TagLocal is the tag's normalized local part ("build.5" for tag
	// 1.2.3+build.5), kept from compat 9; "" otherwise.
	TagLocal string
	// Distance is the number of commits since the tag (every commit
	// reachable from HEAD when there is no tag).
	Distance int
	// Exact is true when HEAD is on the tag and the tree is clean: every
	// scheme then returns the tag's version.
	Exact bool
	// Node is "g" plus the abbreviated commit hash, "" without a commit.
	Node string
	// Commit is the full hash of HEAD when git printed it (compat 9+
	// describe, or the no-tag fallback); see HeadCommit otherwise.
	Commit string
	// Dirty reports uncommitted changes to tracked files.
	Dirty bool
	// Branch is the current branch, "HEAD" when detached, "" when unknown.
	Branch string
	// NodeDate is the date of HEAD's commit (see the compat notes), at
	// midnight UTC.
	NodeDate time.Time
	// Time is SOURCE_DATE_EPOCH, or the current time, in UTC.
	Time time.Time
	// Preformatted marks a pretend version or a fallback version: it is
	// printed verbatim and no scheme runs.
	Preformatted bool
	// Source names where the version came from: "git", "pretend",
	// "fallback_version", "parentdir", "PKG-INFO", ".git_archival.txt".
	Source string
	// Describe is the raw output of the describe command ("" when it
	// failed or did not run).
	Describe string
	// Shallow reports a shallow clone.
	Shallow bool
	// Root is the git work tree (or fallback directory) that was read.
	Root string

	tag tagVersion
	c   *config
}

// Describe runs git (or reads the pretend variables and fallbacks) exactly
// as setuptools_scm would, without applying any scheme yet.
//
// Errors: ErrConfig for bad options, ErrNoVersion when Root is not the top
// of a git work tree and no fallback applies, ErrBadTag or ErrInvalidVersion
// when the nearest tag is not a version, ErrShallow, ErrGit.
func Describe(ctx context.Context, opts Options) (*Result, error) {
	c, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	return describe(ctx, c, nil)
}

// Version is Describe followed by Result.Format: the string setuptools_scm
// prints.
func Version(ctx context.Context, opts Options) (string, error) {
	r, err := Describe(ctx, opts)
	if err != nil {
		return "", err
	}
	return r.Format()
}

func describe(ctx context.Context, c *config, trace func(string, []string)) (*Result, error) {
	if r, err := c.pretend(); r != nil || err != nil {
		return r, err
	}
	run := &runner{c: c, env: gitEnv(c.envList, c.Compat), trace: trace}
	w, err := run.findWorkdir(ctx)
	if err != nil {
		return nil, err
	}
	if w != nil {
		return parseGit(ctx, c, w)
	}
	r, err := c.fallbacks()
	if err != nil || r != nil {
		return r, err
	}
	return nil, errorf(ErrNoVersion,
		"setuptools-scm was unable to detect version for %s. "+
			"It is not the top of a git work tree, and no fallback "+
			"(PKG-INFO, .git_archival.txt, fallback_version with a pyproject.toml or setup.py) applies.", c.root)
}

// newResult fills the fields every result shares.
func (c *config) newResult(source string) *Result {
	return &Result{Source: source, Time: c.time, Root: c.root, c: c}
}

// parseGit is setuptools_scm's git.parse / _git_parse_inner.
func parseGit(ctx context.Context, c *config, w *gitWorkdir) (*Result, error) {
	r := c.newResult("git")
	r.Root = w.path
	shallow, err := w.preParse(ctx)
	if err != nil {
		return nil, err
	}
	r.Shallow = shallow

	res, _, err := w.describe(ctx)
	if err != nil {
		return nil, err
	}
	if res.ok() {
		r.Describe = res.out
		d, err := parseDescribe(res.out)
		if err != nil {
			return nil, err
		}
		r.Tag, r.Distance, r.Dirty = c.debianTag(d.tag), d.distance, d.dirty
		r.Node = c.node(d.node)
		if c.Compat >= Compat9 && c.DescribeCommand == nil && len(d.node) == 41 {
			r.Commit = d.node[1:]
		}
		r.Exact = d.distance == 0 && !d.dirty && d.hasDistance
		if !d.hasDistance {
			// A bare tag (archival-style output): exact in 7.x, distance 0.
			r.Exact = !d.dirty
		}
		if r.tag, err = c.tagToVersion(r.Tag); err != nil {
			return nil, err
		}
	} else {
		// The describe command failed: no matching tag, or no commit.
		node, err := w.node(ctx)
		if err != nil {
			return nil, err
		}
		base := "0.0"
		if c.Compat >= Compat9 && c.FallbackVersion != "" {
			base = c.FallbackVersion
		}
		// 9+ builds version_cls("0.0" or fallback_version) directly; 7/8
		// pass "0.0" through the tag regex. Both give the same for "0.0".
		if c.Compat >= Compat9 {
			r.tag, err = c.versionCls(base)
		} else {
			r.tag, err = c.tagToVersion(base)
		}
		if err != nil {
			return nil, err
		}
		if node == "" {
			r.Distance = 0
			if c.Compat >= Compat8 {
				r.Dirty = true
			} else if r.Dirty, err = w.isDirty(ctx); err != nil {
				return nil, err
			}
		} else {
			r.Commit = node
			if r.Distance, err = w.countAllNodes(ctx); err != nil {
				return nil, err
			}
			r.Node = c.node("g" + node)
			if c.Compat < Compat9 {
				r.Node = "g" + node[:min(7, len(node))]
			}
			if r.Dirty, err = w.isDirty(ctx); err != nil {
				return nil, err
			}
		}
	}
	r.Version = r.tag.str
	if c.Compat >= Compat9 {
		// 9+ runs the schemes on the tag's public part and merges its
		// local part with the local scheme's output.
		pub, local := r.tag.split()
		r.Version, r.TagLocal = pub.str, local
	}

	if r.Branch, err = w.branch(ctx); err != nil {
		return nil, err
	}
	d, ok, err := w.headDate(ctx)
	if err != nil {
		return nil, err
	}
	if !ok && c.Compat >= Compat9 {
		dirty, err := w.isDirty(ctx)
		if err != nil {
			return nil, err
		}
		if dirty {
			if d, ok, err = w.dirtyTagDate(ctx); err != nil {
				return nil, err
			}
		}
	}
	if !ok {
		switch c.Compat {
		case Compat7:
			d = c.now.Local()
			d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		default:
			d = dateOf(c.now.UTC())
		}
	}
	r.NodeDate = d
	return r, nil
}

// node applies 9.x's rule: the node is at most 10 characters, "g"
// included. Before 9 it is git's abbreviation as printed.
func (c *config) node(n string) string {
	if c.Compat >= Compat9 && len(n) > 10 {
		return n[:10]
	}
	return n
}

type described struct {
	tag, node   string
	distance    int
	hasDistance bool
	dirty       bool
}

// parseDescribe is _git_parse_describe without Debian's patch (which
// strips a leading "debian/" or "upstream/" from the tag; upstream
// setuptools_scm does not):
//
//	v1.15.1rc1-37-g9bd1298-dirty -> tag v1.15.1rc1, distance 37, node g9bd1298, dirty
//
// The split is rsplit('-', 2), so dashes inside the tag are fine. Output
// without the -N-gHEX suffix is a bare tag with distance 0.
func parseDescribe(out string) (described, error) {
	var d described
	if strings.HasSuffix(out, "-dirty") {
		d.dirty = true
		out = strings.TrimSuffix(out, "-dirty")
	}
	i := strings.LastIndexByte(out, '-')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(out[:i], '-')
	}
	if i < 0 || j < 0 {
		d.tag = out
		return d, nil
	}
	n, err := pyInt(out[j+1 : i])
	if err != nil {
		return d, errorf(ErrGit, "describe output %q: distance %q is not a number", out, out[j+1:i])
	}
	d.tag, d.distance, d.node, d.hasDistance = out[:j], n, out[i+1:], true
	return d, nil
}

// debianTag applies Options.DebianPatch.
func (c *config) debianTag(tag string) string {
	if !c.DebianPatch {
		return tag
	}
	tag = strings.TrimPrefix(tag, "debian/")
	return strings.TrimPrefix(tag, "upstream/")
}

// pyInt parses a decimal integer the way Python's int() does for the
// strings git can print (surrounding spaces, an optional sign).
func pyInt(s string) (int, error) {
	return strconv.Atoi(strings.TrimSpace(s))
}

// pretend reads SETUPTOOLS_SCM_PRETEND_VERSION[_FOR_<DIST>].
func (c *config) pretend() (*Result, error) {
	const key = "SETUPTOOLS_SCM_PRETEND_VERSION"
	var v string
	found := false
	if c.DistName != "" {
		v, found = c.env[PretendVarFor(c.DistName, c.Compat)]
	}
	if !found {
		v = c.env[key]
	}
	if v == "" {
		return nil, nil
	}
	if c.Compat >= Compat9 {
		if _, err := parseVersion(v); err != nil {
			return nil, errorf(ErrInvalidVersion, "Invalid version: %s", pyRepr(v))
		}
	}
	r := c.newResult("pretend")
	r.Version, r.Preformatted, r.Exact = v, true, true
	r.tag = tagVersion{str: v}
	return r, nil
}

// PretendVarFor returns the name of the variable that pins distName's
// version: SETUPTOOLS_SCM_PRETEND_VERSION_FOR_ plus dist_name.upper() in
// 7.x, or from 8.0 the PEP 503 name with "-" turned into "_", upper-cased
// (my.pkg -> MY_PKG).
func PretendVarFor(distName string, compat Compat) string {
	return "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_" + pretendSuffix(distName, compat)
}

func pretendSuffix(dist string, compat Compat) string {
	if compat != 0 && compat < Compat8 {
		return pyUpper(dist)
	}
	var b strings.Builder
	run := false
	for _, r := range dist {
		if r == '-' || r == '_' || r == '.' {
			if !run {
				b.WriteByte('_')
			}
			run = true
			continue
		}
		run = false
		b.WriteRune(r)
	}
	return pyUpper(b.String())
}

func pyUpper(s string) string { return strings.ToUpper(s) }

// fallbacks are the parse_scm_fallback entry points, in setuptools_scm's
// order, for a root that is not a git work tree: .git_archival.txt,
// PKG-INFO, pip-egg-info, then (when pyproject.toml or setup.py exists)
// parentdir_prefix_version and fallback_version.
func (c *config) fallbacks() (*Result, error) {
	for _, dir := range potentialRoots(c.fallbackRoot, c.SearchParentDirectories) {
		exists := func(name string) bool {
			_, err := os.Stat(filepath.Join(dir, name))
			return err == nil
		}
		if exists(".git_archival.txt") {
			r, err := c.parseArchival(filepath.Join(dir, ".git_archival.txt"))
			if err != nil || r != nil {
				return r, err
			}
		}
		if exists("PKG-INFO") {
			if r := c.parsePkgInfo(filepath.Join(dir, "PKG-INFO")); r != nil {
				return r, nil
			}
		}
		if exists("pip-egg-info") {
			if entries, err := os.ReadDir(filepath.Join(dir, "pip-egg-info")); err == nil && len(entries) > 0 {
				names := make([]string, 0, len(entries))
				for _, e := range entries {
					names = append(names, e.Name())
				}
				sort.Strings(names)
				if r := c.parsePkgInfo(filepath.Join(dir, "pip-egg-info", names[0], "PKG-INFO")); r != nil {
					return r, nil
				}
			}
		}
		if exists("pyproject.toml") || exists("setup.py") {
			r, err := c.fallbackVersion(dir)
			if err != nil || r != nil {
				return r, err
			}
		}
	}
	return nil, nil
}

// fallbackVersion is hacks.fallback_version.
func (c *config) fallbackVersion(dir string) (*Result, error) {
	if p := c.ParentdirPrefixVersion; p != "" {
		if name := filepath.Base(dir); strings.HasPrefix(name, p) {
			tv, err := c.tagToVersion(name[len(p):])
			if err == nil {
				r := c.newResult("parentdir")
				r.Version, r.Preformatted, r.Exact, r.tag = tv.str, true, true, tagVersion{str: tv.str}
				return r, nil
			}
		}
	}
	if c.FallbackVersion != "" {
		r := c.newResult("fallback_version")
		r.Version, r.Preformatted, r.Exact = c.FallbackVersion, true, true
		r.tag = tagVersion{str: c.FallbackVersion}
		return r, nil
	}
	return nil, nil
}

// readMime is utils.data_from_mime: "key: value" lines.
func readMime(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			data[k] = v
		}
	}
	return data, nil
}

func (c *config) parsePkgInfo(path string) *Result {
	data, err := readMime(path)
	if err != nil {
		return nil
	}
	v, ok := data["Version"]
	if !ok || v == "UNKNOWN" {
		return nil
	}
	r := c.newResult("PKG-INFO")
	r.Version, r.Preformatted, r.Exact, r.tag = v, true, true, tagVersion{str: v}
	return r
}

// parseArchival is git.parse_archival / archival_to_version for a
// .git_archival.txt written by `git archive` with export-subst.
func (c *config) parseArchival(path string) (*Result, error) {
	data, err := readMime(path)
	if err != nil {
		return nil, errorf(ErrConfig, "read %s: %v", path, err)
	}
	r := c.newResult(".git_archival.txt")
	describeName, ok := data["describe-name"]
	if !ok || strings.Contains(describeName, "%(describe") {
		c.Warn("git archive did not support describe output")
	} else {
		d, err := parseDescribe(describeName)
		if err != nil {
			return nil, err
		}
		r.Tag, r.Distance, r.Node = c.debianTag(d.tag), d.distance, c.node(d.node)
		r.Exact = d.distance == 0
		if r.tag, err = c.tagToVersion(r.Tag); err != nil {
			return nil, err
		}
		r.Version = r.tag.str
		return r, nil
	}
	for _, ref := range refTags(data["ref-names"]) {
		tv, err := c.tagToVersion(ref)
		if err != nil {
			continue
		}
		r.Tag, r.tag, r.Version, r.Exact = ref, tv, tv.str, true
		return r, nil
	}
	node, ok := data["node"]
	if !ok {
		return nil, nil
	}
	if strings.Contains(strings.ToUpper(node), "$FORMAT") {
		c.Warn("unexported git archival found")
		return nil, nil
	}
	if r.tag, err = c.tagToVersion("0.0"); err != nil {
		return nil, err
	}
	r.Node, r.Version, r.Exact = node, r.tag.str, true
	return r, nil
}

// refTags is REF_TAG_RE.findall: the names after "tag: " in a ref-names
// line such as "HEAD -> main, tag: v1.0.0, origin/main".
func refTags(refNames string) []string {
	var out []string
	for _, part := range strings.Split(refNames, ",") {
		part = strings.TrimSpace(part)
		if t, ok := strings.CutPrefix(part, "tag: "); ok && t != "" {
			out = append(out, t)
		}
	}
	return out
}

// String is ScmVersion.__repr__ (7.x form), used in setuptools_scm's error
// messages: <ScmVersion 1.2.3rc1 dist=2 node=g594b2a1 dirty=False branch=main>.
func (r *Result) String() string {
	dist := "None"
	if !r.Exact {
		dist = strconv.Itoa(r.Distance)
	}
	return fmt.Sprintf("<ScmVersion %s dist=%s node=%s dirty=%s branch=%s>",
		r.tag.str, dist, pyNone(r.Node), pyBool(r.Dirty), pyNone(r.Branch))
}

func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// HeadCommit returns the full hash of HEAD in root, running `git rev-parse
// --verify --quiet HEAD` with setuptools_scm's environment rewriting.
// It returns "" without error when there is no commit.
func HeadCommit(ctx context.Context, opts Options) (string, error) {
	c, err := opts.resolve()
	if err != nil {
		return "", err
	}
	run := &runner{c: c, env: gitEnv(c.envList, c.Compat)}
	w := &gitWorkdir{r: run, path: c.root}
	return w.node(ctx)
}
