package simple

import (
	"context"
	"errors"
	"sync"

	"github.com/pyindex/pyindex/index"
)

// fileCacheMax bounds the remembered file rows; past it the cache starts
// over.
const fileCacheMax = 1 << 14

// fileCache remembers the catalog rows of downloaded files (and names that
// are not files) under the change token they were read at, so that a
// download, and above all pip's many small PEP 658 metadata fetches, costs
// no SQL query while nothing changes. Any commit, by this process or
// another, changes the token and so retires every entry, exactly as a query
// per request would see the change.
type fileCache struct {
	mu    sync.Mutex
	token int64
	m     map[string]fileEntry
}

type fileEntry struct {
	f     index.File
	found bool
}

// file returns the row of the file called name, or ErrNotFound.
func (h *Handler) fileRow(ctx context.Context, name string) (index.File, error) {
	token, err := h.cat.ChangeToken() // taken before the read it keys
	if err != nil {
		return h.cat.File(ctx, name)
	}
	fc := &h.files
	fc.mu.Lock()
	if fc.token == token && fc.m != nil {
		if e, ok := fc.m[name]; ok {
			fc.mu.Unlock()
			if !e.found {
				return index.File{}, index.ErrNotFound
			}
			return e.f, nil
		}
	}
	fc.mu.Unlock()
	f, err := h.cat.File(ctx, name)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return f, err
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	// Another token than the cache's: start over. Should it be an older
	// one (a slower request), requests that took the newer token will
	// not match it and start over again; a row is only ever served under
	// the token it was read at.
	if token != fc.token || fc.m == nil || len(fc.m) >= fileCacheMax {
		fc.token, fc.m = token, make(map[string]fileEntry)
	}
	fc.m[name] = fileEntry{f: f, found: err == nil}
	return f, err
}
