package sync

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/storage"
)

// ExportFormat names the layout of an export archive: a tar whose first
// member is manifest.json (ExportManifest), followed by one member
// blobs/<sha256> per file and metadata file.
const ExportFormat = "pyindex-mirror-export/1"

const manifestName = "manifest.json"

// ExportManifest describes the cached projects in an export archive.
type ExportManifest struct {
	Format   string          `json:"format"`
	Created  time.Time       `json:"created"`
	Serial   int64           `json:"serial"` // the exporting catalog's serial: pass it to --since next time
	Since    int64           `json:"since"`
	Projects []ExportProject `json:"projects"`
	// Generic lists the generic files (generic.go).
	Generic []ExportGeneric `json:"generic,omitempty"`
}

// ExportProject is one cached project: its page as the upstream gave it,
// with only the files whose bytes are in the archive.
type ExportProject struct {
	Name           string       `json:"name"`
	UpstreamSerial int64        `json:"upstream_serial"`
	PageURL        string       `json:"page_url"`
	Versions       []string     `json:"versions"`
	FetchedAt      time.Time    `json:"fetched_at"`
	Files          []ExportFile `json:"files"`
}

// ExportFile is one cached file.
type ExportFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   string            `json:"requires_python,omitempty"`
	Size             int64             `json:"size"`
	UploadTime       time.Time         `json:"upload_time,omitzero"`
	Yanked           bool              `json:"yanked,omitempty"`
	YankedReason     string            `json:"yanked_reason,omitempty"`
	UpstreamMetadata string            `json:"upstream_metadata,omitempty"`
	SHA256           string            `json:"sha256"`
	MetadataSHA256   string            `json:"metadata_sha256,omitempty"`
}

// ExportReport summarizes an export or an import.
type ExportReport struct {
	Serial   int64    `json:"serial"`
	Projects int      `json:"projects"`
	Files    int      `json:"files"`
	Blobs    int      `json:"blobs"`   // written (export) or stored (import)
	Present  int      `json:"present"` // import: already stored
	Bytes    int64    `json:"bytes"`
	Generic  int      `json:"generic"` // generic files exported, or recorded by an import
	Notes    []string `json:"notes,omitempty"`
}

// exportAction is the audit action of an export; its detail starts with
// "serial=N " so that a later --since N knows when that export ran.
const exportAction = "mirror export"

// Export writes the cached projects (their pages, with the files whose
// bytes are stored, and those bytes and PEP 658 metadata) to w as a tar
// archive (see ExportFormat). With since > 0 it writes only the projects
// whose page changed after that catalog serial, or that cached files after
// the export that reported it. actor, when set, records the export in the
// audit log (which is what makes the next --since exact).
func Export(ctx context.Context, cat *index.Catalog, store storage.Store, w io.Writer, since int64, actor string) (*ExportReport, error) {
	start := time.Now().UTC()
	serial, err := cat.Serial(ctx)
	if err != nil {
		return nil, err
	}
	rep := &ExportReport{Serial: serial}
	var sinceTime time.Time
	if since > 0 {
		sinceTime, err = exportTime(ctx, cat, since)
		if err != nil {
			return nil, err
		}
		if sinceTime.IsZero() {
			rep.Notes = append(rep.Notes, fmt.Sprintf("no export with serial %d is recorded here: only pages changed since then are exported; files cached since then into unchanged pages are not (make a full export if in doubt)", since))
		}
	}
	list, err := cat.MirrorProjects(ctx)
	if err != nil {
		return nil, err
	}
	man := ExportManifest{Format: ExportFormat, Created: time.Now().UTC(), Serial: serial, Since: since}
	type blob struct {
		key, sha string
		size     int64
		data     []byte // set: not in the store (metadata read from its wheel)
	}
	var blobs []blob
	seen := map[string]bool{}
	addBlob := func(sha string) (bool, error) {
		key := storage.Key(sha)
		if seen[key] {
			return true, nil
		}
		info, err := store.Stat(ctx, key)
		if errors.Is(err, storage.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		seen[key] = true
		blobs = append(blobs, blob{key: key, sha: sha, size: info.Size})
		return true, nil
	}
	for _, s := range list {
		if s.CachedFiles == 0 {
			continue
		}
		p, err := cat.MirrorPage(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		changed := since <= 0 || p.Serial > since
		ep := ExportProject{Name: p.Name, UpstreamSerial: p.UpstreamSerial, PageURL: p.PageURL, Versions: p.Versions, FetchedAt: p.FetchedAt}
		for _, f := range p.Files {
			if f.BlobKey == "" || f.SHA256 == "" {
				continue
			}
			if !sinceTime.IsZero() && f.CachedAt.After(sinceTime) {
				changed = true
			}
			ok, err := addBlob(f.SHA256)
			if err != nil {
				return nil, err
			}
			if !ok {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %s is missing from storage; left out", p.Name, f.Filename))
				continue
			}
			ef := ExportFile{Filename: f.Filename, URL: f.URL, Hashes: f.Hashes, RequiresPython: f.RequiresPython, Size: f.Size,
				UploadTime: f.UploadTime, Yanked: f.Yanked, YankedReason: f.YankedReason, UpstreamMetadata: f.UpstreamMetadata, SHA256: f.SHA256}
			msha := f.MetadataSHA256
			if msha == "" {
				msha = f.UpstreamMetadata
			}
			if msha != "" {
				ok, err := addBlob(msha)
				if err != nil {
					return nil, err
				}
				if !ok && strings.HasSuffix(f.Filename, ".whl") && !seen[storage.Key(msha)] {
					// Never fetched (pip before 22 ignores PEP 658): the
					// wheel holds the same bytes.
					if md, err := mirror.ArchiveMetadata(ctx, store, f.BlobKey, f.Filename); err == nil && sha256Hex(md.Raw) == msha {
						seen[storage.Key(msha)] = true
						blobs = append(blobs, blob{storage.Key(msha), msha, int64(len(md.Raw)), md.Raw})
						ok = true
					}
				}
				if ok {
					ef.MetadataSHA256 = msha
				} else if ef.UpstreamMetadata != "" {
					// Advertising metadata the other side cannot serve
					// would break pip there: leave it out.
					ef.UpstreamMetadata = ""
					rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the metadata of %s is not cached; exported without it", p.Name, f.Filename))
				}
			}
			ep.Files = append(ep.Files, ef)
		}
		if !changed || len(ep.Files) == 0 {
			continue
		}
		man.Projects = append(man.Projects, ep)
		rep.Files += len(ep.Files)
	}
	rep.Projects = len(man.Projects)
	if man.Generic, err = exportGeneric(ctx, cat, since, addBlob, rep); err != nil {
		return nil, err
	}
	// Only the blobs of the projects and generic files kept.
	keep := map[string]bool{}
	for _, g := range man.Generic {
		keep[storage.Key(g.SHA256)] = true
	}
	for _, p := range man.Projects {
		for _, f := range p.Files {
			keep[storage.Key(f.SHA256)] = true
			if f.MetadataSHA256 != "" {
				keep[storage.Key(f.MetadataSHA256)] = true
			}
		}
	}
	blobs = slices.DeleteFunc(blobs, func(b blob) bool { return !keep[b.key] })

	tw := tar.NewWriter(w)
	body, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o644, Size: int64(len(body)), ModTime: now}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	for _, b := range blobs {
		if b.data != nil {
			if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + b.sha, Mode: 0o644, Size: b.size, ModTime: now}); err != nil {
				return nil, err
			}
			if _, err := tw.Write(b.data); err != nil {
				return nil, err
			}
		} else if err := copyBlob(ctx, tw, store, b.key, b.sha, b.size, now); err != nil {
			return nil, err
		}
		rep.Blobs++
		rep.Bytes += b.size
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if actor != "" {
		if err := cat.Audit(ctx, index.Event{Actor: actor, Action: exportAction,
			Detail: fmt.Sprintf("serial=%d started=%s since=%d projects=%d files=%d bytes=%d", serial, start.Format(time.RFC3339Nano),
				since, rep.Projects, rep.Files, rep.Bytes)}); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func copyBlob(ctx context.Context, tw *tar.Writer, store storage.Store, key, sha string, size int64, mod time.Time) error {
	rc, _, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("export %s: %w", key, err)
	}
	defer rc.Close()
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + sha, Mode: 0o644, Size: size, ModTime: mod}); err != nil {
		return err
	}
	n, err := io.Copy(tw, rc)
	if err != nil {
		return fmt.Errorf("export %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("export %s: read %d bytes, stat said %d", key, n, size)
	}
	return nil
}

var exportSerialRe = regexp.MustCompile(`^serial=(\d+) (?:started=(\S+) )?`)

// exportTime returns when the export that reported serial started (zero
// when none is recorded): files cached after that are new to it.
func exportTime(ctx context.Context, cat *index.Catalog, serial int64) (time.Time, error) {
	evs, err := cat.AuditEvents(ctx, index.AuditQuery{Action: exportAction, Limit: 1000})
	if err != nil {
		return time.Time{}, err
	}
	for _, e := range evs {
		if m := exportSerialRe.FindStringSubmatch(e.Detail); m != nil {
			if n, _ := strconv.ParseInt(m[1], 10, 64); n == serial {
				if t, err := time.Parse(time.RFC3339Nano, m[2]); err == nil {
					return t, nil
				}
				return e.At, nil
			}
		}
	}
	return time.Time{}, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var hexRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Import loads an export archive into cat and store: every blob is
// verified against its sha256 (a mismatch aborts the import before any
// page is recorded), then each project's page is recorded as cached from
// the upstream, with the imported files cached. Files this side had cached
// for a project and the archive lacks stay. The server then serves the
// projects like any mirrored project, offline included. actor, when set,
// writes an audit entry per project.
func Import(ctx context.Context, cat *index.Catalog, store storage.Store, r io.Reader, actor string) (*ExportReport, error) {
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("not an export archive: %w", err)
	}
	if h.Name != manifestName {
		return nil, fmt.Errorf("not an export archive: first member is %q, not %s", h.Name, manifestName)
	}
	var man ExportManifest
	if err := json.NewDecoder(io.LimitReader(tr, 1<<30)).Decode(&man); err != nil {
		return nil, fmt.Errorf("export manifest: %w", err)
	}
	if man.Format != ExportFormat {
		return nil, fmt.Errorf("export manifest: format %q, want %q", man.Format, ExportFormat)
	}
	rep := &ExportReport{Serial: man.Serial}
	// Every blob the manifest needs, with its size when known.
	want := map[string]int64{}
	for _, p := range man.Projects {
		if !pep503.Valid(p.Name) || p.Name != pep503.Normalize(p.Name) {
			return nil, fmt.Errorf("export manifest: invalid project name %q", p.Name)
		}
		for _, f := range p.Files {
			if !hexRe.MatchString(f.SHA256) || (f.Hashes["sha256"] != "" && f.Hashes["sha256"] != f.SHA256) || !mirror.ValidFilename(f.Filename) {
				return nil, fmt.Errorf("export manifest: %s: invalid file entry %q", p.Name, f.Filename)
			}
			want[f.SHA256] = f.Size
			if f.MetadataSHA256 != "" {
				if !hexRe.MatchString(f.MetadataSHA256) {
					return nil, fmt.Errorf("export manifest: %s: invalid metadata hash", f.Filename)
				}
				if _, ok := want[f.MetadataSHA256]; !ok {
					want[f.MetadataSHA256] = -1
				}
			}
		}
	}
	if err := checkGeneric(man.Generic, want); err != nil {
		return nil, err
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("reading the archive: %w", err)
		}
		sha, ok := strings.CutPrefix(h.Name, "blobs/")
		size, wanted := want[sha]
		if !ok || !wanted {
			return rep, fmt.Errorf("the archive holds %q, which its manifest does not list", h.Name)
		}
		if size >= 0 && size != h.Size {
			return rep, fmt.Errorf("the archive's %s has %d bytes, its manifest says %d", h.Name, h.Size, size)
		}
		key := storage.Key(sha)
		if _, err := store.Stat(ctx, key); err == nil {
			rep.Present++
			continue // content-addressed: the same bytes are here already
		}
		err = mirror.PutVerified(ctx, store, key, tr, map[string]string{"sha256": sha}, h.Size)
		var mismatch *mirror.HashMismatchError
		if errors.As(err, &mismatch) {
			return rep, fmt.Errorf("the archive's %s does not match its hash (%s); import stopped, nothing recorded", h.Name, mismatch.Detail)
		}
		if err != nil {
			return rep, fmt.Errorf("storing %s: %w", h.Name, err)
		}
		rep.Blobs++
		rep.Bytes += h.Size
	}
	// Every blob must be here now (imported, or already stored).
	for sha := range want {
		if _, err := store.Stat(ctx, storage.Key(sha)); err != nil {
			return rep, fmt.Errorf("the archive lacks blob %s listed in its manifest (truncated?); nothing recorded", sha)
		}
	}
	for _, ep := range man.Projects {
		n, err := importProject(ctx, cat, store, ep)
		if err != nil {
			return rep, fmt.Errorf("recording %s: %w", ep.Name, err)
		}
		rep.Projects++
		rep.Files += n
		if actor != "" {
			if err := cat.Audit(ctx, index.Event{Actor: actor, Action: "mirror import", Project: ep.Name,
				Detail: fmt.Sprintf("%d files from an export of serial %d", n, man.Serial)}); err != nil {
				return rep, err
			}
		}
	}
	if err := importGeneric(ctx, cat, man.Generic, actor, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// importProject records one project's page and its cached files, keeping
// files this side had cached that the archive lacks.
func importProject(ctx context.Context, cat *index.Catalog, store storage.Store, ep ExportProject) (int, error) {
	p := &index.MirrorProject{Name: ep.Name, UpstreamSerial: ep.UpstreamSerial, PageURL: ep.PageURL,
		Versions: ep.Versions, FetchedAt: ep.FetchedAt}
	have := map[string]bool{}
	for _, f := range ep.Files {
		have[f.Filename] = true
		p.Files = append(p.Files, index.MirrorFile{Filename: f.Filename, URL: f.URL, Hashes: f.Hashes,
			RequiresPython: f.RequiresPython, Size: f.Size, UploadTime: f.UploadTime, Yanked: f.Yanked,
			YankedReason: f.YankedReason, UpstreamMetadata: f.UpstreamMetadata})
	}
	old, err := cat.MirrorPage(ctx, ep.Name)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return 0, err
	}
	if old != nil {
		for _, f := range old.Files {
			if f.BlobKey != "" && !have[f.Filename] {
				p.Files = append(p.Files, f)
			}
		}
		if old.UpstreamSerial > p.UpstreamSerial {
			p.UpstreamSerial = old.UpstreamSerial
		}
		for _, v := range old.Versions {
			if !slices.Contains(p.Versions, v) {
				p.Versions = append(p.Versions, v)
			}
		}
		mirror.SortVersions(p.Versions)
	}
	_, orphans, err := cat.PutMirrorPage(ctx, p)
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	for _, f := range ep.Files {
		_, o, err := cat.UpdateMirrorFile(ctx, ep.Name, f.Filename, func(r *index.MirrorFile) {
			r.BlobKey, r.SHA256, r.Size, r.CachedAt = storage.Key(f.SHA256), f.SHA256, f.Size, now
			if r.Hashes == nil {
				r.Hashes = map[string]string{}
			}
			if r.Hashes["sha256"] == "" {
				r.Hashes["sha256"] = f.SHA256
			}
			if f.MetadataSHA256 != "" {
				r.MetadataKey, r.MetadataSHA256 = storage.Key(f.MetadataSHA256), f.MetadataSHA256
			}
		})
		if err != nil {
			return 0, err
		}
		orphans = append(orphans, o...)
	}
	for _, k := range orphans {
		if err := store.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotExist) {
			return 0, err
		}
	}
	return len(ep.Files), nil
}
