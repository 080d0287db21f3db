package simple

import (
	"context"
	"errors"

	"github.com/pyindex/pyindex/index"
)

// fileCacheMax bounds the remembered file rows.
const fileCacheMax = 1 << 14

// fileKey names a remembered file row. The catalog's rows of downloaded
// files (and names that are not files) are remembered, so that a download,
// and above all pip's many small PEP 658 metadata fetches, costs no SQL
// query while nothing changes. An entry keeps the catalog's change token
// of all projects (index.Catalog.ProjectChangeToken("")) taken before the
// row was read: a row stays current while its project's token is at most
// that, so a commit to another project leaves it warm, and a commit to its
// own (a yank, a delete, a new file) is seen at once, by this process or
// another, as a query per request would see it. A name that is not a file
// stays remembered only until any project changes (it may be uploaded to
// any).
type fileKey struct {
	name string
}

type fileEntry struct {
	f     index.File
	found bool
	token int64 // the token of "" taken before the read
}

// fileRow returns the row of the file called name, or index.ErrNotFound.
func (h *Handler) fileRow(ctx context.Context, name string) (index.File, error) {
	key := fileKey{name}
	if e, ok := h.files.Get(key); ok {
		project := "" // a name that is not a file: any project may get it
		if e.found {
			project = e.f.Project
		}
		if t, err := h.cat.ProjectChangeToken(project); err == nil && t <= e.token {
			if !e.found {
				return index.File{}, index.ErrNotFound
			}
			return e.f, nil
		}
	}
	token, err := h.cat.ProjectChangeToken("") // taken before the read it keys
	if err != nil {
		return h.cat.File(ctx, name)
	}
	f, err := h.cat.File(ctx, name)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return f, err
	}
	h.files.Put(key, fileEntry{f: f, found: err == nil, token: token})
	return f, err
}
