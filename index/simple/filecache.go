package simple

import (
	"context"
	"errors"

	"github.com/pyindex/pyindex/index"
)

// fileCacheMax bounds the remembered file rows.
const fileCacheMax = 1 << 14

// fileKey names a file row as read at one change token. The catalog's
// rows of downloaded files (and names that are not files) are remembered
// under the token they were read at, so that a download, and above all
// pip's many small PEP 658 metadata fetches, costs no SQL query while
// nothing changes. Any commit, by this process or another, changes the
// token, so entries read before it are never asked for again (and age out
// of the bounded map), exactly as a query per request would see the
// change.
type fileKey struct {
	token int64
	name  string
}

type fileEntry struct {
	f     index.File
	found bool
}

// fileRow returns the row of the file called name, or index.ErrNotFound.
func (h *Handler) fileRow(ctx context.Context, name string) (index.File, error) {
	token, err := h.cat.ChangeToken() // taken before the read it keys
	if err != nil {
		return h.cat.File(ctx, name)
	}
	key := fileKey{token, name}
	if e, ok := h.files.Get(key); ok {
		if !e.found {
			return index.File{}, index.ErrNotFound
		}
		return e.f, nil
	}
	f, err := h.cat.File(ctx, name)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return f, err
	}
	h.files.Put(key, fileEntry{f: f, found: err == nil})
	return f, err
}
