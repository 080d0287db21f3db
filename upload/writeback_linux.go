package upload

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how many written bytes start the disk writing them.
const writebackEvery = 8 << 20

// writeback wraps a temp file and asks the kernel to start writing each
// 8 MiB to disk as soon as it has been written (sync_file_range with
// SYNC_FILE_RANGE_WRITE, which does not wait). The fsync that makes the
// upload durable then waits for the last few megabytes only, instead of
// the whole file: for a 1 GiB wheel the disk works while the hashes run.
type writeback struct {
	f     *os.File
	off   int64 // bytes written
	start int64 // first byte not yet handed to writeback
}

func newWriteback(f *os.File) *writeback { return &writeback{f: f} }

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.start >= writebackEvery {
		// Advisory: a failure here changes nothing, the fsync still runs.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.start, w.off-w.start, unix.SYNC_FILE_RANGE_WRITE)
		w.start = w.off
	}
	return n, err
}
