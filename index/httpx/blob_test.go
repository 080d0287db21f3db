package httpx

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/storage"
)

// downStore is a store whose every Open fails as an unreachable S3 does.
type downStore struct{ storage.Store }

func (downStore) Open(context.Context, string) (io.ReadSeekCloser, storage.Info, error) {
	return nil, storage.Info{}, errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")
}

// TestBlobReplyStoreDown checks that a download while the store is down is
// a 503 saying so (a client may retry), never a 500, and that the cause
// stays in the error for the log.
func TestBlobReplyStoreDown(t *testing.T) {
	var rep Reply
	err := BlobReply(context.Background(), downStore{}, slog.New(slog.DiscardHandler), &Request{}, Blob{Key: "sha256/ab/cd/x", SHA256: "x"}, &rep)
	code, msg := ErrorStatus(err)
	if code != http.StatusServiceUnavailable || msg != "Storage is unavailable; try again" {
		t.Errorf("store down: %d %q, want 503 Storage is unavailable", code, msg)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("the error lost its cause: %v", err)
	}
}
