package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// BulkBatch is how many files AddFiles records per transaction.
const BulkBatch = 5000

// AddFiles records many new files the way AddFile records one (projects and
// releases created when needed, first uploader made owner, the serial
// bumped and an audit entry written per file, dev origins filled in), but
// BulkBatch files per transaction with prepared statements, so that seeding
// a large catalog (benchmarks, imports) takes seconds rather than hours.
// The files' blobs must already be stored.
//
// Unlike AddFile it does not accept a file that exists: any filename
// already recorded (or given twice) returns ErrExists, and the batch it was
// in is rolled back; batches committed before stay. Ownership is not
// checked for existing projects (it is an administrative import). progress,
// when not nil, is called after each committed batch with the number of
// files recorded so far.
func (c *Catalog) AddFiles(ctx context.Context, files []NewFile, progress func(done int)) error {
	type prepared struct {
		nf        NewFile
		name      string
		version   pep440.Version
		canonical string
		md        string
	}
	for start := 0; start < len(files); start += BulkBatch {
		batch := files[start:min(start+BulkBatch, len(files))]
		pre := make([]prepared, len(batch))
		for i, nf := range batch {
			if !pep503.Valid(nf.Project) {
				return Errorf(ErrInvalid, "project name %q", nf.Project)
			}
			v, err := pep440.Parse(nf.Version)
			if err != nil {
				return Errorf(ErrInvalid, "version %q", nf.Version)
			}
			md, err := json.Marshal(nf.Metadata)
			if err != nil {
				return err
			}
			pre[i] = prepared{nf: nf, name: pep503.Normalize(nf.Project), version: v, canonical: v.Canonical(), md: string(md)}
		}
		err := c.write(ctx, func(tx *sql.Tx) error {
			st, err := prepareBulk(ctx, tx)
			if err != nil {
				return err
			}
			defer st.close()
			now := c.now().UnixMicro()
			var serial int64
			if err := tx.QueryRowContext(ctx, `SELECT value FROM serial WHERE id = 1`).Scan(&serial); err != nil {
				return err
			}
			projects := map[string]int64{}
			type relKey struct {
				project   int64
				canonical string
			}
			type rel struct {
				id      int64
				version string
			}
			releases := map[relKey]rel{}
			for _, p := range pre {
				nf := p.nf
				serial++
				projectID, ok := projects[p.name]
				if !ok {
					err := st.projectID.QueryRowContext(ctx, p.name).Scan(&projectID)
					if errors.Is(err, sql.ErrNoRows) {
						err = st.insertProject.QueryRowContext(ctx, p.name, nf.Project, now, serial).Scan(&projectID)
						if err == nil && nf.UploaderID != 0 {
							_, err = st.insertOwner.ExecContext(ctx, projectID, nf.UploaderID)
						}
					}
					if err != nil {
						return err
					}
					projects[p.name] = projectID
				}
				if _, err := st.projectSerial.ExecContext(ctx, serial, projectID); err != nil {
					return err
				}
				rk := relKey{projectID, p.canonical}
				r, ok := releases[rk]
				if !ok {
					err := st.releaseID.QueryRowContext(ctx, projectID, p.canonical).Scan(&r.id, &r.version)
					if errors.Is(err, sql.ErrNoRows) {
						r.version = p.version.String()
						err = st.insertRelease.QueryRowContext(ctx, projectID, r.version, p.canonical, now, p.md).Scan(&r.id)
					}
					if err != nil {
						return err
					}
					releases[rk] = r
				}
				if nf.CommitSHA == "" {
					nf.CommitSHA, nf.Branch = devOrigin(ctx, tx, p.name, p.version)
				}
				if _, err := st.insertFile.ExecContext(ctx, r.id, projectID, nf.Filename, nf.PackageType,
					nf.PythonVersion, nf.RequiresPython, nf.Size, nf.SHA256, nf.MD5, nf.Blake2b256, nf.BlobKey,
					nf.MetadataKey, nf.MetadataSHA256, now, nf.UploadedBy, nf.Comment, nf.CommitSHA, nf.Branch); err != nil {
					return fmt.Errorf("file %s: %w", nf.Filename, formatError(err))
				}
				if _, err := st.insertAudit.ExecContext(ctx, now, nf.UploadedBy, "upload", p.name, r.version,
					nf.Filename, nf.RemoteAddr, ""); err != nil {
					return err
				}
			}
			if _, err = tx.ExecContext(ctx, `UPDATE serial SET value = ? WHERE id = 1`, serial); err != nil {
				return err
			}
			// The serial moved by the whole batch at once: readers of the
			// change log forget everything (changelog.go).
			return c.recordChange(ctx, tx, serial, "")
		})
		if err != nil {
			return err
		}
		if progress != nil {
			progress(start + len(batch))
		}
	}
	return nil
}

// bulkStmts are AddFiles' statements, prepared once per transaction.
type bulkStmts struct {
	projectID, insertProject, insertOwner, projectSerial *sql.Stmt
	releaseID, insertRelease, insertFile, insertAudit    *sql.Stmt
}

func prepareBulk(ctx context.Context, tx *sql.Tx) (*bulkStmts, error) {
	st := &bulkStmts{}
	for _, s := range []struct {
		dst *(*sql.Stmt)
		sql string
	}{
		{&st.projectID, `SELECT id FROM projects WHERE name = ?`},
		{&st.insertProject, `INSERT INTO projects (name, display_name, created_at, last_serial) VALUES (?, ?, ?, ?) RETURNING id`},
		{&st.insertOwner, `INSERT INTO project_owners (project_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`},
		{&st.projectSerial, `UPDATE projects SET last_serial = ? WHERE id = ?`},
		{&st.releaseID, `SELECT id, version FROM releases WHERE project_id = ? AND canonical = ?`},
		{&st.insertRelease, `INSERT INTO releases (project_id, version, canonical, created_at, metadata) VALUES (?, ?, ?, ?, ?) RETURNING id`},
		{&st.insertFile, `INSERT INTO files (release_id, project_id, filename, packagetype,
			python_version, requires_python, size, sha256, md5, blake2b_256, blob_key, metadata_key,
			metadata_sha256, upload_time, uploaded_by, comment, commit_sha, branch)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&st.insertAudit, `INSERT INTO audit (at, actor, action, project, version, filename, remote_addr, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		p, err := tx.PrepareContext(ctx, s.sql)
		if err != nil {
			st.close()
			return nil, err
		}
		*s.dst = p
	}
	return st, nil
}

func (st *bulkStmts) close() {
	for _, s := range []*sql.Stmt{st.projectID, st.insertProject, st.insertOwner, st.projectSerial,
		st.releaseID, st.insertRelease, st.insertFile, st.insertAudit} {
		if s != nil {
			s.Close()
		}
	}
}
