//go:build unix

package sqlitewatch

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walStamp is a snapshot of the WAL-index header: equal stamps mean no
// commit happened in between.
type walStamp [3]uint64

// walHeader is the first copy of the WAL-index header, mapped read-only.
type walHeader struct{ words *[6]uint64 }

// stamp reads the header's iChange, mxFrame and checksum words.
func (h *walHeader) stamp() walStamp {
	return walStamp{
		atomic.LoadUint64(&h.words[1]), // iChange, isInit, bigEndCksum, szPage
		atomic.LoadUint64(&h.words[2]), // mxFrame, nPage
		atomic.LoadUint64(&h.words[5]), // aCksum: covers the whole header
	}
}

// mapWALHeader maps the catalog's WAL index (the "-shm" file) read-only.
// SQLite rewrites the header on every commit, by any connection of any
// process, before the commit returns: iChange counts the commits, mxFrame
// is the last frame and aCksum is a checksum of the header including the
// last frame's checksum (https://www.sqlite.org/walformat.html, "the
// wal-index header"). Reading them is a few memory loads, where PRAGMA
// data_version is a cgo call and a statement step; the watch reads
// them first and runs the pragma only when they moved. Taking all three
// rather than iChange alone means that even a header rebuilt after a
// crashed writer (which may restart iChange) cannot look unchanged. It
// returns nil (the cache then runs the pragma every time) when there is no
// usable WAL index.
//
// The mapping stays valid while this process has the database open: SQLite
// truncates or deletes the -shm file only when no connection uses it, and
// this one's connections do. Only equality is ever tested, so the byte
// order does not matter, and a torn read can only look like a change.
func mapWALHeader(dbPath string) (h *walHeader, unmap func()) {
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
	// The mapping is page-aligned, so the 8-byte words are aligned too.
	return &walHeader{words: (*[6]uint64)(unsafe.Pointer(&m[0]))}, func() { syscall.Munmap(m) }
}
