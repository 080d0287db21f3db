//go:build unix

package index

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walChangeCounter maps the catalog's WAL index (the "-shm" file) read-only
// and returns a pointer to the iChange field of its header: SQLite adds one
// to it on every commit, by any connection of any process, before the
// commit returns (https://www.sqlite.org/walformat.html, "the wal-index
// header"). Reading it is a memory load, where PRAGMA data_version is a cgo
// call and a statement step; the serial cache reads it first and runs the
// pragma only when it moved. It returns nil (the cache then runs the pragma
// every time) when there is no usable WAL index.
//
// The mapping stays valid while this process has the database open: SQLite
// truncates or deletes the -shm file only when no connection uses it, and
// this one's connections do. Only equality is ever tested, so the byte order
// does not matter, and a torn read can only look like a change.
func walChangeCounter(dbPath string) (counter *uint32, unmap func()) {
	f, err := os.Open(dbPath + "-shm")
	if err != nil {
		return nil, nil
	}
	defer f.Close()  // the mapping outlives the descriptor
	const size = 136 // two copies of the 48-byte header and the checkpoint info
	if st, err := f.Stat(); err != nil || st.Size() < size {
		return nil, nil
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil
	}
	// Header copy 0: iVersion u32, unused u32, iChange u32, ...
	return (*uint32)(unsafe.Pointer(&m[8])), func() { syscall.Munmap(m) }
}

func loadCounter(p *uint32) uint32 { return atomic.LoadUint32(p) }
