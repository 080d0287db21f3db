//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockData takes the lock of a data folder: shared for a server (several
// may serve one folder), exclusive for a command that replaces the catalog
// (restore), which must not run under a server that has the old catalog
// open. The kernel drops the lock when the process ends, however it ends.
// ErrDataInUse reports an exclusive lock refused.
func lockData(dir string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "pyindex.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data folder lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errDataInUse
		}
		return nil, fmt.Errorf("data folder lock: %w", err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
