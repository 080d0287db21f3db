package index

import (
	"context"
	"database/sql"
	"strings"
	"unicode/utf8"

	"github.com/pyindex/pyindex/index/pep503"
)

// MaxYankReason bounds a yank reason, which every simple page of the
// project carries.
const MaxYankReason = 1000

// Yank marks a release yanked (PEP 592) with reason, which may be empty;
// yanking a yanked release replaces its reason. The serial and the
// project's last serial are bumped, so the simple pages show the change at
// once. It returns ErrNotFound for an unknown project or release and
// ErrInvalid for a malformed version or an over-long reason.
//
// https://peps.python.org/pep-0592/
func (c *Catalog) Yank(ctx context.Context, project, version, reason string, who Actor) (Release, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > MaxYankReason || !utf8.ValidString(reason) {
		return Release{}, Errorf(ErrInvalid, "the reason must be valid UTF-8 of at most %d bytes", MaxYankReason)
	}
	return c.setYanked(ctx, project, version, true, reason, who)
}

// Unyank clears a release's yanked mark and reason. Errors are those of
// Yank.
func (c *Catalog) Unyank(ctx context.Context, project, version string, who Actor) (Release, error) {
	return c.setYanked(ctx, project, version, false, "", who)
}

func (c *Catalog) setYanked(ctx context.Context, project, version string, yanked bool, reason string, who Actor) (Release, error) {
	var rel Release
	err := c.write(ctx, func(tx *sql.Tx) error {
		var err error
		rel, err = releaseByVersion(ctx, tx, project, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE releases SET yanked = ?, yanked_reason = ? WHERE id = ?`, yanked, reason, rel.ID); err != nil {
			return err
		}
		rel.Yanked, rel.YankedReason = yanked, reason
		now := c.now().UnixMicro()
		if err := c.touchProjects(ctx, tx, rel.ProjectID); err != nil {
			return err
		}
		action := "unyank"
		if yanked {
			action = "yank"
		}
		return audit(ctx, tx, now, Event{Actor: who.Name, Action: action, Project: pep503.Normalize(project),
			Version: rel.Version, RemoteAddr: who.RemoteAddr, Detail: reason})
	})
	return rel, err
}
