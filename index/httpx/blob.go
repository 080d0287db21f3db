package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// Blob is a stored file to send: a distribution, its PEP 658 metadata or
// any other immutable content-addressed blob.
type Blob struct {
	Key         string // the storage key
	SHA256      string // hex digest of the content: the ETag
	ContentType string
	ModTime     time.Time // Last-Modified; zero for none
	Name        string    // the file name a presigned URL downloads as
}

// Header values of every blob reply, shared.
var (
	blobCacheControl = []string{"max-age=365000000, immutable, public"}
	noStore          = []string{"no-store"}
	anyOrigin        = []string{"*"}
	acceptRanges     = []string{"bytes"}
)

// BlobReply fills in rep with b from store, with long-lived immutable
// caching and never a Content-Encoding (pip hashes the bytes it
// receives). When the store hands out presigned URLs (S3 with
// presign_downloads = true) the reply is a 302 to one instead, uncached
// since the URL expires. For an InMemory request with Range or
// conditional headers, or a presigning store, it returns ErrNotInMemory;
// otherwise the reply is complete as http.ServeContent's 200 would be
// (FileReplyHeaders). A blob missing from the store is logged (on log) and
// answered 404; a store that fails otherwise is answered 503.
func BlobReply(ctx context.Context, store storage.Store, log *slog.Logger, req *Request, b Blob, rep *Reply) error {
	if req.InMemory && (req.Conditional || req.IfNoneMatch != "") {
		return ErrNotInMemory
	}
	if p, ok := storage.As[storage.Presigner](store); ok {
		if req.InMemory {
			return ErrNotInMemory
		}
		u, err := p.PresignedGetURL(ctx, b.Key, b.Name)
		switch {
		case err == nil:
			rep.Status = http.StatusFound
			rep.Add("Cache-Control", noStore)
			rep.Add("Location", []string{u.String()})
			return nil
		case !errors.Is(err, errors.ErrUnsupported):
			return err
		} // presigning is switched off: stream the blob.
	}
	rc, info, err := store.Open(ctx, b.Key)
	if err != nil {
		if req.InMemory {
			return ErrNotInMemory
		}
		if errors.Is(err, storage.ErrNotExist) {
			log.Error("blob missing for catalogued file", "key", b.Key)
			return index.Errorf(index.ErrNotFound, "Not Found (file content missing; run pyindex fsck)")
		}
		if ctx.Err() != nil {
			return err
		}
		// The store is down or failing (S3 unreachable): the client may
		// try again, as with an upload refused for the same reason.
		return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: "Storage is unavailable; try again", Err: err}
	}
	rep.Status = http.StatusOK
	BlobHeaders(b, rep.Add)
	rep.File, rep.Size, rep.ModTime = rc, info.Size, b.ModTime
	if req.InMemory {
		FileReplyHeaders(rep)
	}
	return nil
}

// BlobHeaders calls add with each header field every reply of a stored
// blob carries, whoever sends it (BlobReply, and the mirror's first
// download, streamed while it is stored): Content-Type, the ETag (when the
// digest is known), immutable caching and CORS. Never a Content-Encoding:
// pip hashes the bytes it receives.
func BlobHeaders(b Blob, add func(name string, values []string)) {
	add("Content-Type", []string{b.ContentType})
	if b.SHA256 != "" {
		add("Etag", []string{`"` + b.SHA256 + `"`})
	}
	add("Cache-Control", blobCacheControl)
	add("Access-Control-Allow-Origin", anyOrigin)
}

// FileReplyHeaders adds to a File reply the fields http.ServeContent adds
// to a 200 without Range: Accept-Ranges, Content-Length and (for a
// modification time other than zero or the Unix epoch) Last-Modified.
func FileReplyHeaders(rep *Reply) {
	rep.Add("Accept-Ranges", acceptRanges)
	rep.Add("Content-Length", []string{strconv.FormatInt(rep.Size, 10)})
	if t := rep.ModTime; !t.IsZero() && !t.Equal(time.Unix(0, 0)) {
		rep.Add("Last-Modified", []string{t.UTC().Format(http.TimeFormat)})
	}
}
