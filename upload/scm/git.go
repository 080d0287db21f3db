package scm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// gitEnv rewrites the environment of every subprocess the way
// setuptools_scm does (utils.no_git_env, avoid_pip_isolation and the fixed
// locale variables of _run):
//
//   - every GIT_* variable is dropped except GIT_EXEC_PATH, GIT_SSH and
//     GIT_SSH_COMMAND; 8.2+ also keeps GIT_CEILING_DIRECTORIES, 9+ also
//     GIT_AUTHOR_DATE and GIT_COMMITTER_DATE;
//   - PYTHONNOUSERSITE is dropped and PYTHONPATH loses pip-build-env-
//     entries;
//   - LC_ALL=C (7) or C.UTF-8 (8+), LANGUAGE= and HGPLAIN=1 are set, and
//     10 adds HGRCPATH=.
//
// HOME is kept, so the user's ~/.gitconfig (core.abbrev, …) still applies.
func gitEnv(environ []string, compat Compat) []string {
	keep := map[string]bool{"GIT_EXEC_PATH": true, "GIT_SSH": true, "GIT_SSH_COMMAND": true}
	if compat >= Compat8 {
		keep["GIT_CEILING_DIRECTORIES"] = true
	}
	if compat >= Compat9 {
		keep["GIT_AUTHOR_DATE"] = true
		keep["GIT_COMMITTER_DATE"] = true
	}
	set := map[string]string{"LC_ALL": "C", "LANGUAGE": "", "HGPLAIN": "1"}
	if compat >= Compat8 {
		set["LC_ALL"] = "C.UTF-8"
	}
	if compat >= Compat10 {
		set["HGRCPATH"] = ""
	}
	out := make([]string, 0, len(environ)+len(set))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GIT_") && !keep[k]:
			continue
		case k == "PYTHONNOUSERSITE":
			continue
		case k == "PYTHONPATH":
			var parts []string
			for _, p := range filepath.SplitList(v) {
				if !strings.Contains(p, "pip-build-env-") {
					parts = append(parts, p)
				}
			}
			kv = k + "=" + strings.Join(parts, string(os.PathListSeparator))
		}
		if _, overridden := set[k]; overridden {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range []string{"LC_ALL", "LANGUAGE", "HGPLAIN", "HGRCPATH"} {
		if v, ok := set[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// cmdResult is setuptools_scm's _CmdResult: stripped stdout and stderr and
// the exit status.
type cmdResult struct {
	out, err string
	code     int
}

func (r cmdResult) ok() bool { return r.code == 0 }

// runner runs commands for one Describe call.
type runner struct {
	c   *config
	env []string
	// Trace, when set, receives every argv (tests assert the sequence).
	trace func(dir string, argv []string)
}

// run executes argv in dir. A command that cannot start is reported as
// ErrGit; a non-zero exit is only a result.
func (r *runner) run(ctx context.Context, dir string, timeout time.Duration, argv ...string) (cmdResult, error) {
	if r.trace != nil {
		r.trace(dir, argv)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := argv[0]
	if name == "git" {
		name = r.c.Git
	}
	cmd := exec.CommandContext(ctx, name, argv[1:]...)
	cmd.Dir = dir
	cmd.Env = r.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cmdResult{out: strings.TrimSpace(stdout.String()), err: strings.TrimSpace(stderr.String())}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, errorf(ErrGit, "%s: timed out after %s", strings.Join(argv, " "), timeout)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		return res, errorf(ErrGit, "%s: %v", strings.Join(argv, " "), err)
	}
	return res, nil
}

// gitWorkdir is setuptools_scm's GitWorkdir.
type gitWorkdir struct {
	r    *runner
	path string
}

// git runs `git --git-dir <path>/.git args…` in path (run_git).
func (w *gitWorkdir) git(ctx context.Context, args ...string) (cmdResult, error) {
	argv := append([]string{"git", "--git-dir", filepath.Join(w.path, ".git")}, args...)
	return w.r.run(ctx, w.path, w.r.c.timeout, argv...)
}

func (w *gitWorkdir) isShallow() bool {
	fi, err := os.Stat(filepath.Join(w.path, ".git", "shallow"))
	return err == nil && fi.Mode().IsRegular()
}

func (w *gitWorkdir) isDirty(ctx context.Context) (bool, error) {
	res, err := w.git(ctx, "status", "--porcelain", "--untracked-files=no")
	return res.ok() && res.out != "", err
}

// node is `rev-parse --verify --quiet HEAD`: the full hash, or "" when
// there is no commit.
func (w *gitWorkdir) node(ctx context.Context) (string, error) {
	res, err := w.git(ctx, "rev-parse", "--verify", "--quiet", "HEAD")
	if err != nil || !res.ok() {
		return "", err
	}
	return res.out, nil
}

// countAllNodes is `rev-list HEAD` counted by lines
// (revs.count("\n") + 1 on the stripped output).
func (w *gitWorkdir) countAllNodes(ctx context.Context) (int, error) {
	res, err := w.git(ctx, "rev-list", "HEAD")
	if err != nil {
		return 0, err
	}
	return strings.Count(res.out, "\n") + 1, nil
}

// branch is `rev-parse --abbrev-ref HEAD`, else `symbolic-ref --short
// HEAD`, else "" (Python's None).
func (w *gitWorkdir) branch(ctx context.Context) (string, error) {
	res, err := w.git(ctx, "rev-parse", "--abbrev-ref", "HEAD")
	if err != nil {
		return "", err
	}
	if res.ok() && (res.out != "" || w.r.c.Compat < Compat9) {
		return res.out, nil
	}
	res, err = w.git(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil || !res.ok() {
		return "", err
	}
	return res.out, nil
}

// headDate is the committer date of HEAD (`log -n 1 HEAD --format=%cI`):
// the calendar date as written in the committer's offset up to compat 8,
// converted to UTC from compat 9. ok is false when there is no commit.
func (w *gitWorkdir) headDate(ctx context.Context) (d time.Time, ok bool, err error) {
	res, err := w.git(ctx, "-c", "log.showSignature=false", "log", "-n", "1", "HEAD", "--format=%cI")
	if err != nil || !res.ok() || strings.Contains(res.out, "%c") {
		return time.Time{}, false, err
	}
	if w.r.c.Compat >= Compat9 {
		t, perr := time.Parse(time.RFC3339, res.out)
		if perr != nil {
			return time.Time{}, false, errorf(ErrGit, "commit date %q: %v", res.out, perr)
		}
		return dateOf(t.UTC()), true, nil
	}
	datePart, _, _ := strings.Cut(res.out, "T")
	t, perr := time.Parse("2006-01-02", datePart)
	if perr != nil {
		return time.Time{}, false, errorf(ErrGit, "commit date %q: %v", res.out, perr)
	}
	return t, true, nil
}

// dirtyTagDate is 9.x's get_dirty_tag_date: the newest modification time
// of the files `git diff --name-only` lists, as a UTC date.
func (w *gitWorkdir) dirtyTagDate(ctx context.Context) (time.Time, bool, error) {
	dirty, err := w.isDirty(ctx)
	if err != nil || !dirty {
		return time.Time{}, false, err
	}
	res, err := w.git(ctx, "diff", "--name-only")
	if err != nil || !res.ok() {
		return time.Time{}, false, err
	}
	var newest time.Time
	for _, name := range strings.Split(res.out, "\n") {
		if name == "" {
			continue
		}
		fi, err := os.Stat(filepath.Join(w.path, name))
		if err != nil {
			continue
		}
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	if newest.IsZero() {
		return time.Time{}, false, nil
	}
	return dateOf(newest.UTC()), true, nil
}

// dateOf truncates t to its calendar date, in UTC.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// requireGit is require_command("git"): `git help` in 7.x, `git version`
// in 8 and 9; the 10.x trace shows no such call.
func (r *runner) requireGit(ctx context.Context) error {
	var arg string
	switch r.c.Compat {
	case Compat7:
		arg = "help"
	case Compat8, Compat9:
		arg = "version"
	default:
		if _, err := exec.LookPath(r.c.Git); err != nil {
			return errorf(ErrGit, "%s was not found", pyRepr("git"))
		}
		return nil
	}
	res, err := r.run(ctx, ".", r.c.timeout, "git", arg)
	if err != nil || !res.ok() {
		return errorf(ErrGit, "%s was not found", pyRepr("git"))
	}
	return nil
}

// findWorkdir is the parse_scm entry-point discovery plus
// GitWorkdir.from_potential_worktree: the first of root (and, with
// SearchParentDirectories, its parents) that holds a .git, provided `git
// rev-parse --show-prefix` run there prints nothing (the directory is the
// top of the work tree). It returns nil when there is none.
func (r *runner) findWorkdir(ctx context.Context) (*gitWorkdir, error) {
	for _, dir := range potentialRoots(r.c.root, r.c.SearchParentDirectories) {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err != nil {
			continue
		}
		if err := r.requireGit(ctx); err != nil {
			return nil, err
		}
		w := &gitWorkdir{r: r, path: dir}
		res, err := w.git(ctx, "rev-parse", "--show-prefix")
		if err != nil {
			return nil, err
		}
		if !res.ok() || strings.TrimSuffix(res.out, "/") != "" {
			return nil, nil
		}
		return w, nil
	}
	return nil, nil
}

// potentialRoots is discover.walk_potential_roots.
func potentialRoots(root string, parents bool) []string {
	if !parents {
		return []string{root}
	}
	var out []string
	for dir := root; ; {
		out = append(out, dir)
		up := filepath.Dir(dir)
		if up == dir {
			return out
		}
		dir = up
	}
}

// describeArgv is the describe command for this compat level: the
// built-in one, or the configured one (which 8+ runs through run_git when
// it starts with "git").
func (w *gitWorkdir) describe(ctx context.Context) (cmdResult, []string, error) {
	c := w.r.c
	if c.DescribeCommand != nil {
		argv := c.DescribeCommand
		if len(argv) == 0 {
			return cmdResult{}, nil, errorf(ErrConfig, "git_describe_command is empty")
		}
		if c.Compat >= Compat8 && argv[0] == "git" {
			res, err := w.git(ctx, argv[1:]...)
			return res, argv, err
		}
		res, err := w.r.run(ctx, w.path, c.timeout, argv...)
		return res, argv, err
	}
	glob := "*[0-9]*"
	if c.TagPrefix != "" || c.TagStrict {
		glob = c.TagPrefix + "*[0-9]*"
		if c.TagStrict {
			glob = c.TagPrefix + "*[0-9]*.*[0-9]*"
		}
	}
	args := []string{"describe", "--dirty", "--tags", "--long"}
	if c.Compat >= Compat9 {
		args = append(args, "--abbrev=40")
	}
	args = append(args, "--match", glob)
	res, err := w.git(ctx, args...)
	return res, args, err
}

// failOnMissingSubmodules is 9.x's fail_on_missing_submodules: with a
// .gitmodules, every submodule must be initialized.
func (w *gitWorkdir) failOnMissingSubmodules(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(w.path, ".gitmodules")); err != nil {
		return nil
	}
	res, err := w.git(ctx, "submodule", "status")
	if err != nil || !res.ok() {
		return err
	}
	if res.out == "" {
		return errorf(ErrConfig, "Submodules are defined in .gitmodules but not initialized in %s. "+
			"Please run 'git submodule update --init --recursive' to initialize them.", w.path)
	}
	var missing []string
	for _, line := range strings.Split(res.out, "\n") {
		line = strings.TrimSpace(line)
		if f := strings.Fields(line); strings.HasPrefix(line, "-") && len(f) >= 2 {
			missing = append(missing, f[1])
		}
	}
	if len(missing) > 0 {
		return errorf(ErrConfig, "Submodules are not initialized in %s: %s. "+
			"Please run 'git submodule update --init --recursive' to initialize them.", w.path, strings.Join(missing, ", "))
	}
	return nil
}

// preParse runs the configured pre_parse action (warn_on_shallow by
// default). In 10.x a HEAD exactly on a tag skips it.
func (w *gitWorkdir) preParse(ctx context.Context) (shallow bool, err error) {
	c := w.r.c
	if c.PreParse == "fail_on_missing_submodules" {
		return w.isShallow(), w.failOnMissingSubmodules(ctx)
	}
	if !w.isShallow() {
		return false, nil
	}
	if c.Compat >= Compat10 {
		res, err := w.git(ctx, "describe", "--exact-match", "--tags", "HEAD")
		if err != nil {
			return true, err
		}
		if res.ok() {
			return true, nil
		}
	}
	switch c.PreParse {
	case "fail_on_shallow":
		return true, errorf(ErrShallow, "%s is shallow, please correct with \"git fetch --unshallow\"", w.path)
	case "fetch_on_shallow":
		c.Warn(fmt.Sprintf("%q was shallow, git fetch was used to rectify", w.path))
		argv := []string{"git", "--git-dir", filepath.Join(w.path, ".git"), "fetch", "--unshallow"}
		res, err := w.r.run(ctx, w.path, 240*time.Second, argv...)
		if err != nil {
			return true, err
		}
		if !res.ok() {
			return true, errorf(ErrGit, "git fetch --unshallow: %s", res.err)
		}
		return false, nil
	default:
		c.Warn(fmt.Sprintf("%q is shallow and may cause errors", w.path))
		return true, nil
	}
}
