package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Project is one hosted project.
type Project struct {
	ID          int64
	Name        string // PEP 503 normalized
	DisplayName string
	CreatedAt   time.Time
	LastSerial  int64
}

// Release is one version of a project, with its files when loaded through
// ProjectDetail.
type Release struct {
	ID           int64
	ProjectID    int64
	Version      string // normalized, str(Version)
	Canonical    string // canonicalize_version; identifies the release
	Yanked       bool
	YankedReason string
	CreatedAt    time.Time
	// Metadata is the core metadata recorded for the release: that of the
	// first file uploaded for it (PyPI fixes release metadata at the first
	// upload too). Raw and Fields are not recorded.
	Metadata dist.Metadata
	Files    []File

	parsed pep440.Version
}

// Parsed returns the release's version, parsed.
func (r *Release) Parsed() pep440.Version { return r.parsed }

// File is one distribution file.
type File struct {
	ID             int64
	ReleaseID      int64
	ProjectID      int64
	Project        string // normalized project name
	Version        string // the release's normalized version
	Filename       string
	PackageType    string // "bdist_wheel" or "sdist"
	PythonVersion  string // the upload's pyversion: "py3", "source", ...
	RequiresPython string
	Size           int64
	SHA256         string
	MD5            string
	Blake2b256     string
	BlobKey        string
	MetadataKey    string // "" when no PEP 658 metadata file exists
	MetadataSHA256 string
	UploadTime     time.Time
	UploadedBy     string
	Comment        string
	CommitSHA      string
	Branch         string
	Yanked         bool
	YankedReason   string
}

// NewFile is what AddFile records.
type NewFile struct {
	Project        string // as uploaded (display form); must be a valid name
	Version        string // PEP 440
	Filename       string
	PackageType    string
	PythonVersion  string
	RequiresPython string
	Size           int64
	SHA256         string
	MD5            string
	Blake2b256     string
	BlobKey        string
	MetadataKey    string
	MetadataSHA256 string
	UploadedBy     string
	Comment        string
	CommitSHA      string
	Branch         string
	Metadata       dist.Metadata // recorded for a new release; Raw and Fields are not
	RemoteAddr     string
	// UploaderID is the uploading user. The first upload of a project makes
	// that user an owner; later uploads need an owner unless AnyProject
	// (an admin, or a token restricted to this project) is set. Zero skips
	// the ownership rules (internal callers).
	UploaderID int64
	AnyProject bool
}

// AddFile records an uploaded file, creating its project and release when
// needed, in one transaction that also bumps the serial and writes an audit
// entry. The file's blob must already be stored.
//
// If a file of that name exists with the same sha256, AddFile changes
// nothing and returns the existing file with existed = true (a retried
// upload). If it exists with other bytes, it returns ErrExists.
func (c *Catalog) AddFile(ctx context.Context, nf NewFile) (f File, existed bool, err error) {
	if !pep503.Valid(nf.Project) {
		return File{}, false, Errorf(ErrInvalid, "project name %q", nf.Project)
	}
	v, err := pep440.Parse(nf.Version)
	if err != nil {
		return File{}, false, Errorf(ErrInvalid, "version %q", nf.Version)
	}
	name := pep503.Normalize(nf.Project)
	md, err := json.Marshal(nf.Metadata)
	if err != nil {
		return File{}, false, err
	}
	err = c.write(ctx, func(tx *sql.Tx) error {
		old, err := fileByName(ctx, tx, nf.Filename)
		switch {
		case err == nil:
			if old.SHA256 == nf.SHA256 {
				f, existed = old, true
				return nil
			}
			return fmt.Errorf("%w: file %s", ErrExists, nf.Filename)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		now := c.now().UnixMicro()
		serial, err := c.bumpSerial(ctx, tx, name)
		if err != nil {
			return err
		}
		var projectID int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM projects WHERE name = ?`, name).Scan(&projectID)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `INSERT INTO projects (name, display_name, created_at, last_serial)
				VALUES (?, ?, ?, ?) RETURNING id`, name, nf.Project, now, serial).Scan(&projectID)
			if err == nil && nf.UploaderID != 0 {
				_, err = tx.ExecContext(ctx, `INSERT INTO project_owners (project_id, user_id) VALUES (?, ?)`, projectID, nf.UploaderID)
			}
		} else if err == nil {
			if nf.UploaderID != 0 && !nf.AnyProject {
				var owner int
				if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM project_owners WHERE project_id = ? AND user_id = ?)`,
					projectID, nf.UploaderID).Scan(&owner); err != nil {
					return err
				}
				if owner == 0 {
					return Errorf(ErrForbidden, "the user '%s' isn't allowed to upload to project '%s'", nf.UploadedBy, name)
				}
			}
			_, err = tx.ExecContext(ctx, `UPDATE projects SET last_serial = ? WHERE id = ?`, serial, projectID)
		}
		if err != nil {
			return err
		}
		canonical := v.Canonical()
		var releaseID int64
		var relVersion string
		err = tx.QueryRowContext(ctx, `SELECT id, version FROM releases WHERE project_id = ? AND canonical = ?`,
			projectID, canonical).Scan(&releaseID, &relVersion)
		if errors.Is(err, sql.ErrNoRows) {
			relVersion = v.String()
			err = tx.QueryRowContext(ctx, `INSERT INTO releases (project_id, version, canonical, created_at, metadata)
				VALUES (?, ?, ?, ?, ?) RETURNING id`, projectID, relVersion, canonical, now, string(md)).Scan(&releaseID)
		}
		if err != nil {
			return err
		}
		if nf.CommitSHA == "" {
			nf.CommitSHA, nf.Branch = devOrigin(ctx, tx, name, v)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO files (release_id, project_id, filename, packagetype,
			python_version, requires_python, size, sha256, md5, blake2b_256, blob_key, metadata_key,
			metadata_sha256, upload_time, uploaded_by, comment, commit_sha, branch)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			releaseID, projectID, nf.Filename, nf.PackageType, nf.PythonVersion, nf.RequiresPython,
			nf.Size, nf.SHA256, nf.MD5, nf.Blake2b256, nf.BlobKey, nf.MetadataKey, nf.MetadataSHA256,
			now, nf.UploadedBy, nf.Comment, nf.CommitSHA, nf.Branch)
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, now, Event{Actor: nf.UploadedBy, Action: "upload", Project: name,
			Version: relVersion, Filename: nf.Filename, RemoteAddr: nf.RemoteAddr}); err != nil {
			return err
		}
		f, err = fileByName(ctx, tx, nf.Filename)
		return err
	})
	return f, existed, err
}

const fileColumns = `f.id, f.release_id, f.project_id, p.name, r.version, f.filename, f.packagetype,
	f.python_version, f.requires_python, f.size, f.sha256, f.md5, f.blake2b_256, f.blob_key,
	f.metadata_key, f.metadata_sha256, f.upload_time, f.uploaded_by, f.comment, f.commit_sha,
	f.branch, r.yanked, r.yanked_reason`

const fileJoins = ` FROM files f JOIN releases r ON r.id = f.release_id JOIN projects p ON p.id = f.project_id `

type scanner interface{ Scan(dest ...any) error }

func scanFile(s scanner) (File, error) {
	var f File
	var up int64
	err := s.Scan(&f.ID, &f.ReleaseID, &f.ProjectID, &f.Project, &f.Version, &f.Filename, &f.PackageType,
		&f.PythonVersion, &f.RequiresPython, &f.Size, &f.SHA256, &f.MD5, &f.Blake2b256, &f.BlobKey,
		&f.MetadataKey, &f.MetadataSHA256, &up, &f.UploadedBy, &f.Comment, &f.CommitSHA, &f.Branch,
		&f.Yanked, &f.YankedReason)
	f.UploadTime = time.UnixMicro(up).UTC()
	return f, err
}

func fileByName(ctx context.Context, tx *sql.Tx, filename string) (File, error) {
	f, err := scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+fileJoins+`WHERE f.filename = ?`, filename))
	return f, formatError(err)
}

// File returns the file called filename, or ErrNotFound.
func (c *Catalog) File(ctx context.Context, filename string) (f File, err error) {
	defer c.ops.since(opFile, time.Now(), &err)
	f, err = scanFile(c.r.QueryRowContext(ctx, `SELECT `+fileColumns+fileJoins+`WHERE f.filename = ?`, filename))
	return f, formatError(err)
}

// ProjectSerial returns the project's last serial (cheap; used to key the
// page cache), or ErrNotFound.
//
// Answers are remembered until the database changes (serialcache.go), so
// a change by any process is still seen at once.
func (c *Catalog) ProjectSerial(ctx context.Context, name string) (int64, error) {
	if name == "" {
		return 0, fmt.Errorf("%w", ErrNotFound)
	}
	return c.cachedSerial(name, func() (s int64, err error) {
		defer c.ops.since(opSerial, time.Now(), &err)
		err = c.r.QueryRowContext(ctx, `SELECT last_serial FROM projects WHERE name = ?`, name).Scan(&s)
		return s, formatError(err)
	})
}

// Project returns the project with the normalized name, or ErrNotFound.
func (c *Catalog) Project(ctx context.Context, name string) (Project, error) {
	p, err := readProject(ctx, c.r, name)
	return p, formatError(err)
}

// readProject reads the project row of the normalized name through q (a
// pool, or a transaction that reads more of the project).
func readProject(ctx context.Context, q querier, name string) (Project, error) {
	var p Project
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, name, display_name, created_at, last_serial FROM projects WHERE name = ?`,
		name).Scan(&p.ID, &p.Name, &p.DisplayName, &created, &p.LastSerial)
	p.CreatedAt = time.UnixMicro(created).UTC()
	return p, err
}

// ProjectDetail returns a project with all its releases (sorted by PEP 440,
// oldest first) and their files (sorted by filename), read from one
// snapshot. It returns ErrNotFound for an unknown project. (The web
// interface reads less: ProjectHistory.)
func (c *Catalog) ProjectDetail(ctx context.Context, name string) (Project, []*Release, error) {
	var p Project
	var rels []*Release
	err := c.read(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = readProject(ctx, tx, name); err != nil {
			return err
		}
		var created int64
		rows, err := tx.QueryContext(ctx, `SELECT id, version, canonical, yanked, yanked_reason, created_at, metadata
			FROM releases WHERE project_id = ?`, p.ID)
		if err != nil {
			return err
		}
		byID := map[int64]*Release{}
		for rows.Next() {
			r := &Release{ProjectID: p.ID}
			var md string
			if err := rows.Scan(&r.ID, &r.Version, &r.Canonical, &r.Yanked, &r.YankedReason, &created, &md); err != nil {
				rows.Close()
				return err
			}
			r.CreatedAt = time.UnixMicro(created).UTC()
			if err := json.Unmarshal([]byte(md), &r.Metadata); err != nil {
				rows.Close()
				return fmt.Errorf("release %s metadata: %w", r.Version, err)
			}
			r.parsed, _ = pep440.Parse(r.Version)
			rels = append(rels, r)
			byID[r.ID] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+fileColumns+fileJoins+`WHERE f.project_id = ? ORDER BY f.filename`, p.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFile(rows)
			if err != nil {
				return err
			}
			if r := byID[f.ReleaseID]; r != nil {
				r.Files = append(r.Files, f)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return Project{}, nil, err
	}
	SortReleases(rels)
	return p, rels, nil
}

// SortReleases sorts releases by PEP 440, oldest first.
func SortReleases(rels []*Release) {
	slices.SortStableFunc(rels, func(a, b *Release) int { return pep440.Compare(a.parsed, b.parsed) })
}

// ProjectName is one entry of the root index.
type ProjectName struct {
	Name        string
	DisplayName string
	LastSerial  int64
}

// ProjectNames returns every hosted project sorted by normalized name, and
// the global serial of the same snapshot.
func (c *Catalog) ProjectNames(ctx context.Context) ([]ProjectName, int64, error) {
	var out []ProjectName
	var serial int64
	err := c.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT value FROM serial WHERE id = 1`).Scan(&serial); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, display_name, last_serial FROM projects ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p ProjectName
			if err := rows.Scan(&p.Name, &p.DisplayName, &p.LastSerial); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, serial, err
}

// releaseByVersion finds a project's release by any spelling of its
// version (1.0 and 1.0.0 are one release).
func releaseByVersion(ctx context.Context, tx *sql.Tx, project, version string) (Release, error) {
	v, err := pep440.Parse(version)
	if err != nil {
		return Release{}, Errorf(ErrInvalid, "version %q", version)
	}
	name := pep503.Normalize(project)
	var r Release
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT r.id, r.project_id, r.version, r.canonical, r.yanked, r.yanked_reason, r.created_at
		FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.name = ? AND r.canonical = ?`,
		name, v.Canonical()).Scan(&r.ID, &r.ProjectID, &r.Version, &r.Canonical, &r.Yanked, &r.YankedReason, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if _, perr := projectID(ctx, tx, name); perr != nil {
			return Release{}, perr
		}
		return Release{}, fmt.Errorf("%w: release %s of %s", ErrNotFound, version, name)
	}
	if err != nil {
		return Release{}, err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.parsed, _ = pep440.Parse(r.Version)
	return r, nil
}

func projectID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM projects WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: project %s", ErrNotFound, name)
	}
	return id, err
}
