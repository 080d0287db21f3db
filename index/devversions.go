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

// nextRelease guesses the version after the newest final release, as
// setuptools_scm's guess-next-dev does: the last release component plus
// one (1.2.3 -> 1.2.4), or 0.1 when there is none.
func nextRelease(rels []*Release) string {
	for i := len(rels) - 1; i >= 0; i-- {
		v := rels[i].parsed
		if v.IsPrerelease() || v.IsPostrelease() || v.Local() != "" {
			continue
		}
		parts := v.Release()
		last, err := strconv.ParseUint(parts[len(parts)-1], 10, 64)
		if err != nil {
			continue
		}
		parts = append(append([]string{}, parts[:len(parts)-1]...), strconv.FormatUint(last+1, 10))
		s := strings.Join(parts, ".")
		if e := v.Epoch(); e != "" && e != "0" {
			s = e + "!" + s
		}
		return s
	}
	return "0.1"
}

// AllocateDevVersion hands out the dev number of commit for project and
// base (a version without dev or local part; empty: the version after the
// project's newest final release). Numbers are strictly increasing per
// project and base, always above any base.devN already uploaded, and the
// same commit gets the same number again. It returns ErrInvalid for a bad
// base or commit, and ErrExists when the base's numbers are used up: the
// next one would not fit in an int64 (math.MaxInt64 is taken, or a
// base.devN above it was uploaded), so no number can be handed out that is
// above every one before it.
func (c *Catalog) AllocateDevVersion(ctx context.Context, project, base, commit, branch, actor string) (DevVersion, error) {
	if !pep503.Valid(project) {
		return DevVersion{}, Errorf(ErrInvalid, "project name %q", project)
	}
	name := pep503.Normalize(project)
	if !commitRE.MatchString(commit) {
		return DevVersion{}, Errorf(ErrInvalid, "commit must be a hex commit id (7 to 64 characters)")
	}
	commit = strings.ToLower(commit)
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
		if base == "" {
			base = nextRelease(rels)
		}
		key := pep440.Canonical(base)
		out = DevVersion{Project: name, Base: base, Commit: commit, Branch: branch}
		err = tx.QueryRowContext(ctx, `SELECT number FROM dev_versions WHERE project = ? AND base = ? AND commit_sha = ?`,
			name, key, commit).Scan(&out.Number)
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
			name, key).Scan(&max); err != nil {
			return err
		}
		exhausted := max == math.MaxInt64
		for _, r := range rels {
			if pep440.Canonical(devBase(r.parsed)) != key {
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
		now := c.now().UnixMicro()
		if _, err := tx.ExecContext(ctx, `INSERT INTO dev_versions (project, base, number, version, commit_sha, branch, actor, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, name, key, out.Number, pep440.Canonical(out.Version), commit, branch, actor, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, Event{Actor: actor, Action: "dev version", Project: name, Version: out.Version,
			Detail: "commit " + commit + " branch " + branch})
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
	return commit, branch
}
