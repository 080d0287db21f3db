package index

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// DevVersion is a dev number handed out for a commit.
type DevVersion struct {
	Project string `json:"project"`
	Base    string `json:"base"`
	Number  int64  `json:"number"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Dirty   string `json:"dirty,omitempty"` // digest of the uncommitted changes
	Branch  string `json:"branch,omitempty"`
	Reused  bool   `json:"reused"` // the commit already had this number
}

var commitRE = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// devBase returns the base of a dev release (1.2.4rc1.dev5 -> "1.2.4rc1"),
// or "" when v is not a dev release.
func devBase(v pep440.Version) string {
	if !v.IsDevrelease() {
		return ""
	}
	s := v.Public().String()
	i := strings.LastIndex(s, ".dev")
	if i < 0 {
		return ""
	}
	return s[:i]
}

// DevRequest asks AllocateDevVersion for a dev number.
type DevRequest struct {
	// Project is the project's name (any spelling).
	Project string
	// Base is the version before ".devN", without dev or local part.
	// Empty: the server chooses it from the project's newest version
	// (NextDevBase).
	Base string
	// Commit is the hex commit id being built.
	Commit string
	// Dirty is a hex digest of the uncommitted changes of a dirty work
	// tree, "" for a clean one. A dirty build is numbered apart from its
	// commit's clean build (and from other changes on the same commit).
	Dirty string
	// Branch is informational.
	Branch string
	// AboveAll asks that a new number make the version greater than every
	// version the project has (releases, uploaded dev builds and numbers
	// handed out); when it would not, AllocateDevVersion returns a
	// *StaleBaseError. A number the commit already has is returned anyway.
	AboveAll bool
}

// StaleBaseError is AllocateDevVersion's answer to an AboveAll request
// whose base is no longer ahead of the project's newest version (another
// build or a release came in between). It wraps ErrExists.
type StaleBaseError struct {
	Base, Newest string
}

func (e *StaleBaseError) Error() string {
	return "base " + e.Base + " is not ahead of the project's newest version " + e.Newest + "; ask again for the newest version"
}

// Unwrap returns ErrExists.
func (e *StaleBaseError) Unwrap() error { return ErrExists }

// DevState is what the dev-number endpoint tells a client about a project
// before it picks a base.
type DevState struct {
	Project string `json:"project"`
	// Newest is the greatest version (PEP 440) of the project among its
	// releases, uploaded files and dev numbers handed out; "" when it has
	// none.
	Newest string `json:"newest"`
}

// NextDevBase is the base the server chooses when a request has none:
// setuptools_scm's guess-next-dev applied to the project's newest version.
// A dev version's own base is kept (1.2.4.dev2 -> 1.2.4, numbers go on
// from there); any other version has its last number bumped, as
// guess-next-dev does for a tag (1.2.3 -> 1.2.4, 2.0rc1 -> 2.0rc2,
// 1.0.post1 -> 1.0.post2). Without any version it is 0.1, setuptools_scm's
// base without a tag.
func NextDevBase(newest string) string {
	if newest == "" {
		return "0.1"
	}
	v, err := pep440.Parse(newest)
	if err != nil {
		return "0.1"
	}
	if b := devBase(v); b != "" {
		return b
	}
	s := v.Public().String()
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.ParseUint(s[i:], 10, 64)
	if err != nil || n == math.MaxUint64 {
		return s + ".1"
	}
	return s[:i] + strconv.FormatUint(n+1, 10)
}

// newestVersion returns the greatest version of name among its releases
// (rels) and the dev numbers handed out, "" when there is none.
func newestVersion(ctx context.Context, tx *sql.Tx, name string, rels []*Release) (pep440.Version, string, error) {
	var best pep440.Version
	var bestS string
	consider := func(v pep440.Version, s string) {
		if bestS == "" || pep440.Compare(v, best) > 0 {
			best, bestS = v, s
		}
	}
	for _, r := range rels {
		if r.parsed.String() != "" {
			consider(r.parsed, r.Version)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM dev_versions WHERE project = ?`, name)
	if err != nil {
		return best, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return best, "", err
		}
		if v, err := pep440.Parse(s); err == nil {
			consider(v, s)
		}
	}
	return best, bestS, rows.Err()
}

// DevState returns the project's newest version for a client that chooses
// its base from it (scmversion --index in a clone without tags).
func (c *Catalog) DevState(ctx context.Context, project string) (DevState, error) {
	if !pep503.Valid(project) {
		return DevState{}, Errorf(ErrInvalid, "project name %q", project)
	}
	name := pep503.Normalize(project)
	out := DevState{Project: name}
	err := c.read(ctx, func(tx *sql.Tx) error {
		rels, err := releasesOf(ctx, tx, name)
		if err != nil {
			return err
		}
		_, out.Newest, err = newestVersion(ctx, tx, name, rels)
		return err
	})
	return out, err
}

var dirtyRE = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// AllocateDevVersion hands out the dev number of a commit for a project
// and base. Numbers are strictly increasing per project and base, always
// above any base.devN already uploaded, and the same commit (with the same
// uncommitted changes, if any) gets the same number again. Without a base
// the server chooses NextDevBase of the project's newest version. It
// returns ErrInvalid for a bad base, commit or dirty digest, a
// *StaleBaseError (ErrExists) when AboveAll cannot be met, and ErrExists
// when the base's numbers are used up: the next one would not fit in an
// int64 (math.MaxInt64 is taken, or a base.devN above it was uploaded), so
// no number can be handed out that is above every one before it.
func (c *Catalog) AllocateDevVersion(ctx context.Context, req DevRequest, actor string) (DevVersion, error) {
	project, base, commit, branch := req.Project, req.Base, req.Commit, req.Branch
	if !pep503.Valid(project) {
		return DevVersion{}, Errorf(ErrInvalid, "project name %q", project)
	}
	name := pep503.Normalize(project)
	if !commitRE.MatchString(commit) {
		return DevVersion{}, Errorf(ErrInvalid, "commit must be a hex commit id (7 to 64 characters)")
	}
	commit = strings.ToLower(commit)
	dirty := strings.ToLower(req.Dirty)
	if dirty != "" && !dirtyRE.MatchString(dirty) {
		return DevVersion{}, Errorf(ErrInvalid, "dirty must be a hex digest of the uncommitted changes (8 to 64 characters)")
	}
	// The key of a build: its commit, and for a dirty tree the digest of
	// its changes, so that a dirty build never gets its clean commit's
	// number (its files would collide with that build's).
	key := commit
	if dirty != "" {
		key = commit + "+dirty." + dirty
	}
	if len(branch) > 255 || strings.ContainsAny(branch, "\x00\n\r") {
		return DevVersion{}, Errorf(ErrInvalid, "branch name")
	}
	if base != "" {
		v, err := pep440.Parse(base)
		if err != nil {
			return DevVersion{}, Errorf(ErrInvalid, "base %q is not a PEP 440 version", base)
		}
		if v.IsDevrelease() || v.Local() != "" {
			return DevVersion{}, Errorf(ErrInvalid, "base %q must have no .dev or +local part", base)
		}
		base = v.String()
	}
	// Bases are identified by their canonical form (1.2.4 and 1.2.4.0 are
	// one base), but answered in the spelling the client asked for.
	var out DevVersion
	err := c.write(ctx, func(tx *sql.Tx) error {
		rels, err := releasesOf(ctx, tx, name)
		if err != nil {
			return err
		}
		var newest pep440.Version
		var newestS string
		if base == "" || req.AboveAll {
			if newest, newestS, err = newestVersion(ctx, tx, name, rels); err != nil {
				return err
			}
		}
		if base == "" {
			base = NextDevBase(newestS)
		}
		canon := pep440.Canonical(base)
		out = DevVersion{Project: name, Base: base, Commit: commit, Dirty: dirty, Branch: branch}
		err = tx.QueryRowContext(ctx, `SELECT number FROM dev_versions WHERE project = ? AND base = ? AND commit_sha = ?`,
			name, canon, key).Scan(&out.Number)
		if err == nil {
			out.Reused = true
			out.Version = base + ".dev" + strconv.FormatInt(out.Number, 10)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var max int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) FROM dev_versions WHERE project = ? AND base = ?`,
			name, canon).Scan(&max); err != nil {
			return err
		}
		exhausted := max == math.MaxInt64
		for _, r := range rels {
			if pep440.Canonical(devBase(r.parsed)) != canon {
				continue
			}
			n, _ := r.parsed.Dev()
			// ParseInt answers math.MaxInt64 for a number beyond it.
			if d, err := strconv.ParseInt(n, 10, 64); d == math.MaxInt64 {
				exhausted = true
			} else if err == nil && d > max {
				max = d
			}
		}
		if exhausted {
			return Errorf(ErrExists, "no dev number is left for %s %s: the next one would be above %s.dev%d, the largest a dev number may be; use a new base version",
				name, base, base, int64(math.MaxInt64))
		}
		out.Number = max + 1
		out.Version = base + ".dev" + strconv.FormatInt(out.Number, 10)
		if req.AboveAll && newestS != "" {
			if v, err := pep440.Parse(out.Version); err != nil || pep440.Compare(v, newest) <= 0 {
				return &StaleBaseError{Base: base, Newest: newestS}
			}
		}
		now := c.now().UnixMicro()
		if _, err := tx.ExecContext(ctx, `INSERT INTO dev_versions (project, base, number, version, commit_sha, branch, actor, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, name, canon, out.Number, pep440.Canonical(out.Version), key, branch, actor, now); err != nil {
			return err
		}
		detail := "commit " + commit + " branch " + branch
		if dirty != "" {
			detail += " dirty " + dirty
		}
		return audit(ctx, tx, now, Event{Actor: actor, Action: "dev version", Project: name, Version: out.Version, Detail: detail})
	})
	return out, err
}

// releasesOf returns a project's releases (none for an unknown project).
func releasesOf(ctx context.Context, tx *sql.Tx, name string) ([]*Release, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.version FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.name = ?`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rels []*Release
	for rows.Next() {
		r := &Release{}
		if err := rows.Scan(&r.Version); err != nil {
			return nil, err
		}
		r.parsed, _ = pep440.Parse(r.Version)
		rels = append(rels, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	SortReleases(rels)
	return rels, nil
}

// devOrigin returns the commit and branch recorded for a version handed out
// by AllocateDevVersion, if any.
func devOrigin(ctx context.Context, tx *sql.Tx, project string, v pep440.Version) (commit, branch string) {
	_ = tx.QueryRowContext(ctx, `SELECT commit_sha, branch FROM dev_versions WHERE project = ? AND version = ?`,
		project, v.Public().Canonical()).Scan(&commit, &branch)
	// A dirty build's key is "<commit>+dirty.<digest>".
	if c, _, ok := strings.Cut(commit, "+"); ok {
		commit, branch = c, strings.TrimSpace(branch+" (uncommitted changes)")
	}
	return commit, branch
}
