// Command scmversion prints the version setuptools_scm would compute for a
// git checkout, and can ask a pyindex server for the dev number instead of
// counting commits (for shallow CI clones). It is a thin CLI over
// upload/scm; docs/scmversion.md is its manual.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index/buildinfo"
	"github.com/pyindex/pyindex/index/devapi"
	"github.com/pyindex/pyindex/upload/scm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// flags holds the command line.
type flags struct {
	root, config, tagRegex, fallbackVersion, describeCommand string
	distName, compat, format, index, project                 string
	versionScheme, localScheme                               []string
	noNormalize, serverBase                                  bool

	stderr     io.Writer
	compatFrom string // why o.Compat was chosen
}

const long = `scmversion prints the version setuptools_scm would print for a git checkout,
on one line, and nothing else on stdout. Errors go to stderr with exit status 1.

Configuration is read like setuptools_scm reads it: [tool.setuptools_scm] in
the nearest pyproject.toml (found from --root, or the current directory,
upwards), the distribution name from [project] name, and the environment
(SETUPTOOLS_SCM_PRETEND_VERSION, SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<DIST>,
SOURCE_DATE_EPOCH). Flags win over the file.

--compat picks the setuptools_scm release line to imitate where they differ
(node length, tag local parts, fallback_version as base, calver dates, semver
corner cases, _FOR_<DIST> naming). The default, auto, reads the setuptools_scm
requirement in pyproject.toml's [build-system] requires and takes the highest
line it allows (setuptools_scm<8: 7), which is what the build installs; without
one it is 10, what an unpinned "pip install setuptools-scm" gets. Debian 12's
python3-setuptools-scm is 7. --format json says which was used and why.

With --index URL --project NAME, the dev number comes from the pyindex server
(POST URL/api/v1/projects/NAME/dev-versions) instead of the commit count, so
shallow clones and parallel branches still get unique, ordered versions. The
token is $PYINDEX_TOKEN, or the netrc password for the index's host. A HEAD
exactly on a tag (or a pretend version) is printed without asking the server.

See docs/scmversion.md for CI examples.`

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	var f flags
	cmd := &cobra.Command{
		Use:           "scmversion",
		Version:       buildinfo.Version(version),
		Short:         "Print the setuptools_scm version of a git checkout",
		Long:          long,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd.Context(), cmd, environ, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.root, "root", "", "directory at the top of the git work tree (default: the pyproject.toml's directory, else .)")
	fl.StringVar(&f.config, "config", "", "pyproject.toml to read (default: the nearest one from --root or . upwards)")
	fl.StringSliceVar(&f.versionScheme, "version-scheme", nil,
		"guess-next-dev (default), post-release, no-guess-dev, only-version, python-simplified-semver,\nrelease-branch-semver, calver-by-date; a comma list is tried in order")
	fl.StringSliceVar(&f.localScheme, "local-scheme", nil,
		"node-and-date (default), node-and-timestamp, dirty-tag, no-local-version")
	fl.StringVar(&f.tagRegex, "tag-regex", "", "regex extracting the version from a tag (Python syntax that RE2 supports)")
	fl.StringVar(&f.fallbackVersion, "fallback-version", "", "version when there is no git work tree (compat 9+: also the base when there is no tag)")
	fl.StringVar(&f.describeCommand, "git-describe-command", "", "replaces git describe entirely (split like a shell command)")
	fl.BoolVar(&f.noNormalize, "no-normalize", false, "keep tag versions as written (setuptools_scm's normalize = false)")
	fl.StringVar(&f.distName, "dist-name", "", "distribution name for SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<DIST> (default: [project] name)")
	fl.StringVar(&f.compat, "compat", "auto", "setuptools_scm release line to imitate: 7, 8, 9, 10, or auto (from pyproject.toml [build-system] requires, else 10)")
	fl.StringVar(&f.format, "format", "text", "text (the version), env (SETUPTOOLS_SCM_PRETEND_VERSION=...), json (all parts)")
	fl.StringVar(&f.index, "index", "", "pyindex server URL: take the dev number from it instead of the commit count")
	fl.StringVar(&f.project, "project", "", "project name on the index (default: the distribution name)")
	fl.BoolVar(&f.serverBase, "server-base", false, "with --index: let the server choose the base version (next after its newest release)")
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "scmversion: %v\n", err)
		return 1
	}
	return 0
}

// options builds scm.Options: pyproject.toml first, then the flags that
// were given.
func (f *flags) options(cmd *cobra.Command, environ []string, stderr io.Writer) (scm.Options, error) {
	// Each warning is printed once, however often git is consulted.
	seen := map[string]bool{}
	o := scm.Options{
		Env: environ,
		Warn: func(msg string) {
			if !seen[msg] {
				seen[msg] = true
				fmt.Fprintf(stderr, "scmversion: warning: %s\n", msg)
			}
		},
	}
	path := f.config
	if path == "" {
		start := f.root
		if start == "" {
			start = "."
		}
		var err error
		if path, err = scm.FindPyproject(start); err != nil {
			return o, err
		}
	}
	var pp *scm.Pyproject
	if path != "" {
		var err error
		if pp, err = scm.ReadPyproject(path); err != nil {
			return o, err
		}
		if err := pp.Apply(&o); err != nil {
			return o, err
		}
	}
	changed := cmd.Flags().Changed
	if changed("root") {
		o.Root = f.root
	}
	if changed("version-scheme") {
		o.VersionScheme = f.versionScheme
	}
	if changed("local-scheme") {
		o.LocalScheme = f.localScheme
	}
	if changed("tag-regex") {
		o.TagRegex = f.tagRegex
	}
	if changed("fallback-version") {
		o.FallbackVersion = f.fallbackVersion
	}
	if changed("git-describe-command") {
		argv, err := scm.SplitCommand(f.describeCommand)
		if err != nil {
			return o, err
		}
		o.DescribeCommand = argv
	}
	if changed("no-normalize") {
		o.NoNormalize = f.noNormalize
	}
	if changed("dist-name") {
		o.DistName = f.distName
	}
	if f.compat == "auto" {
		compat, from, err := scm.AutoCompat(pp)
		if err != nil {
			return o, err
		}
		o.Compat, f.compatFrom = compat, from
	} else {
		compat, err := scm.ParseCompat(f.compat)
		if err != nil {
			return o, fmt.Errorf("%w (or auto)", err)
		}
		o.Compat, f.compatFrom = compat, "--compat "+f.compat
	}
	switch f.format {
	case "text", "env", "json":
	default:
		return o, fmt.Errorf("--format %q: want text, env or json", f.format)
	}
	if f.index != "" && f.project == "" && o.DistName == "" {
		return o, errors.New("--index needs --project (or a [project] name in pyproject.toml)")
	}
	if f.index == "" && (f.project != "" || f.serverBase) {
		return o, errors.New("--project and --server-base only make sense with --index")
	}
	return o, nil
}

// report is the --format json output.
type report struct {
	Version  string `json:"version"`
	Tag      string `json:"tag"`
	Distance int    `json:"distance"`
	Exact    bool   `json:"exact"`
	Node     string `json:"node"`
	Commit   string `json:"commit,omitempty"`
	Dirty    bool   `json:"dirty"`
	Branch   string `json:"branch"`
	NodeDate string `json:"node_date,omitempty"`
	// Base is what precedes ".devN" when the version is a dev version.
	Base string `json:"base,omitempty"`
	// BaseFrom says where the base came from with --index: the tag, the
	// index's newest version (no tag in the clone) or the server.
	BaseFrom string `json:"base_from,omitempty"`
	// DirtyDigest identifies the uncommitted changes the index numbered
	// (--index, dirty tree only).
	DirtyDigest string `json:"dirty_digest,omitempty"`
	// DevNumber is the number the index handed out (--index only).
	DevNumber *int   `json:"dev_number,omitempty"`
	Source    string `json:"source"`
	Compat    int    `json:"compat"`
	// CompatFrom says why: the flag, or the pyproject.toml requirement.
	CompatFrom string `json:"compat_from"`
}

func (f *flags) run(ctx context.Context, cmd *cobra.Command, environ []string, stdout, stderr io.Writer) error {
	f.stderr = stderr
	o, err := f.options(cmd, environ, stderr)
	if err != nil {
		return err
	}
	r, err := scm.Describe(ctx, o)
	if err != nil {
		return err
	}
	rep := report{
		Tag: r.Tag, Distance: r.Distance, Exact: r.Exact, Node: r.Node, Commit: r.Commit,
		Dirty: r.Dirty, Branch: ciBranch(r.Branch, envMap(environ)), Source: r.Source, Compat: int(o.Compat), CompatFrom: f.compatFrom,
	}
	if !r.NodeDate.IsZero() {
		rep.NodeDate = r.NodeDate.Format("2006-01-02")
	}
	if base, err := r.Base(); err == nil {
		rep.Base = base
	}
	if f.index != "" && !r.Preformatted && !r.Exact {
		if err := f.fromIndex(ctx, o, r, environ, &rep); err != nil {
			return err
		}
	} else if rep.Version, err = r.Format(); err != nil {
		return err
	}
	if f.format == "json" && rep.Commit == "" && r.Source == "git" {
		ho := o
		ho.Root = r.Root
		if rep.Commit, err = scm.HeadCommit(ctx, ho); err != nil {
			return err
		}
	}
	return f.print(stdout, o, rep)
}

// fromIndex asks the index for the dev number and formats the version
// with it.
//
// The base is the version scheme's (setuptools_scm's, from the nearest
// tag) when git found a tag. Without one (a shallow clone) it comes from
// the index: the scheme applied to the project's newest version there, so
// that the build sorts above every earlier one; the request says
// above_all, and when another build or a release got in between the server
// refuses with the new newest version and the base is chosen again.
func (f *flags) fromIndex(ctx context.Context, o scm.Options, r *scm.Result, environ []string, rep *report) error {
	env := envMap(environ)
	req := devapi.Request{Commit: r.Commit, Branch: ciBranch(r.Branch, env)}
	ho := o
	ho.Root = r.Root
	if req.Commit == "" {
		c, err := scm.HeadCommit(ctx, ho)
		if err != nil {
			return err
		}
		req.Commit = c
	}
	if r.Dirty {
		d, err := scm.ChangesDigest(ctx, ho)
		if err != nil {
			return err
		}
		req.Dirty = d
		rep.DirtyDigest = d
	}
	indexURL, err := indexRoot(f.index)
	if err != nil {
		return err
	}
	project := f.project
	if project == "" {
		project = o.DistName
	}
	user, secret := credentials(indexURL, env)
	client := &scm.IndexClient{URL: indexURL, User: user, Token: secret}
	explain := func(err error) error {
		var he *scm.HTTPError
		if errors.As(err, &he) && (he.Status == 401 || he.Status == 403) && client.Token == "" {
			return fmt.Errorf("%w (no token: set PYINDEX_TOKEN or add a netrc entry for the index's host)", err)
		}
		return err
	}
	notDev := func(err error) error {
		if errors.Is(err, scm.ErrNotDev) {
			return fmt.Errorf("--index: %w; use a version scheme that ends in .devN (guess-next-dev, no-guess-dev, python-simplified-semver, release-branch-semver, calver-by-date)", err)
		}
		return err
	}
	var resp devapi.Response
	switch {
	case f.serverBase:
		rep.BaseFrom = "server: guess-next-dev of the project's newest version"
		if resp, err = client.DevVersion(ctx, project, req); err != nil {
			return explain(err)
		}
	case r.Tagless():
		st, err := client.DevState(ctx, project)
		if err != nil {
			var he *scm.HTTPError
			if errors.As(err, &he) && (he.Status == 404 || he.Status == 405) {
				return fmt.Errorf("%w (the index cannot tell the project's newest version, which a clone without tags needs: upgrade the server, or fetch the tags)", err)
			}
			return explain(err)
		}
		req.AboveAll = true
		for attempt := 0; ; attempt++ {
			if req.Base, err = r.BaseAfter(st.Newest); err != nil {
				return notDev(err)
			}
			rep.BaseFrom = "index: no tag in the clone, newest version " + st.Newest
			if st.Newest == "" {
				rep.BaseFrom = "no tag in the clone and no version on the index"
			}
			resp, err = client.DevVersion(ctx, project, req)
			var he *scm.HTTPError
			if attempt < 5 && errors.As(err, &he) && he.Status == 409 && he.Newest != "" {
				st.Newest = he.Newest
				continue
			}
			if err != nil {
				return explain(err)
			}
			break
		}
	default:
		if req.Base, err = r.Base(); err != nil {
			return notDev(err)
		}
		rep.BaseFrom = "tag " + r.Tag
		if resp, err = client.DevVersion(ctx, project, req); err != nil {
			return explain(err)
		}
	}
	if req.Dirty != "" && resp.Dirty == "" {
		fmt.Fprintf(f.stderr, "scmversion: warning: the index does not number dirty trees apart: %s may be the clean commit's number\n", resp.Version)
	}
	n := resp.Number
	rep.DevNumber = &n
	if req.Base == "" {
		rep.Base = resp.DevBase()
		rep.Version, err = r.WithLocal(resp.Version)
		return err
	}
	rep.Base = req.Base
	// The version is ours (base + ".dev" + number), so that it is
	// setuptools_scm's string even if the server normalized the base.
	rep.Version, err = r.WithLocal(req.Base + ".dev" + strconv.Itoa(n))
	return err
}

// indexRoot accepts the server's root URL; a trailing /simple/ or /legacy/
// (the URLs pip and twine are given) is dropped.
func indexRoot(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("--index %q: want an http(s) URL such as https://pypi.example.com", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	for _, suffix := range []string{"/simple", "/legacy"} {
		p = strings.TrimSuffix(p, suffix)
	}
	u.Path = p
	return u.String(), nil
}

// credentials are $PYINDEX_TOKEN (a token, user ""), else the netrc entry
// of the index's host: its password as a token when the login is
// "__token__" or missing, else the login and password of a user, as twine
// and pip send them.
func credentials(indexURL string, env map[string]string) (user, secret string) {
	if t := env["PYINDEX_TOKEN"]; t != "" {
		return "", t
	}
	u, err := url.Parse(indexURL)
	if err != nil {
		return "", ""
	}
	login, password, ok := netrcLogin(env, u.Hostname())
	if !ok {
		return "", ""
	}
	if login == "__token__" {
		login = ""
	}
	return login, password
}

// ciBranch is the branch reported to the index: git's, or when git only
// knows a detached HEAD (the usual CI checkout), the CI system's.
func ciBranch(gitBranch string, env map[string]string) string {
	if gitBranch != "" && gitBranch != "HEAD" {
		return gitBranch
	}
	for _, k := range []string{"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME", "GIT_BRANCH"} {
		if v := env[k]; v != "" {
			return strings.TrimPrefix(v, "origin/")
		}
	}
	return gitBranch
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func (f *flags) print(w io.Writer, o scm.Options, rep report) error {
	if strings.ContainsAny(rep.Version, "\n\r") {
		return fmt.Errorf("version %q contains a line break", rep.Version)
	}
	switch f.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	case "env":
		// Both lines when a distribution name was given: setuptools reads
		// the _FOR_ form, hatch-vcs only the generic one.
		if f.distName != "" {
			name := scm.PretendVarFor(f.distName, o.Compat)
			if _, err := fmt.Fprintf(w, "%s=%s\n", name, rep.Version); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "SETUPTOOLS_SCM_PRETEND_VERSION=%s\n", rep.Version)
		return err
	default:
		_, err := fmt.Fprintln(w, rep.Version)
		return err
	}
}
