package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Views reads the catalog for admins: the projects, a project, a release
// and the audit log, as the admin API answers them and as the CLI's list,
// show and audit print them (their --json is the API's JSON). Both call
// these methods, so the two can never differ; the web interface can too.
type Views struct {
	cat *index.Catalog
}

// NewViews returns Views over deps.Catalog (the only dependency it needs).
func NewViews(deps Deps) (*Views, error) {
	if deps.Catalog == nil {
		return nil, errors.New("admin.NewViews: nil catalog")
	}
	return &Views{cat: deps.Catalog}, nil
}

// ProjectList is one page of projects: GET /api/v1/projects.
type ProjectList struct {
	Projects []index.ProjectSummary `json:"projects"`
	// Next is the cursor of the next page; null after the last.
	Next *string `json:"next"`
}

// Projects returns one page of projects (index.Catalog.ListProjects, whose
// errors it returns).
func (a *Views) Projects(ctx context.Context, q index.ProjectQuery) (ProjectList, error) {
	projects, next, err := a.cat.ListProjects(ctx, q)
	if err != nil {
		return ProjectList{}, err
	}
	l := ProjectList{Projects: projects}
	if next != "" {
		l.Next = &next
	}
	return l, nil
}

// ReleaseInfo is a release in the admin API.
type ReleaseInfo struct {
	Version      string     `json:"version"`
	Yanked       bool       `json:"yanked"`
	YankedReason string     `json:"yanked_reason"`
	Created      time.Time  `json:"created"`
	Files        []FileInfo `json:"files"`
}

// FileInfo is a file in the admin API.
type FileInfo struct {
	Project     string    `json:"project,omitempty"`
	Version     string    `json:"version,omitempty"`
	Filename    string    `json:"filename"`
	PackageType string    `json:"packagetype"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	UploadTime  time.Time `json:"upload_time"`
	UploadedBy  string    `json:"uploaded_by"`
	Commit      string    `json:"commit,omitempty"`
	Branch      string    `json:"branch,omitempty"`
}

// fileInfo converts f; withVersion adds its project and version (for lists
// of files from several releases).
func fileInfo(f index.File, withVersion bool) FileInfo {
	fi := FileInfo{Filename: f.Filename, PackageType: f.PackageType, Size: f.Size, SHA256: f.SHA256,
		UploadTime: f.UploadTime, UploadedBy: f.UploadedBy, Commit: f.CommitSHA, Branch: f.Branch}
	if withVersion {
		fi.Project, fi.Version = f.Project, f.Version
	}
	return fi
}

func releaseInfo(r *index.Release) ReleaseInfo {
	ri := ReleaseInfo{Version: r.Version, Yanked: r.Yanked, YankedReason: r.YankedReason, Created: r.CreatedAt, Files: []FileInfo{}}
	for _, f := range r.Files {
		ri.Files = append(ri.Files, fileInfo(f, false))
	}
	return ri
}

// ProjectView is a project with its owners and every release, newest
// first by PEP 440: GET /api/v1/projects/NAME.
type ProjectView struct {
	Name        string        `json:"name"`
	DisplayName string        `json:"display_name"`
	LastSerial  int64         `json:"last_serial"`
	Owners      []string      `json:"owners"`
	Releases    []ReleaseInfo `json:"releases"`
}

// Project returns the project named name (any spelling). It returns
// ErrNotFound for an unknown or impossible name.
func (a *Views) Project(ctx context.Context, name string) (ProjectView, error) {
	if !pep503.Valid(name) {
		return ProjectView{}, fmt.Errorf("%w: project %s", index.ErrNotFound, name)
	}
	name = pep503.Normalize(name)
	p, rels, err := a.cat.ProjectDetail(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return ProjectView{}, fmt.Errorf("%w: project %s", index.ErrNotFound, name)
	}
	if err != nil {
		return ProjectView{}, err
	}
	owners, err := a.cat.Owners(ctx, name)
	if err != nil {
		return ProjectView{}, err
	}
	if owners == nil {
		owners = []string{}
	}
	v := ProjectView{Name: p.Name, DisplayName: p.DisplayName, LastSerial: p.LastSerial, Owners: owners,
		Releases: make([]ReleaseInfo, 0, len(rels))}
	for _, r := range slices.Backward(rels) {
		v.Releases = append(v.Releases, releaseInfo(r))
	}
	return v, nil
}

// ReleaseView is one release with its files:
// GET /api/v1/projects/NAME/releases/VERSION.
type ReleaseView struct {
	Project string `json:"project"`
	ReleaseInfo
}

// Release returns one release of a project; version may be written in any
// PEP 440 spelling. It returns ErrNotFound for an unknown project or
// release and ErrInvalid for a malformed version.
func (a *Views) Release(ctx context.Context, project, version string) (ReleaseView, error) {
	v, err := pep440.Parse(version)
	if err != nil {
		return ReleaseView{}, index.Errorf(index.ErrInvalid, "version %q is not a PEP 440 version", version)
	}
	if !pep503.Valid(project) {
		return ReleaseView{}, fmt.Errorf("%w: project %s", index.ErrNotFound, project)
	}
	name := pep503.Normalize(project)
	_, rels, err := a.cat.ProjectDetail(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return ReleaseView{}, fmt.Errorf("%w: project %s", index.ErrNotFound, name)
	}
	if err != nil {
		return ReleaseView{}, err
	}
	for _, r := range rels {
		if r.Canonical == v.Canonical() {
			return ReleaseView{Project: name, ReleaseInfo: releaseInfo(r)}, nil
		}
	}
	return ReleaseView{}, fmt.Errorf("%w: release %s of %s", index.ErrNotFound, version, name)
}

// AuditLog is a page of the audit log, newest first: GET /api/v1/audit.
type AuditLog struct {
	Events []index.Event `json:"events"`
}

// Audit returns the events q selects (the project, any spelling, is
// normalized).
func (a *Views) Audit(ctx context.Context, q index.AuditQuery) (AuditLog, error) {
	if q.Project != "" {
		q.Project = pep503.Normalize(q.Project)
	}
	events, err := a.cat.AuditEvents(ctx, q)
	if events == nil {
		events = []index.Event{}
	}
	return AuditLog{Events: events}, err
}
