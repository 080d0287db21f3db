package mirror

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/storage"
)

// How a server waits for a file another server is fetching.
const (
	// leaseWaitFirst is the first pause between looks at the catalog,
	// doubled after each look up to leaseWaitMax.
	leaseWaitFirst = 25 * time.Millisecond
	leaseWaitMax   = time.Second
)

// fileLeaseName is the name of the lease under which one server at a time
// fetches a file of a project from the upstream.
func fileLeaseName(project, filename string) string { return "mirror:" + project + "/" + filename }

// fetchLeased is fetchFile done once among the servers sharing the
// catalog (several replicas, the CLI's mirror sync): the one that takes
// the file's lease in the catalog fetches it, streaming to its own
// requesters through sp as fetchFile does, and renews the lease while the
// download runs; every other one waits, without touching sp, until the
// file is recorded with its blob in the store (verified by the holder
// before it was stored, as every cached file is), and returns that. When
// the holder dies its lease runs out and a waiter takes it over and
// fetches the file itself.
//
// A waiter never serves anything partial: it returns only a recorded file
// or an error, a 504 once ctx ends (the download's mirror.file_timeout;
// Close gives a 503).
func (m *Mirror) fetchLeased(ctx context.Context, project string, f index.MirrorFile, sp *spool) (index.MirrorFile, error) {
	lease := m.cat.Lease(fileLeaseName(project, f.Filename), m.holder, m.leaseTerm)
	waited := false
	for wait := leaseWaitFirst; ; wait = min(2*wait, leaseWaitMax) {
		ok, err := lease.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return f, m.waitEnded(ctx, f.Filename)
			}
			return f, err
		}
		if ok {
			break
		}
		if !waited {
			waited = true
			m.log.Info("another server is fetching this file from the upstream; waiting for it", "project", project, "file", f.Filename)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return f, m.waitEnded(ctx, f.Filename)
		case <-t.C:
		}
		if cf, ok, err := m.storedCopy(ctx, project, f.Filename); err != nil || ok {
			if err != nil && ctx.Err() != nil {
				err = m.waitEnded(ctx, f.Filename)
			}
			return cf, err
		}
	}
	defer func() {
		// Released even when ctx has ended (Close, the timeout): the
		// next server need not wait for the term to run out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			m.log.Warn("releasing a mirror file's lease", "lease", lease.Name(), "err", err)
		}
	}()
	// The holder before may have finished between the last look and the
	// lease: then there is nothing to fetch.
	if cf, ok, err := m.storedCopy(ctx, project, f.Filename); err != nil || ok {
		return cf, err
	}
	stop := m.renewWhile(ctx, lease)
	defer stop()
	return m.fetchFile(ctx, project, f, sp)
}

// renewWhile renews lease every third of its term until the returned
// function is called (which waits for the renewing to end). A lost lease
// (renewals that failed until it ran out, and another server took it) is
// logged; the download goes on, since clients stream from it, and the
// other server's copy is the same content-addressed blob.
func (m *Mirror) renewWhile(ctx context.Context, lease *index.Lease) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(lease.Term()/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if ok, err := lease.Renew(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("renewing a mirror file's lease", "lease", lease.Name(), "err", err)
			} else if err == nil && !ok {
				m.log.Warn("a mirror file's lease passed to another server during the download", "lease", lease.Name())
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// storedCopy reads the catalog's row of a file and reports whether it is
// cached: recorded with a blob that the store has.
func (m *Mirror) storedCopy(ctx context.Context, project, filename string) (index.MirrorFile, bool, error) {
	cf, err := m.cat.MirrorFile(ctx, project, filename)
	if err != nil || cf.BlobKey == "" {
		if errors.Is(err, index.ErrNotFound) {
			// The page no longer lists it (a refresh dropped it).
			return cf, false, index.Errorf(index.ErrNotFound, "%s is no longer on its project's page", filename)
		}
		return cf, false, err
	}
	if _, err := m.store.Stat(ctx, cf.BlobKey); errors.Is(err, storage.ErrNotExist) {
		return cf, false, nil
	} else if err != nil {
		return cf, false, err
	}
	return cf, true, nil
}

// waitEnded is the error of a wait for another server's download that ctx
// ended: 504 when the download's time ran out, 503 when this server is
// stopping.
func (m *Mirror) waitEnded(ctx context.Context, filename string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &index.UpstreamError{Status: http.StatusGatewayTimeout,
			Msg: "another server of this index has been fetching " + filename + " from the upstream for longer than mirror.file_timeout; try again later",
			Err: ctx.Err()}
	}
	return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: "the server is stopping; try again", Err: ctx.Err()}
}
