package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/storage"
)

// The PEP 658 metadata of a mirrored file has two stored forms: extracted
// from the cached wheel when the upstream offers no metadata file
// (MetadataKey, recorded with the file), or the upstream's own .metadata
// file, checked against the hash its page gives (UpstreamMetadata), which
// CacheMetadata stores: from the cached wheel when it holds the same bytes,
// else fetched once from the upstream.
//
// https://peps.python.org/pep-0658/

// maxMetadataSize bounds a PEP 658 metadata file fetched from the upstream.
const maxMetadataSize = 16 << 20

// ArchiveMetadata reads the core metadata inside a stored distribution:
// a wheel's .dist-info/METADATA or an sdist's PKG-INFO. Errors are the
// store's (storage.ErrNotExist for a missing blob) or index/dist's.
func ArchiveMetadata(ctx context.Context, store storage.Store, key, filename string) (dist.Metadata, error) {
	fn, err := dist.ParseFilename(filename)
	if err != nil {
		return dist.Metadata{}, err
	}
	rc, info, err := store.Open(ctx, key)
	if err != nil {
		return dist.Metadata{}, err
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		ra = &seekReaderAt{r: rc}
	}
	return dist.ReadMetadata(ra, info.Size, fn, dist.Limits{})
}

// seekReaderAt adapts a ReadSeeker to io.ReaderAt.
type seekReaderAt struct {
	mu sync.Mutex
	r  io.ReadSeeker
}

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s.r, p)
}

// putMetadata stores a metadata file under the key of its sha256 and
// returns both.
func (m *Mirror) putMetadata(ctx context.Context, raw []byte) (key, sum string, err error) {
	return storage.PutContent(ctx, m.store, raw)
}

// recordMetadata notes the stored metadata file of a cached file.
func (m *Mirror) recordMetadata(ctx context.Context, project, filename, key, sum string) error {
	_, orphans, err := m.cat.UpdateMirrorFile(ctx, project, filename, func(r *index.MirrorFile) {
		r.MetadataKey, r.MetadataSHA256 = key, sum
	})
	m.deleteBlobs(ctx, orphans)
	return err
}

// extractMetadata stores the METADATA of a cached wheel for PEP 658 and
// returns its key and sha256, or "" when it cannot (logged, not fatal).
func (m *Mirror) extractMetadata(ctx context.Context, key, filename string) (string, string) {
	md, err := ArchiveMetadata(ctx, m.store, key, filename)
	if err != nil || len(md.Raw) == 0 {
		m.log.Warn("no metadata extracted from a mirrored wheel", "file", filename, "err", err)
		return "", ""
	}
	mkey, msum, err := m.putMetadata(ctx, md.Raw)
	if err != nil {
		m.log.Warn("storing extracted metadata", "file", filename, "err", err)
		return "", ""
	}
	return mkey, msum
}

// serveMetadata serves the PEP 658 metadata of f that storedFile could not
// serve from storage: the upstream's file, stored by CacheMetadata on
// first request.
func (m *Mirror) serveMetadata(c echo.Context, project string, f index.MirrorFile) error {
	ctx := c.Request().Context()
	if f.UpstreamMetadata == "" {
		return index.ErrNotFound
	}
	key := storage.Key(f.UpstreamMetadata)
	if _, err := m.store.Stat(ctx, key); err != nil {
		if m.cfg.Offline {
			m.m.lookup(kindMetadata, resultOffline)
			return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: "this mirror is offline and has no copy of " + f.Filename + ".metadata"}
		}
		m.m.lookup(kindMetadata, resultMiss)
		if _, err := m.CacheMetadata(ctx, project, f); err != nil {
			return err
		}
	} else {
		m.m.lookup(kindMetadata, resultHit)
	}
	return m.serveBlob(c, httpx.Blob{Key: key, SHA256: f.UpstreamMetadata, ContentType: fileType, ModTime: modTime(&f), Name: path.Base(c.Request().URL.Path)})
}

// CacheMetadata stores the upstream's PEP 658 file of f (a file of the
// cached page of project whose page gives a metadata hash), once for all
// concurrent callers: taken from the cached wheel when its METADATA has
// that hash (which saves an upstream request), else fetched from the
// upstream and checked against it; fetched reports the latter. An upstream
// failure or a hash mismatch is an *index.UpstreamError; nothing
// unverified is stored.
func (m *Mirror) CacheMetadata(ctx context.Context, project string, f index.MirrorFile) (fetched bool, err error) {
	return shared(ctx, m, &m.files, project+"/"+f.Filename+".metadata", m.cfg.Timeout, func(ctx context.Context) (bool, error) {
		if m.metadataFromWheel(ctx, project, f) {
			return false, nil
		}
		return true, m.fetchMetadata(ctx, project, f)
	})
}

// metadataFromWheel stores the METADATA of f's cached wheel as its PEP 658
// file when it is byte-identical to the upstream's (it must be: PEP 658).
// It reports whether it did.
func (m *Mirror) metadataFromWheel(ctx context.Context, project string, f index.MirrorFile) bool {
	if f.BlobKey == "" || !strings.HasSuffix(f.Filename, ".whl") {
		return false
	}
	md, err := ArchiveMetadata(ctx, m.store, f.BlobKey, f.Filename)
	if err != nil {
		return false
	}
	if sum := sha256.Sum256(md.Raw); hex.EncodeToString(sum[:]) != f.UpstreamMetadata {
		return false
	}
	key, sum, err := m.putMetadata(ctx, md.Raw)
	if err != nil {
		return false
	}
	return m.recordMetadata(ctx, project, f.Filename, key, sum) == nil
}

// fetchMetadata downloads the upstream's PEP 658 file of f, checks it
// against the page's hash and stores it.
func (m *Mirror) fetchMetadata(ctx context.Context, project string, f index.MirrorFile) error {
	resp, err := m.client.file(ctx, kindMetadata, f.URL+".metadata")
	if err != nil {
		m.countError(kindMetadata, err)
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		m.countError(kindMetadata, transportError(ctx, "metadata", err))
		return transportError(ctx, "metadata", err)
	}
	m.m.bytes.WithLabelValues(kindMetadata).Add(float64(len(raw)))
	sum := sha256.Sum256(raw)
	if len(raw) > maxMetadataSize || hex.EncodeToString(sum[:]) != f.UpstreamMetadata {
		m.m.upstreamError(kindMetadata, "hash_mismatch")
		return &index.UpstreamError{Status: http.StatusBadGateway, Msg: "the upstream's " + f.Filename + ".metadata does not match the hash on its page; not cached"}
	}
	key, msum, err := m.putMetadata(ctx, raw)
	if err != nil {
		return err
	}
	return m.recordMetadata(ctx, project, f.Filename, key, msum)
}

// Metadata returns the core metadata of a file of the cached page of
// project: its PEP 658 file when stored (extracted or the upstream's),
// else read from the cached archive itself. It returns index.ErrNotFound
// when no cached page lists the file, and an error when the file is not
// cached.
func (m *Mirror) Metadata(ctx context.Context, project, filename string) (dist.Metadata, error) {
	f, err := m.cat.MirrorFile(ctx, project, filename)
	if err != nil {
		return dist.Metadata{}, err
	}
	for _, key := range []string{f.MetadataKey, keyOf(f.UpstreamMetadata)} {
		if key == "" {
			continue
		}
		if raw, err := readBlob(ctx, m.store, key, maxMetadataSize); err == nil {
			return dist.ParseMetadata(raw)
		}
	}
	if f.BlobKey == "" {
		return dist.Metadata{}, errors.New(filename + " is not cached")
	}
	return ArchiveMetadata(ctx, m.store, f.BlobKey, filename)
}

func keyOf(sha string) string {
	if sha == "" {
		return ""
	}
	return storage.Key(sha)
}

// readBlob reads a small blob whole.
func readBlob(ctx context.Context, s storage.Store, key string, limit int64) ([]byte, error) {
	rc, _, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", key, limit)
	}
	return b, nil
}

// ReleaseMetadata returns the core metadata of one of filenames, files of
// the cached page of project (one release), for the read side's PyPI JSON
// API: a stored one (PEP 658 file, or read from the cached archive), else
// the upstream's PEP 658 file of one of them, fetched and stored once
// (small, verified) unless the mirror is offline or the upstream failing.
// It returns false when none is at hand.
func (m *Mirror) ReleaseMetadata(ctx context.Context, project string, filenames []string) (dist.Metadata, bool) {
	for _, fn := range filenames {
		if md, err := m.Metadata(ctx, project, fn); err == nil {
			return md, true
		}
	}
	if m.cfg.Offline || m.UpstreamDown() {
		return dist.Metadata{}, false
	}
	for _, fn := range filenames {
		f, err := m.cat.MirrorFile(ctx, project, fn)
		if err != nil || f.UpstreamMetadata == "" {
			continue
		}
		if _, err := m.CacheMetadata(ctx, project, f); err != nil {
			m.log.Warn("metadata for the JSON API", "project", project, "file", fn, "err", err)
			return dist.Metadata{}, false
		}
		md, err := m.Metadata(ctx, project, fn)
		return md, err == nil
	}
	return dist.Metadata{}, false
}
