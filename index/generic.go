package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Generic files (PUT /generic/NAME/VERSION/FILE) are versioned archives
// that are not Python distributions. A generic package is a PEP 503 name of
// its own namespace (generic_packages, with its own owners); each of its
// versions (PEP 440) holds files with names that are one safe path segment.
// A file never changes once recorded.

// The audit actions of generic files, read by webhooks.
const (
	AuditGenericUpload = "generic-upload"
	AuditGenericDelete = "generic-delete"
)

// MaxGenericFilename is the longest generic file name, in bytes.
const MaxGenericFilename = 255

// maxGenericName and maxGenericVersion bound the other path segments.
const (
	maxGenericName    = 200
	maxGenericVersion = 200
)

// ValidGenericName reports whether name can name a generic package: a
// valid PEP 503 name of at most 200 bytes.
func ValidGenericName(name string) bool {
	return len(name) <= maxGenericName && pep503.Valid(name)
}

// ParseGenericVersion parses a generic package's version: PEP 440, at most
// 200 bytes ("v1.4", "2019.3", "1.4rc1" and "1.4.dev7+gabc" all are). It
// returns an ErrInvalid *Error otherwise.
func ParseGenericVersion(s string) (pep440.Version, error) {
	if len(s) > maxGenericVersion {
		return pep440.Version{}, Errorf(ErrInvalid, "version longer than %d bytes", maxGenericVersion)
	}
	v, err := pep440.Parse(s)
	if err != nil {
		return pep440.Version{}, Errorf(ErrInvalid, "%q is not a PEP 440 version (such as 1.4, v2019.3, 1.4rc1 or 1.4.dev7+gabc)", s)
	}
	return v, nil
}

// CheckGenericFilename returns nil when name is a safe generic file name:
// one path segment of at most MaxGenericFilename bytes of valid UTF-8, with
// no '/', '\', NUL or other control character, not "." or "..", not
// starting with a dot and not containing "..". It returns an ErrInvalid
// *Error saying what is wrong otherwise.
func CheckGenericFilename(name string) error {
	bad := func(why string) error { return Errorf(ErrInvalid, "file name %s", why) }
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > MaxGenericFilename:
		return bad(fmt.Sprintf("is longer than %d bytes", MaxGenericFilename))
	case name[0] == '.':
		return bad("starts with a dot")
	case strings.Contains(name, ".."):
		return bad(`contains ".."`)
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			return bad("contains a slash or backslash: it must be one path segment")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return bad("contains a control character")
		case r == 0xfffd:
			return bad("is not valid UTF-8")
		}
	}
	return nil
}

// GenericPackage is one generic package name with what it holds.
type GenericPackage struct {
	Name        string    `json:"name"` // PEP 503 normalized
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created"`
	LastSerial  int64     `json:"last_serial"`
	Versions    int       `json:"versions"`
	Files       int       `json:"files"`
	Size        int64     `json:"size"`
	// Latest is the newest version by PEP 440, a final release when there
	// is one; "" for a package without versions.
	Latest     string     `json:"latest"`
	LastUpload *time.Time `json:"last_upload"`
}

// GenericVersion is one version of a generic package with its files
// (sorted by name).
type GenericVersion struct {
	Version   string        `json:"version"` // normalized
	CreatedAt time.Time     `json:"created"`
	Size      int64         `json:"size"`
	Files     []GenericFile `json:"files"`

	id     int64
	parsed pep440.Version
}

// Parsed returns the version, parsed.
func (v *GenericVersion) Parsed() pep440.Version { return v.parsed }

// GenericFile is one file of a generic package's version.
type GenericFile struct {
	ID         int64     `json:"-"`
	Name       string    `json:"name"`    // the package, normalized
	Version    string    `json:"version"` // normalized
	Filename   string    `json:"filename"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	BlobKey    string    `json:"-"`
	UploadTime time.Time `json:"upload_time"`
	UploadedBy string    `json:"uploaded_by"`

	versionID int64
}

// NewGenericFile is what AddGenericFile records.
type NewGenericFile struct {
	Name       string // as uploaded (display form); must be a valid name
	Version    string // PEP 440
	Filename   string // CheckGenericFilename
	Size       int64
	SHA256     string
	BlobKey    string // already stored
	UploadedBy string
	RemoteAddr string
	// UploaderID and AnyName are NewFile's UploaderID and AnyProject: the
	// first upload of a name makes the uploader its owner; later ones need
	// an owner unless AnyName. Zero UploaderID skips the rules (imports).
	UploaderID int64
	AnyName    bool
	// UploadTime, when not zero, is recorded instead of now (imports).
	UploadTime time.Time
	// AuditActor is the audit entry's actor; "" means UploadedBy (an
	// import records the importer while keeping the uploader).
	AuditActor string
}

// AddGenericFile records a generic file whose blob is already stored,
// creating its package (owned by the uploader) and version when needed, in
// one transaction that bumps the serial and writes a "generic-upload"
// audit entry. The same bytes under a taken file name change nothing and
// return the recorded file with existed = true (a retried upload); other
// bytes get an ErrExists *Error and are never recorded. It returns
// ErrInvalid for a bad name, version or file name, and ErrForbidden when
// the uploader may not upload to an existing name.
func (c *Catalog) AddGenericFile(ctx context.Context, nf NewGenericFile) (f GenericFile, existed bool, err error) {
	if !ValidGenericName(nf.Name) {
		return GenericFile{}, false, Errorf(ErrInvalid, "%q is not a valid package name (letters, digits and . _ - between them)", nf.Name)
	}
	v, err := ParseGenericVersion(nf.Version)
	if err != nil {
		return GenericFile{}, false, err
	}
	if err := CheckGenericFilename(nf.Filename); err != nil {
		return GenericFile{}, false, err
	}
	name := pep503.Normalize(nf.Name)
	err = c.write(ctx, func(tx *sql.Tx) error {
		now := c.now().UnixMicro()
		up := now
		if !nf.UploadTime.IsZero() {
			up = nf.UploadTime.UnixMicro()
		}
		var pkgID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM generic_packages WHERE name = ?`, name).Scan(&pkgID)
		created := errors.Is(err, sql.ErrNoRows)
		if created {
			err = tx.QueryRowContext(ctx, `INSERT INTO generic_packages (name, display_name, created_at, last_serial)
				VALUES (?, ?, ?, 0) RETURNING id`, name, nf.Name, now).Scan(&pkgID)
			if err == nil && nf.UploaderID != 0 {
				_, err = tx.ExecContext(ctx, `INSERT INTO generic_owners (package_id, user_id) VALUES (?, ?)`, pkgID, nf.UploaderID)
			}
		} else if err == nil && nf.UploaderID != 0 && !nf.AnyName {
			owner, oerr := ownsTx(ctx, tx, genericSpace, pkgID, nf.UploaderID)
			if oerr != nil {
				return oerr
			}
			if !owner {
				return Errorf(ErrForbidden, "The user '%s' isn't allowed to upload to generic package '%s': only its owners and admins may", nf.UploadedBy, name)
			}
		}
		if err != nil {
			return err
		}
		var verID int64
		var verStr string
		err = tx.QueryRowContext(ctx, `SELECT id, version FROM generic_versions WHERE package_id = ? AND canonical = ?`,
			pkgID, v.Canonical()).Scan(&verID, &verStr)
		if errors.Is(err, sql.ErrNoRows) {
			verStr = v.String()
			err = tx.QueryRowContext(ctx, `INSERT INTO generic_versions (package_id, version, canonical, created_at)
				VALUES (?, ?, ?, ?) RETURNING id`, pkgID, verStr, v.Canonical(), up).Scan(&verID)
		} else if err == nil {
			old, ferr := genericFileWhere(ctx, tx, `f.version_id = ? AND f.filename = ?`, verID, nf.Filename)
			switch {
			case ferr == nil && old.SHA256 == nf.SHA256:
				f, existed = old, true
				return nil
			case ferr == nil:
				return &Error{Kind: ErrExists, Msg: fmt.Sprintf("File already exists ('%s' of %s %s, with sha256 '%s'). A file is never replaced: upload a new version instead",
					old.Filename, name, old.Version, old.SHA256)}
			case !errors.Is(ferr, ErrNotFound):
				return ferr
			}
		}
		if err != nil {
			return err
		}
		serial, err := c.bumpSerial(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE generic_packages SET last_serial = ? WHERE id = ?`, serial, pkgID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO generic_files (version_id, package_id, filename, size, sha256, blob_key, upload_time, uploaded_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, verID, pkgID, nf.Filename, nf.Size, nf.SHA256, nf.BlobKey, up, nf.UploadedBy); err != nil {
			return err
		}
		actor := nf.AuditActor
		if actor == "" {
			actor = nf.UploadedBy
		}
		if err := audit(ctx, tx, now, Event{Actor: actor, Action: AuditGenericUpload, Project: name, Version: verStr,
			Filename: nf.Filename, RemoteAddr: nf.RemoteAddr, Detail: fmt.Sprintf("%d bytes, sha256 %s", nf.Size, nf.SHA256)}); err != nil {
			return err
		}
		f, err = genericFileWhere(ctx, tx, `f.version_id = ? AND f.filename = ?`, verID, nf.Filename)
		return err
	})
	return f, existed, err
}

// ownsTx reports whether the user owns the name with row id in ns.
func ownsTx(ctx context.Context, tx *sql.Tx, ns nameSpace, id, userID int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+ns.owners+` WHERE `+ns.fk+` = ? AND user_id = ?)`, id, userID).Scan(&n)
	return n == 1, err
}

const genericFileColumns = `f.id, f.version_id, p.name, v.version, f.filename, f.size, f.sha256, f.blob_key, f.upload_time, f.uploaded_by`

const genericFileJoins = ` FROM generic_files f JOIN generic_versions v ON v.id = f.version_id JOIN generic_packages p ON p.id = f.package_id `

func scanGenericFile(s scanner) (GenericFile, error) {
	var f GenericFile
	var up int64
	err := s.Scan(&f.ID, &f.versionID, &f.Name, &f.Version, &f.Filename, &f.Size, &f.SHA256, &f.BlobKey, &up, &f.UploadedBy)
	f.UploadTime = time.UnixMicro(up).UTC()
	return f, err
}

// querier is what both a transaction and a pool can run.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func genericFileWhere(ctx context.Context, q querier, where string, args ...any) (GenericFile, error) {
	f, err := scanGenericFile(q.QueryRowContext(ctx, `SELECT `+genericFileColumns+genericFileJoins+`WHERE `+where, args...))
	return f, formatError(err)
}

func genericFilesWhere(ctx context.Context, q querier, where string, args ...any) ([]GenericFile, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+genericFileColumns+genericFileJoins+`WHERE `+where+` ORDER BY f.filename`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GenericFile
	for rows.Next() {
		f, err := scanGenericFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// GenericFile returns the file filename of version (any spelling) of the
// generic package name (any spelling), or ErrNotFound (also for a name or
// version that cannot exist).
func (c *Catalog) GenericFile(ctx context.Context, name, version, filename string) (GenericFile, error) {
	v, err := pep440.Parse(version)
	if err != nil || !pep503.Valid(name) {
		return GenericFile{}, fmt.Errorf("%w: generic file", ErrNotFound)
	}
	return genericFileWhere(ctx, c.r, `p.name = ? AND v.canonical = ? AND f.filename = ?`,
		pep503.Normalize(name), v.Canonical(), filename)
}

// LatestGenericFile returns the file filename of the newest version (by
// PEP 440) of the generic package name that has it: the newest final
// release (post-releases included), or, when no final release has it (or
// with pre set), the newest of all versions, pre-releases and dev builds
// included. It returns ErrNotFound when no version has the file.
func (c *Catalog) LatestGenericFile(ctx context.Context, name, filename string, pre bool) (GenericFile, error) {
	if !pep503.Valid(name) {
		return GenericFile{}, fmt.Errorf("%w: generic file", ErrNotFound)
	}
	files, err := genericFilesWhere(ctx, c.r, `p.name = ? AND f.filename = ?`, pep503.Normalize(name), filename)
	if err != nil {
		return GenericFile{}, formatError(err)
	}
	vs := make([]pep440.Version, len(files))
	for i, f := range files {
		vs[i], _ = pep440.Parse(f.Version)
	}
	best, ok := pep440.Max(vs, pre)
	if !ok {
		best, ok = pep440.Max(vs, true)
	}
	if !ok {
		return GenericFile{}, fmt.Errorf("%w: no version of %s has %s", ErrNotFound, name, filename)
	}
	for i, v := range vs {
		if v.Equal(best) {
			return files[i], nil
		}
	}
	panic("unreachable")
}

// GenericPackages returns every generic package sorted by name, with its
// counts and latest version.
func (c *Catalog) GenericPackages(ctx context.Context) ([]GenericPackage, error) {
	out := []GenericPackage{}
	err := c.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.id, p.name, p.display_name, p.created_at, p.last_serial,
				COUNT(f.id), COALESCE(SUM(f.size), 0), COALESCE(MAX(f.upload_time), 0)
			FROM generic_packages p LEFT JOIN generic_files f ON f.package_id = p.id
			GROUP BY p.id, p.name, p.display_name, p.created_at, p.last_serial ORDER BY p.name`)
		if err != nil {
			return err
		}
		byID := map[int64]int{}
		for rows.Next() {
			var g GenericPackage
			var id, created, last int64
			if err := rows.Scan(&id, &g.Name, &g.DisplayName, &created, &g.LastSerial, &g.Files, &g.Size, &last); err != nil {
				rows.Close()
				return err
			}
			g.CreatedAt = time.UnixMicro(created).UTC()
			if last > 0 {
				t := time.UnixMicro(last).UTC()
				g.LastUpload = &t
			}
			byID[id] = len(out)
			out = append(out, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		vrows, err := tx.QueryContext(ctx, `SELECT package_id, version FROM generic_versions`)
		if err != nil {
			return err
		}
		defer vrows.Close()
		versions := map[int][]pep440.Version{}
		for vrows.Next() {
			var id int64
			var s string
			if err := vrows.Scan(&id, &s); err != nil {
				return err
			}
			if v, err := pep440.Parse(s); err == nil {
				versions[byID[id]] = append(versions[byID[id]], v)
			}
		}
		if err := vrows.Err(); err != nil {
			return err
		}
		for i, vs := range versions {
			out[i].Versions = len(vs)
			best, ok := pep440.Max(vs, false)
			if !ok {
				best, ok = pep440.Max(vs, true)
			}
			if ok {
				out[i].Latest = best.String()
			}
		}
		return nil
	})
	return out, err
}

// GenericVersions returns the generic package name (any spelling) and its
// versions, newest first by PEP 440, each with its files, read from one
// snapshot. It returns ErrNotFound for an unknown name.
func (c *Catalog) GenericVersions(ctx context.Context, name string) (GenericPackage, []GenericVersion, error) {
	var g GenericPackage
	var out []GenericVersion
	if !pep503.Valid(name) {
		return g, nil, fmt.Errorf("%w: generic package %q", ErrNotFound, name)
	}
	err := c.read(ctx, func(tx *sql.Tx) error {
		var id, created int64
		err := tx.QueryRowContext(ctx, `SELECT id, name, display_name, created_at, last_serial FROM generic_packages WHERE name = ?`,
			pep503.Normalize(name)).Scan(&id, &g.Name, &g.DisplayName, &created, &g.LastSerial)
		if err != nil {
			return err
		}
		g.CreatedAt = time.UnixMicro(created).UTC()
		out, err = genericVersionsTx(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, v := range out {
			g.Versions++
			g.Files += len(v.Files)
			g.Size += v.Size
			for _, f := range v.Files {
				if g.LastUpload == nil || f.UploadTime.After(*g.LastUpload) {
					t := f.UploadTime
					g.LastUpload = &t
				}
			}
		}
		vs := make([]pep440.Version, len(out))
		for i := range out {
			vs[i] = out[i].parsed
		}
		best, ok := pep440.Max(vs, false)
		if !ok {
			best, ok = pep440.Max(vs, true)
		}
		if ok {
			g.Latest = best.String()
		}
		return nil
	})
	if err != nil {
		return GenericPackage{}, nil, err
	}
	return g, out, nil
}

// genericVersionsTx returns the versions of the package with id, newest
// first, with their files.
func genericVersionsTx(ctx context.Context, tx *sql.Tx, id int64) ([]GenericVersion, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, version, created_at FROM generic_versions WHERE package_id = ?`, id)
	if err != nil {
		return nil, err
	}
	var out []GenericVersion
	for rows.Next() {
		var v GenericVersion
		var created int64
		if err := rows.Scan(&v.id, &v.Version, &created); err != nil {
			rows.Close()
			return nil, err
		}
		v.CreatedAt = time.UnixMicro(created).UTC()
		v.parsed, _ = pep440.Parse(v.Version)
		v.Files = []GenericFile{}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files, err := genericFilesWhere(ctx, tx, `f.package_id = ?`, id)
	if err != nil {
		return nil, err
	}
	byID := map[int64]int{}
	for i := range out {
		byID[out[i].id] = i
	}
	for _, f := range files {
		if i, ok := byID[f.versionID]; ok {
			out[i].Files = append(out[i].Files, f)
			out[i].Size += f.Size
		}
	}
	slices.SortStableFunc(out, func(a, b GenericVersion) int { return pep440.Compare(b.parsed, a.parsed) })
	return out, nil
}

// GenericRemoval is what a delete or a prune of generic files removed from
// the catalog.
type GenericRemoval struct {
	Files []GenericFile
	Bytes int64
	// Blobs are the storage keys the deleted rows referenced; delete each
	// only when no other row references it, after the change committed
	// (admin.Service does).
	Blobs []string
}

func (r *GenericRemoval) add(files ...GenericFile) {
	for _, f := range files {
		r.Files = append(r.Files, f)
		r.Bytes += f.Size
		if !slices.Contains(r.Blobs, f.BlobKey) {
			r.Blobs = append(r.Blobs, f.BlobKey)
		}
	}
}

// deleteGenericFilesTx deletes files' rows and the versions they leave
// empty, bumps the serial and the packages' last serials, and writes one
// "generic-delete" audit entry per file with detail.
func (c *Catalog) deleteGenericFilesTx(ctx context.Context, tx *sql.Tx, files []GenericFile, who Actor, detail func(GenericFile) string) error {
	if len(files) == 0 {
		return nil
	}
	var names []string
	for _, f := range files {
		if !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
	}
	serial, err := c.bumpSerial(ctx, tx, names...)
	if err != nil {
		return err
	}
	now := c.now().UnixMicro()
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `DELETE FROM generic_files WHERE id = ?`, f.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM generic_versions WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM generic_files WHERE version_id = ?1)`,
			f.versionID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE generic_packages SET last_serial = ? WHERE name = ?`, serial, f.Name); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, Event{Actor: who.Name, Action: AuditGenericDelete, Project: f.Name, Version: f.Version,
			Filename: f.Filename, RemoteAddr: who.RemoteAddr, Detail: detail(f)}); err != nil {
			return err
		}
	}
	return nil
}

// DeleteGenericRows deletes the rows of one version (any spelling) of the
// generic package name, or with filename set only that file of it, in one
// transaction that bumps the serial and writes a "generic-delete" audit
// entry per file. A version left without files goes with its last file;
// the package (its name and owners) stays. The blobs are left to the
// caller (GenericRemoval.Blobs). It returns ErrNotFound when there is no
// such version or file.
func (c *Catalog) DeleteGenericRows(ctx context.Context, name, version, filename string, who Actor) (GenericRemoval, error) {
	var rm GenericRemoval
	v, err := pep440.Parse(version)
	if err != nil || !pep503.Valid(name) {
		return rm, fmt.Errorf("%w: generic package %s version %s", ErrNotFound, name, version)
	}
	err = c.write(ctx, func(tx *sql.Tx) error {
		where, args := `p.name = ? AND v.canonical = ?`, []any{pep503.Normalize(name), v.Canonical()}
		if filename != "" {
			where += ` AND f.filename = ?`
			args = append(args, filename)
		}
		files, err := genericFilesWhere(ctx, tx, where, args...)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("%w: generic file", ErrNotFound)
		}
		rm.add(files...)
		what := "version"
		if filename != "" {
			what = "file"
		}
		return c.deleteGenericFilesTx(ctx, tx, files, who, func(f GenericFile) string {
			return fmt.Sprintf("%s: %d bytes, sha256 %s", what, f.Size, f.SHA256)
		})
	})
	return rm, err
}

// GenericPruneRules say which versions of generic packages to delete. A
// version is a candidate when Scope allows it; a candidate goes when every
// rule that is set selects it: with Keep it is not among the Keep newest
// candidates (by PEP 440) of its package, and with OlderThan its newest
// file was uploaded longer ago than that. At least one of Keep and
// OlderThan must be set.
type GenericPruneRules struct {
	// Names limits pruning to these packages (any spelling); empty means
	// every generic package.
	Names []string `json:"names,omitempty"`
	// Keep keeps the Keep newest candidate versions of each package. 0
	// disables the rule.
	Keep int `json:"keep"`
	// OlderThan selects candidates whose newest file is older than this. 0
	// disables the rule.
	OlderThan time.Duration `json:"older_than"`
	// All makes every version a candidate; otherwise only dev builds
	// (PEP 440 ".devN" versions) are, and releases and pre-releases stay.
	All bool `json:"all"`
}

// Validate returns ErrInvalid for negative values, bad names or no rule.
func (r GenericPruneRules) Validate() error {
	switch {
	case r.Keep < 0:
		return Errorf(ErrInvalid, "keep must not be negative")
	case r.OlderThan < 0:
		return Errorf(ErrInvalid, "older_than must not be negative")
	case r.Keep == 0 && r.OlderThan == 0:
		return Errorf(ErrInvalid, "give at least one rule: keep or older_than")
	}
	for _, n := range r.Names {
		if !ValidGenericName(n) {
			return Errorf(ErrInvalid, "package name %q", n)
		}
	}
	return nil
}

// PrunedGenericVersion is one version a prune deletes, with the rules
// that selected it ("keep", "older_than").
type PrunedGenericVersion struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
	Reasons []string `json:"reasons"`
}

// GenericPrunePlan is what a prune of generic files deletes (or, in a dry
// run, would delete): versions sorted by name and PEP 440, and their files.
type GenericPrunePlan struct {
	Versions []PrunedGenericVersion
	GenericRemoval
}

// PlanGenericPrune returns what PruneGenericRows would delete now,
// changing nothing (the dry run). It returns ErrInvalid for bad rules.
func (c *Catalog) PlanGenericPrune(ctx context.Context, rules GenericPruneRules) (GenericPrunePlan, error) {
	if err := rules.Validate(); err != nil {
		return GenericPrunePlan{}, err
	}
	var plan GenericPrunePlan
	now := c.now()
	err := c.read(ctx, func(tx *sql.Tx) error {
		var err error
		plan, err = planGenericPrune(ctx, tx, rules, now)
		return err
	})
	return plan, err
}

// PruneGenericRows deletes the versions the rules select, in one
// transaction that bumps the serial and writes a "generic-delete" audit
// entry per file (detail "prune: " and the reasons). The blobs are left to
// the caller (GenericRemoval.Blobs). It returns ErrInvalid for bad rules.
func (c *Catalog) PruneGenericRows(ctx context.Context, rules GenericPruneRules, who Actor) (GenericPrunePlan, error) {
	if err := rules.Validate(); err != nil {
		return GenericPrunePlan{}, err
	}
	var plan GenericPrunePlan
	now := c.now()
	err := c.write(ctx, func(tx *sql.Tx) error {
		var err error
		if plan, err = planGenericPrune(ctx, tx, rules, now); err != nil {
			return err
		}
		reasons := map[[2]string]string{}
		for _, v := range plan.Versions {
			reasons[[2]string{v.Name, v.Version}] = strings.Join(v.Reasons, ",")
		}
		return c.deleteGenericFilesTx(ctx, tx, plan.Files, who, func(f GenericFile) string {
			return "prune: " + reasons[[2]string{f.Name, f.Version}]
		})
	})
	return plan, err
}

// planGenericPrune computes the plan from one snapshot, the same way for
// the dry run and the real one.
func planGenericPrune(ctx context.Context, tx *sql.Tx, rules GenericPruneRules, now time.Time) (GenericPrunePlan, error) {
	q := `SELECT id, name FROM generic_packages`
	var args []any
	if len(rules.Names) > 0 {
		q += ` WHERE name IN (?` + strings.Repeat(",?", len(rules.Names)-1) + `)`
		for _, n := range rules.Names {
			args = append(args, pep503.Normalize(n))
		}
	}
	q += ` ORDER BY name`
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return GenericPrunePlan{}, err
	}
	type pkg struct {
		id   int64
		name string
	}
	var pkgs []pkg
	for rows.Next() {
		var p pkg
		if err := rows.Scan(&p.id, &p.name); err != nil {
			rows.Close()
			return GenericPrunePlan{}, err
		}
		pkgs = append(pkgs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return GenericPrunePlan{}, err
	}
	var plan GenericPrunePlan
	for _, p := range pkgs {
		versions, err := genericVersionsTx(ctx, tx, p.id) // newest first
		if err != nil {
			return GenericPrunePlan{}, err
		}
		var picked []PrunedGenericVersion
		rank := 0
		for _, v := range versions {
			if !rules.All && !v.parsed.IsDevrelease() {
				continue
			}
			rank++
			var why []string
			if rules.Keep > 0 {
				if rank <= rules.Keep {
					continue
				}
				why = append(why, "keep")
			}
			if rules.OlderThan > 0 {
				var newest time.Time
				for _, f := range v.Files {
					if f.UploadTime.After(newest) {
						newest = f.UploadTime
					}
				}
				if newest.IsZero() {
					newest = v.CreatedAt
				}
				if now.Sub(newest) <= rules.OlderThan {
					continue
				}
				why = append(why, "older_than")
			}
			picked = append(picked, PrunedGenericVersion{Name: p.name, Version: v.Version, Files: len(v.Files), Bytes: v.Size, Reasons: why})
			plan.add(v.Files...)
		}
		slices.Reverse(picked) // oldest first
		plan.Versions = append(plan.Versions, picked...)
	}
	return plan, nil
}

// GenericFilesSince calls fn for every generic file recorded in a package
// whose last serial is above since (0: every file), package by package in
// name order. It reads one snapshot; an error from fn stops the walk.
func (c *Catalog) GenericFilesSince(ctx context.Context, since int64, fn func(GenericFile) error) error {
	return c.read(ctx, func(tx *sql.Tx) error {
		files, err := genericFilesWhere(ctx, tx, `p.last_serial > ?`, since)
		if err != nil {
			return err
		}
		slices.SortStableFunc(files, func(a, b GenericFile) int { return strings.Compare(a.Name, b.Name) })
		for _, f := range files {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// GenericOwners lists the owners of the generic package name (normalized).
func (c *Catalog) GenericOwners(ctx context.Context, name string) ([]string, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT u.name FROM generic_owners o JOIN generic_packages p ON p.id = o.package_id
		JOIN users u ON u.id = o.user_id WHERE p.name = ? ORDER BY u.name`, name)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// SetGenericOwner makes user an owner of the generic package name (any
// spelling), or with add false removes them, in one transaction that bumps
// the serial and writes a "generic-owner-add" or "generic-owner-remove"
// audit entry. Adding an owner twice, or removing one who is not, changes
// nothing. The last owner cannot be removed (admins could still upload, but
// nobody else could ever again): it returns ErrInvalid then, and
// ErrNotFound for an unknown package or user.
func (c *Catalog) SetGenericOwner(ctx context.Context, name, user string, add bool, who Actor) error {
	if !pep503.Valid(name) {
		return fmt.Errorf("%w: generic package %q", ErrNotFound, name)
	}
	name = pep503.Normalize(name)
	return c.write(ctx, func(tx *sql.Tx) error {
		var pkgID, userID int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM generic_packages WHERE name = ?`, name).Scan(&pkgID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: generic package %s", ErrNotFound, name)
			}
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&userID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: user %s", ErrNotFound, user)
			}
			return err
		}
		owner, err := ownsTx(ctx, tx, genericSpace, pkgID, userID)
		if err != nil || owner == add {
			return err
		}
		action := "generic-owner-add"
		if add {
			_, err = tx.ExecContext(ctx, `INSERT INTO generic_owners (package_id, user_id) VALUES (?, ?)`, pkgID, userID)
		} else {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM generic_owners WHERE package_id = ?`, pkgID).Scan(&n); err != nil {
				return err
			}
			if n <= 1 {
				return Errorf(ErrInvalid, "'%s' is the last owner of generic package '%s'; add another owner first", user, name)
			}
			action = "generic-owner-remove"
			_, err = tx.ExecContext(ctx, `DELETE FROM generic_owners WHERE package_id = ? AND user_id = ?`, pkgID, userID)
		}
		if err != nil {
			return err
		}
		if _, err := c.bumpSerial(ctx, tx, name); err != nil {
			return err
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: who.Name, Action: action, Project: name,
			RemoteAddr: who.RemoteAddr, Detail: "owner: " + user})
	})
}
