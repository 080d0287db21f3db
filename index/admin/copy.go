package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/pyindex/pyindex/storage"
)

// CopyOptions say how CopyBlobs copies.
type CopyOptions struct {
	// DryRun only counts what would be copied.
	DryRun bool
	// Jobs is how many blobs are copied in parallel (at least one).
	Jobs int
}

// CopyStats counts what CopyBlobs did.
type CopyStats struct {
	Copied      int   // blobs copied (or, in a dry run, to copy)
	CopiedBytes int64 // their size
	Present     int   // already at the destination with the right size
	Failed      int   // could not be copied or verified
}

// BlobCopy is what CopyBlobs reports of one blob it copied (Err nil) or
// failed to copy (Err says why). Blobs already present are not reported.
type BlobCopy struct {
	Key  string
	Size int64
	Err  error
}

// CopyBlobs copies every blob of src that dst lacks (or holds with another
// size) and verifies each copy by reading it back. A blob that fails is
// counted and reported, and the copy goes on; only a failure to list src
// or a cancelled ctx stops it (with an error). Put is atomic on every
// backend, so an interrupted copy leaves no partial blob: running it again
// resumes. report, when not nil, is called for every blob copied or failed,
// one call at a time.
func CopyBlobs(ctx context.Context, src, dst storage.Store, opts CopyOptions, report func(BlobCopy)) (CopyStats, error) {
	var (
		mu sync.Mutex
		st CopyStats
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Jobs, 1))
	listErr := src.List(gctx, "", func(fi storage.Info) error {
		g.Go(func() error {
			copied, err := copyBlob(gctx, src, dst, fi, opts.DryRun)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && gctx.Err() != nil:
				return gctx.Err()
			case err != nil:
				st.Failed++
			case copied:
				st.Copied++
				st.CopiedBytes += fi.Size
			default:
				st.Present++
				return nil
			}
			if report != nil {
				report(BlobCopy{Key: fi.Key, Size: fi.Size, Err: err})
			}
			return nil
		})
		return nil
	})
	if err := g.Wait(); err != nil {
		return st, err
	}
	if listErr != nil {
		return st, fmt.Errorf("list the source: %w", listErr)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, nil
}

// copyBlob copies one blob unless dst holds it with the right size, and
// reports whether it copied. The bytes are hashed on the way; the copy is
// then read back and must hash the same, and match the content address
// of a "sha256/..." key. A copy that fails verification is deleted again.
func copyBlob(ctx context.Context, src, dst storage.Store, fi storage.Info, dryRun bool) (bool, error) {
	have, err := dst.Stat(ctx, fi.Key)
	switch {
	case err == nil && have.Size == fi.Size:
		return false, nil
	case err != nil && !errors.Is(err, storage.ErrNotExist):
		return false, fmt.Errorf("destination: %w", err)
	}
	if dryRun {
		return true, nil
	}
	rc, info, err := src.Open(ctx, fi.Key)
	if err != nil {
		return false, fmt.Errorf("source: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	if err := dst.Put(ctx, fi.Key, io.TeeReader(rc, h), info.Size); err != nil {
		return false, fmt.Errorf("destination: %w", err)
	}
	srcSum := hex.EncodeToString(h.Sum(nil))
	verr := func() error {
		if want := contentAddress(fi.Key); want != "" && want != srcSum {
			return fmt.Errorf("the source blob is corrupt: sha256 %s, want %s (see pyindex fsck --verify-hashes)", srcSum, want)
		}
		got, _, err := hashBlob(ctx, dst, fi.Key)
		if err != nil {
			return fmt.Errorf("read back: %w", err)
		}
		if got != srcSum {
			return fmt.Errorf("copy reads back with sha256 %s, want %s", got, srcSum)
		}
		return nil
	}()
	if verr != nil {
		if err := dst.Delete(context.WithoutCancel(ctx), fi.Key); err != nil && !errors.Is(err, storage.ErrNotExist) {
			return false, fmt.Errorf("%w; deleting the bad copy failed too: %w", verr, err)
		}
		return false, verr
	}
	return true, nil
}

// contentAddress returns the digest a "sha256/ab/cd/<hex>" key (see
// storage.Key) promises, or "" for any other key.
func contentAddress(key string) string {
	hexsum := key[strings.LastIndexByte(key, '/')+1:]
	if storage.Key(hexsum) != key {
		return ""
	}
	return hexsum
}
