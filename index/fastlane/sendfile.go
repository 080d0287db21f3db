package fastlane

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// sendFileAt sends body, whose bytes f holds, with sendfile(2) from f at
// explicit offsets: f's own offset is never used, so any number of replies
// may send from it at once. Writes are under progress deadlines (idle > 0)
// as writeFull's. A connection or file without a raw descriptor gets body
// written from memory.
func sendFileAt(nc net.Conn, idle time.Duration, f *os.File, body []byte) (int64, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		n, err := writeFull(nc, idle, body)
		return int64(n), err
	}
	out, err := sc.SyscallConn()
	if err != nil {
		n, err := writeFull(nc, idle, body)
		return int64(n), err
	}
	in, err := f.SyscallConn()
	if err != nil {
		n, err := writeFull(nc, idle, body)
		return int64(n), err
	}
	size := int64(len(body))
	var off int64
	for off < size {
		if idle > 0 {
			nc.SetWriteDeadline(time.Now().Add(idle))
		}
		before := off
		var serr error
		cerr := in.Control(func(infd uintptr) {
			werr := out.Write(func(outfd uintptr) bool {
				for off < size {
					n, e := syscall.Sendfile(int(outfd), int(infd), &off, int(min(size-off, 1<<30)))
					switch {
					case e == syscall.EINTR:
						continue
					case e == syscall.EAGAIN:
						return false // wait until the socket takes more
					case e != nil:
						serr = e
						return true
					case n == 0:
						serr = io.ErrUnexpectedEOF // the file is shorter than body
						return true
					}
				}
				return true
			})
			if serr == nil {
				serr = werr
			}
		})
		if serr == nil {
			serr = cerr
		}
		if serr == nil {
			continue
		}
		if idle > 0 && off > before && errors.Is(serr, os.ErrDeadlineExceeded) {
			continue // the client is still reading
		}
		return off, serr
	}
	return off, nil
}
