package fastlane

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Progress-based write deadlines (Server.WriteIdleTimeout).
//
// net/http's WriteTimeout bounds a whole reply, which would cut a large
// file to a slow but honest client; without one, a client that asks for
// a large file and never reads holds its connection, its goroutine and the
// open file for ever. Here a write gets a deadline idle ahead, and when it
// runs into it having sent some bytes (the client is still reading) it
// goes on with a new one; only a write that sent nothing for a whole
// period fails, with os.ErrDeadlineExceeded. A stalled client is so cut
// between one and two periods after the last byte it accepted.

// writeFull writes p to nc, under a progress deadline when idle > 0.
func writeFull(nc net.Conn, idle time.Duration, p []byte) (int, error) {
	if idle <= 0 {
		return nc.Write(p)
	}
	n := 0
	for {
		nc.SetWriteDeadline(time.Now().Add(idle))
		m, err := nc.Write(p[n:])
		n += m
		if !moving(err, int64(m)) {
			return n, err
		}
	}
}

// writeBuffers writes bufs to nc with one writev (net.Buffers consumes
// what was written, so a resumed write goes on where it stopped).
func writeBuffers(nc net.Conn, idle time.Duration, bufs *net.Buffers) (int64, error) {
	var n int64
	for {
		if idle > 0 {
			nc.SetWriteDeadline(time.Now().Add(idle))
		}
		m, err := bufs.WriteTo(nc)
		n += m
		if idle <= 0 || !moving(err, m) {
			return n, err
		}
	}
}

// copyFrom copies r to nc, with sendfile(2) when r is an *os.File (or an
// io.LimitedReader of one) and nc a TCP connection. A sendfile that ran
// into its deadline has sent exactly what it read (the file's offset says
// so), so it is resumed; any other reader goes through writeFull, which
// never loses a byte it was given.
func copyFrom(nc net.Conn, idle time.Duration, r io.Reader) (int64, error) {
	rf, ok := nc.(io.ReaderFrom)
	if !ok {
		return io.Copy(progressWriter{nc, idle}, r)
	}
	if idle <= 0 {
		return rf.ReadFrom(r)
	}
	f, _ := r.(*os.File)
	if lr, ok := r.(*io.LimitedReader); ok {
		f, _ = lr.R.(*os.File)
	}
	if f == nil {
		return io.Copy(progressWriter{nc, idle}, r)
	}
	var n int64
	for {
		pos, perr := f.Seek(0, io.SeekCurrent)
		nc.SetWriteDeadline(time.Now().Add(idle))
		m, err := rf.ReadFrom(r)
		n += m
		if perr != nil || !moving(err, m) {
			return n, err
		}
		if now, serr := f.Seek(0, io.SeekCurrent); serr != nil || now != pos+m {
			return n, err // read more than was sent (no sendfile): cannot resume
		}
	}
}

// moving reports whether a write that sent n bytes and failed with err
// only ran into its deadline while the client was still reading.
func moving(err error, n int64) bool {
	return err != nil && n > 0 && errors.Is(err, os.ErrDeadlineExceeded)
}

// progressWriter is writeFull as an io.Writer (and deliberately not an
// io.ReaderFrom).
type progressWriter struct {
	nc   net.Conn
	idle time.Duration
}

func (w progressWriter) Write(p []byte) (int, error) { return writeFull(w.nc, w.idle, p) }

// progressConn is a connection net/http serves with progress deadlines
// on its writes: every byte net/http writes goes through Write or
// ReadFrom (its file replies).
type progressConn struct {
	net.Conn
	idle time.Duration
}

func (c *progressConn) Write(p []byte) (int, error) { return writeFull(c.Conn, c.idle, p) }

func (c *progressConn) ReadFrom(r io.Reader) (int64, error) { return copyFrom(c.Conn, c.idle, r) }

// CloseWrite lets net/http half-close the connection.
func (c *progressConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// WriteIdleListener returns ln with every connection it accepts under
// progress deadlines on its writes, as Server.WriteIdleTimeout: for a
// plain http.Server, without the lane in front (whose Server does it
// itself). With idle 0 it returns ln.
func WriteIdleListener(ln net.Listener, idle time.Duration) net.Listener {
	if idle <= 0 {
		return ln
	}
	return &idleListener{Listener: ln, idle: idle}
}

type idleListener struct {
	net.Listener
	idle time.Duration
}

func (l *idleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &progressConn{Conn: c, idle: l.idle}, nil
}
