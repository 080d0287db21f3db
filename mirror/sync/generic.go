package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// Generic files (package generic) travel in export archives too, so that
// an air-gapped site receives the bundles its deploy jobs install: the
// manifest lists them (ExportManifest.Generic) and their bytes are blobs
// like any other.

// ExportGeneric is one generic file in an export archive.
type ExportGeneric struct {
	Name       string    `json:"name"` // normalized
	Version    string    `json:"version"`
	Filename   string    `json:"filename"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	UploadTime time.Time `json:"upload_time"`
	UploadedBy string    `json:"uploaded_by,omitempty"`
}

// exportGeneric lists the generic files of the packages changed after
// since (every one with since <= 0) whose bytes are stored, adding their
// blobs with addBlob; a file whose blob is missing is left out with a note.
func exportGeneric(ctx context.Context, cat *index.Catalog, since int64, addBlob func(sha string) (bool, error), rep *ExportReport) ([]ExportGeneric, error) {
	var out []ExportGeneric
	if since < 0 {
		since = 0
	}
	var files []index.GenericFile
	if err := cat.GenericFilesSince(ctx, since, func(f index.GenericFile) error {
		files = append(files, f)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, f := range files {
		ok, err := addBlob(f.SHA256)
		if err != nil {
			return nil, err
		}
		if !ok {
			rep.Notes = append(rep.Notes, fmt.Sprintf("generic %s %s: %s is missing from storage; left out", f.Name, f.Version, f.Filename))
			continue
		}
		out = append(out, ExportGeneric{Name: f.Name, Version: f.Version, Filename: f.Filename, Size: f.Size, SHA256: f.SHA256,
			UploadTime: f.UploadTime, UploadedBy: f.UploadedBy})
	}
	rep.Generic = len(out)
	return out, nil
}

// checkGeneric validates the manifest's generic entries and adds their
// blobs to want.
func checkGeneric(gs []ExportGeneric, want map[string]int64) error {
	for _, g := range gs {
		if !index.ValidGenericName(g.Name) || !hexRe.MatchString(g.SHA256) || g.Size < 0 {
			return fmt.Errorf("export manifest: invalid generic file entry %q %q %q", g.Name, g.Version, g.Filename)
		}
		if _, err := index.ParseGenericVersion(g.Version); err != nil {
			return fmt.Errorf("export manifest: generic %s: %w", g.Name, err)
		}
		if err := index.CheckGenericFilename(g.Filename); err != nil {
			return fmt.Errorf("export manifest: generic %s %s: %w", g.Name, g.Version, err)
		}
		want[g.SHA256] = g.Size
	}
	return nil
}

// importGeneric records the generic files of an archive whose blobs are
// stored. A file already recorded with the same bytes is left as it is; one
// recorded here with other bytes is never replaced (a note says so).
// Imports bypass ownership: the importing admin brings what the exporting
// site had; names new here get no owner until an admin's upload.
func importGeneric(ctx context.Context, cat *index.Catalog, gs []ExportGeneric, actor string, rep *ExportReport) error {
	for _, g := range gs {
		_, existed, err := cat.AddGenericFile(ctx, index.NewGenericFile{Name: g.Name, Version: g.Version, Filename: g.Filename,
			Size: g.Size, SHA256: g.SHA256, BlobKey: storage.Key(g.SHA256), UploadedBy: g.UploadedBy, UploadTime: g.UploadTime,
			AuditActor: actor})
		switch {
		case errors.Is(err, index.ErrExists):
			rep.Notes = append(rep.Notes, fmt.Sprintf("generic %s %s: %s exists here with other bytes; kept as it is", g.Name, g.Version, g.Filename))
		case err != nil:
			return fmt.Errorf("recording generic %s %s %s: %w", g.Name, g.Version, g.Filename, err)
		case !existed:
			rep.Generic++
		}
	}
	return nil
}
