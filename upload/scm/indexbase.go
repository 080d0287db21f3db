package scm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
)

// Tagless reports that git found no tag: the base setuptools_scm would use
// ("0.1" under guess-next-dev) says nothing about the project's real
// versions, typically because the clone is shallow.
func (r *Result) Tagless() bool {
	return r.Source == "git" && r.Tag == "" && !r.Preformatted
}

// BaseAfter returns the base (the version before ".devN") for a build of a
// clone without tags whose index already has newest as the project's
// greatest version:
//
//   - newest "" (nothing on the index): Base(), setuptools_scm's no-tag
//     base;
//   - a dev version (1.2.4.dev2): its own base (1.2.4), so that the index
//     numbers the build after it;
//   - any other version: the version scheme applied as if newest were the
//     nearest tag with commits after it (1.2.3 -> 1.2.4 under
//     guess-next-dev, 1.3.0 under release-branch-semver on main,
//     1.2.3.post1 under no-guess-dev).
//
// Errors: ErrInvalidVersion for a newest that is not PEP 440, and those of
// Base.
func (r *Result) BaseAfter(newest string) (string, error) {
	if newest == "" {
		return r.Base()
	}
	v, err := parseVersion(newest)
	if err != nil {
		return "", errorf(ErrInvalidVersion, "the index's newest version %q: %v", newest, err)
	}
	pub := v.Public()
	if n, ok := pub.Dev(); ok {
		return strings.TrimSuffix(pub.String(), ".dev"+n), nil
	}
	as := *r
	as.tag = tagVersion{str: pub.String(), v: pub, ok: true}
	as.Version, as.TagLocal = pub.String(), ""
	as.Exact = false
	if as.Distance < 1 {
		as.Distance = 1
	}
	base, err := as.Base()
	if err != nil {
		return "", err
	}
	// A scheme that gives no version above newest (calver with an older
	// node date, for one) would break the ordering; guess-next-dev's bump
	// does not.
	if b, err := parseVersion(base + ".dev1"); err != nil || pep440.Compare(b, pub) <= 0 {
		return nextDevBase(pub)
	}
	return base, nil
}

// nextDevBase is guess-next-dev's bump of a version that is not a dev
// version.
func nextDevBase(v pep440.Version) (string, error) {
	return guessNextVersion(v.Public().String())
}

// ChangesDigest returns a digest (16 hex digits) of the uncommitted changes
// to tracked files in root (`git diff --binary HEAD`), the dirty state
// setuptools_scm sees; "" for a clean tree. The index numbers a dirty
// build by its commit and this digest, so that it never gets the clean
// commit's number and the same changes get the same number again.
func ChangesDigest(ctx context.Context, opts Options) (string, error) {
	c, err := opts.resolve()
	if err != nil {
		return "", err
	}
	run := &runner{c: c, env: gitEnv(c.envList, c.Compat)}
	w := &gitWorkdir{r: run, path: c.root}
	dirty, err := w.isDirty(ctx)
	if err != nil || !dirty {
		return "", err
	}
	res, err := w.git(ctx, "diff", "--binary", "--no-color", "--no-ext-diff", "--no-textconv", "HEAD")
	if err != nil {
		return "", err
	}
	if !res.ok() {
		return "", errorf(ErrGit, "git diff HEAD: %s", res.err)
	}
	sum := sha256.Sum256([]byte(res.out))
	return hex.EncodeToString(sum[:8]), nil
}
