package mirror

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep503"
)

// Claims of project names that the upstream serves. A hosted project hides
// the upstream's project of the same name for every client (against
// dependency confusion), so the first upload of a new project whose name
// the upstream serves would shadow a public project for the whole company:
// only an admin may make it, or anyone for a name on mirror.internal_names
// (the site's own prefixes, which the upstream is not asked about). An
// admin's claim of an upstream name is audited.
//
// When the upstream cannot be asked (and its page is not cached), a claim
// fails closed for non-admins: the name might be public. An offline mirror
// serves only what it has cached, so only a cached project can be
// shadowed there.

// Claim decides whether p may create project (normalized) here by
// uploading its first file: nil when the name is on internal_names, when
// the upstream does not serve it, or when p is an admin, with a note for
// the audit log when an admin's claim shadows the upstream's project (or
// could not be checked); an index.ErrForbidden *index.Error saying why and
// what to do otherwise.
func (m *Mirror) Claim(ctx context.Context, p index.Principal, project string) (audit string, err error) {
	if m.internal(project) {
		return "", nil
	}
	serves, err := m.serves(ctx, project)
	up := m.origin
	if !m.cfg.hasUpstream() {
		up = "(offline)"
	}
	if p.Admin {
		switch {
		case err != nil:
			return fmt.Sprintf("new project claimed by an admin; whether the upstream %s serves it could not be checked: %v", up, err), nil
		case serves:
			return fmt.Sprintf("new project claimed by an admin although the upstream %s serves it: this index no longer serves the upstream's files of it", up), nil
		}
		return "", nil
	}
	if err != nil {
		return "", index.Errorf(index.ErrForbidden, "Cannot check whether the upstream index %s has a project '%s' (%v), and the first upload of a name the upstream may have needs an admin (it would hide the upstream's project from every client). Try again when the upstream answers, or ask an admin to upload the first release, or to add the name to mirror.internal_names if it is an internal project", up, project, err)
	}
	if serves {
		return "", index.Errorf(index.ErrForbidden, "'%s' is a project of the upstream index %s: uploading it here would hide the upstream's releases from every client of this index, so only an admin may create it. If '%s' is an internal project, ask an admin to upload its first release, or to add the name to mirror.internal_names", project, up, project)
	}
	return "", nil
}

// internal reports whether project matches a pattern of internal_names.
func (m *Mirror) internal(project string) bool {
	for _, pat := range m.internalNames {
		if ok, _ := path.Match(pat, project); ok {
			return true
		}
	}
	return false
}

// serves reports whether the upstream has project: its page is cached
// (fresh, refreshed or stale), or fetched now. Offline, an uncached
// project is not served.
func (m *Mirror) serves(ctx context.Context, project string) (bool, error) {
	_, _, err := m.project(ctx, project)
	var ue *index.UpstreamError
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, index.ErrNotFound):
		return false, nil
	case m.cfg.Offline && errors.As(err, &ue):
		return false, nil
	}
	return false, err
}

// internalPattern returns the normalized form of an internal_names
// pattern ("Acme_*" -> "acme-*"), and false when it is not one: a project
// name in which * and ? may stand for characters.
func internalPattern(s string) (string, bool) {
	if s == "" || strings.ContainsAny(s, "[]\\/") {
		return "", false
	}
	n := pep503.Normalize(s)
	if _, err := path.Match(n, ""); err != nil {
		return "", false
	}
	probe := strings.NewReplacer("*", "a", "?", "a").Replace(n)
	return n, pep503.Valid(probe)
}
