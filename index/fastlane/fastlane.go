// Package fastlane answers the hottest read requests (rendered simple
// pages, stored files) on a lean HTTP/1.1 loop in front of net/http, and
// hands every other connection to net/http untouched.
//
// Why: a cached page is a few hundred bytes of headers and a body already
// in memory, yet net/http plus echo spend about twice nginx's CPU on it
// (header maps built, cloned and sorted, a context and a middleware chain
// per request). The lane reads a request from the connection's buffer,
// asks Lookup for a reply, and writes status line, headers and body with
// one write (writev for a large body; sendfile for a file).
//
// It is deliberately narrow. A request is answered here only when it is a
// plain HTTP/1.1 (or 1.0) GET or HEAD with no body, no query and headers
// that fit the read buffer, and Lookup (which checks any credentials) has
// the answer at hand (or InProcess takes it). Anything else (a POST, a malformed
// request, an Upgrade) makes the lane hand the connection, with every byte
// it has read but not consumed, to the fallback http.Server, which then
// serves it for the rest of its life: one code path decides what is valid
// HTTP, and it is net/http's.
package fastlane

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Request is a request the lane may answer. Its strings are only valid
// during the Lookup and Done calls.
type Request struct {
	Method         string // GET or HEAD
	Proto          string // HTTP/1.1 or HTTP/1.0
	Path           string // the request path, no query
	Accept         string
	AcceptEncoding string
	IfNoneMatch    string
	UserAgent      string
	RequestID      string // the client's X-Request-Id, or a generated one
	ForwardedFor   string // X-Forwarded-For, for a server behind a proxy
	Authorization  string // credentials: Lookup must check them, and never log them
	RemoteAddr     string // the peer's address, "IP:port"
	// Conditional is set when the request has a Range, If-Range,
	// If-Match, If-Modified-Since or If-Unmodified-Since header: a file
	// reply must then be left to net/http (http.ServeContent).
	Conditional bool
	Start       time.Time
}

// Reply is Lookup's answer. Header lines are written in order after the
// status line, followed by Date, X-Request-Id and (when asked to close)
// Connection. Body, or else FileSize bytes of File, is not sent for HEAD
// or a 304; the lane closes File after the reply. Lookup sets
// Content-Length itself.
type Reply struct {
	Status   int
	Route    string // the route template, for metrics
	Header   []Field
	Body     []byte
	File     io.ReadCloser // sent with sendfile(2) when it is an *os.File
	FileSize int64
}

// Field is one response header line.
type Field struct{ Name, Value string }

// Reset empties r for reuse.
func (r *Reply) Reset() {
	r.Status, r.Route, r.Body, r.File, r.FileSize = 0, "", nil, nil, 0
	r.Header = r.Header[:0]
}

// Add appends a header line.
func (r *Reply) Add(name, value string) { r.Header = append(r.Header, Field{name, value}) }

// Server runs the lane on a listener, with Fallback serving what it hands
// over.
type Server struct {
	// Lookup fills in a reply and returns true, or returns false to hand
	// the connection to Fallback. It must not keep req's strings.
	Lookup func(req *Request, rep *Reply) bool
	// Done, if set, is called after each reply Lookup made (the access
	// log and the metrics), with the body bytes written.
	Done func(req *Request, rep *Reply, bytes int64)
	// Fallback serves every connection the lane hands over. Its
	// ReadHeaderTimeout and IdleTimeout apply in the lane too.
	Fallback *http.Server
	// WriteIdleTimeout cuts a reply whose client has accepted no bytes
	// for this long (0: never), on the lane's connections and on those it
	// hands to Fallback alike: the write deadline is moved on as long as
	// the client keeps reading, so a slow but moving client is never cut
	// and one that stopped reading is, between one and two timeouts after
	// its last byte (writeidle.go). Fallback's own WriteTimeout, a bound
	// on the whole reply, should stay 0.
	WriteIdleTimeout time.Duration
	// InProcess reports whether a request the lane parsed but Lookup
	// declined (a page not rendered yet) should still keep its
	// connection: Fallback.Handler then serves it in memory
	// (serveInProcess). Without it, such requests hand the connection
	// over too, and one cache miss would move a keep-alive connection
	// (a proxy's, say) out of the lane for good. Only routes whose
	// responses are small and not streamed belong here.
	InProcess func(path string) bool

	mu       sync.Mutex
	conns    map[*conn]struct{}
	ln       net.Listener
	handoff  *handoffListener
	shutdown atomic.Bool
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.ln = ln
	s.conns = make(map[*conn]struct{})
	s.handoff = newHandoffListener(ln.Addr())
	s.mu.Unlock()

	fallbackDone := make(chan error, 1)
	go func() { fallbackDone <- s.Fallback.Serve(s.handoff) }()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				<-fallbackDone
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				s.handoff.Close()
				<-fallbackDone
				return err
			}
			// Out of file descriptors, an aborted handshake: as net/http
			// does, back off and accept again.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := &conn{srv: s, nc: nc}
		if !s.track(c) {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// track adds c to the live connections, unless the server is shutting
// down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, closes idle lane connections, lets replies in
// progress finish, and shuts the fallback down gracefully (it waits for
// the requests it is serving), all within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown()
	errc := make(chan error, 1)
	go func() { errc <- s.Fallback.Shutdown(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.closeIdle() {
		select {
		case <-ctx.Done():
			<-errc
			return ctx.Err()
		case <-tick.C:
		}
	}
	return <-errc
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.beginShutdown()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return s.Fallback.Close()
}

func (s *Server) beginShutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
}

// closeIdle closes the lane connections waiting for a request and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// Connection states: a lane connection is idle while it waits for the
// first byte of a request, and active from then until its reply is out.
const (
	stateIdle int32 = iota
	stateActive
	stateClosed
)

// readBufSize bounds the request header the lane parses; a larger one is
// handed to net/http, which applies MaxHeaderBytes.
const readBufSize = 4096

// smallBody is the largest body copied into the write buffer; a larger
// one is written from where it is, with the headers, by one writev.
const smallBody = 16 << 10

type conn struct {
	srv   *Server
	nc    net.Conn
	state atomic.Int32
	br    *bufio.Reader
	wbuf  []byte // taken from writePool for one reply
	bufs  [2][]byte
	req   Request
	rep   Reply

	// readBy is the read deadline last set (zero: none), for the request
	// header being read: a connection handed over mid-header keeps it
	// (prefixConn).
	readBy time.Time
	// writeBy is at most the write deadline in force (zero: unknown);
	// writeFull and copyFrom only ever move it later.
	writeBy time.Time
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// writePool holds the buffers replies are built in (status line, headers
// and a small body), so that an idle connection keeps none.
var writePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (c *conn) takeWriteBuf() { c.wbuf = *writePool.Get().(*[]byte) }

func (c *conn) releaseWriteBuf() {
	if cap(c.wbuf) <= 64<<10 { // a rare huge header block is not kept
		b := c.wbuf[:0]
		writePool.Put(&b)
	}
	c.wbuf = nil
}

func (c *conn) serve() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	handedOff := false
	defer func() {
		// As net/http does: a panic in a lookup or an in-process handler
		// ends this connection, not the server.
		if r := recover(); r != nil && r != http.ErrAbortHandler {
			if l := c.srv.Fallback.ErrorLog; l != nil {
				l.Printf("fastlane: panic serving %s: %v\n%s", c.nc.RemoteAddr(), r, debug.Stack())
			}
			handedOff = false
		}
		c.srv.untrack(c)
		if !handedOff {
			c.nc.Close()
			c.br.Reset(nil)
			readerPool.Put(c.br)
		}
	}()
	fb := c.srv.Fallback
	remote := c.nc.RemoteAddr().String()
	for first := true; ; first = false {
		// Wait for a request: ReadHeaderTimeout for the first one,
		// IdleTimeout between requests (none when it is 0), as net/http
		// does without a ReadTimeout.
		wait := fb.ReadHeaderTimeout
		if !first {
			wait = fb.IdleTimeout
		}
		c.setReadDeadline(wait)
		if _, err := c.br.Peek(1); err != nil {
			return
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return // Shutdown closed it
		}
		start := time.Now()
		if !first && !c.headerBuffered() {
			c.setReadDeadline(fb.ReadHeaderTimeout)
		}
		h, closeAfter, ok, drop := c.readRequest(remote, start)
		var err error
		switch {
		case drop:
			return
		case !ok:
			handedOff = c.handOff()
			return
		case c.lookup():
			var written int64
			written, err = c.writeReply(closeAfter)
			if c.srv.Done != nil {
				c.srv.Done(&c.req, &c.rep, written)
			}
		case c.srv.InProcess != nil && c.srv.InProcess(c.req.Path):
			err = c.serveInProcess(h, closeAfter)
		default:
			handedOff = c.handOff()
			return
		}
		c.req = Request{}
		c.br.Discard(len(h))
		if err != nil || closeAfter {
			return
		}
		if !c.state.CompareAndSwap(stateActive, stateIdle) || c.srv.shutdown.Load() {
			return
		}
	}
}

// setReadDeadline makes the read deadline d from now (none for d <= 0).
// A deadline already set that is at most deadlineSlack(d) earlier is left
// as it is: moving a deadline takes the runtime's timer lock, twice a
// request on a busy keep-alive connection, for a timeout that may as well
// end a little early.
func (c *conn) setReadDeadline(d time.Duration) {
	if d <= 0 {
		if !c.readBy.IsZero() {
			c.readBy = time.Time{}
			c.nc.SetReadDeadline(c.readBy)
		}
		return
	}
	by := time.Now().Add(d)
	if !c.readBy.IsZero() && !c.readBy.After(by) && by.Sub(c.readBy) < deadlineSlack(d) {
		return
	}
	c.readBy = by
	c.nc.SetReadDeadline(by)
}

// armWrite makes sure the write deadline is about WriteIdleTimeout from
// now before a reply (as setReadDeadline, a slightly earlier one stays).
func (c *conn) armWrite(idle time.Duration) {
	by := time.Now().Add(idle)
	if !c.writeBy.IsZero() && by.Sub(c.writeBy) < deadlineSlack(idle) {
		return
	}
	c.writeBy = by
	c.nc.SetWriteDeadline(by)
}

// deadlineSlack is how much earlier than asked a deadline left in place
// may fall.
func deadlineSlack(d time.Duration) time.Duration { return min(d/16, time.Second) }

// headerBuffered reports whether the read buffer holds a whole request
// header (or one the lane will hand over at once, with a bare LF): the
// usual case, a request that came in one segment. It then needs no
// header deadline.
func (c *conn) headerBuffered() bool {
	buf, _ := c.br.Peek(c.br.Buffered())
	return headerEnd(buf) != 0
}

// handOff gives the connection, with its unread bytes, to the fallback.
// The time the request has taken so far counts: net/http's header
// deadline is brought forward to the lane's (prefixConn.SetReadDeadline),
// so a slow header gets one ReadHeaderTimeout in all, not one in the lane
// and another in net/http. It reports false when the server is shutting
// down and the connection was closed instead.
func (c *conn) handOff() bool {
	c.nc.SetWriteDeadline(time.Time{})
	pc := &prefixConn{Conn: c.nc, r: c.br, headerBy: c.readBy}
	if d := c.srv.WriteIdleTimeout; d > 0 {
		pc.Conn = &progressConn{Conn: c.nc, idle: d}
	}
	return c.srv.handoff.give(pc)
}

// readRequest parses the request at the head of the read buffer into
// c.req. It returns the header, whether the client asked to close after
// the reply, and false if the lane must not answer it (at once, without
// waiting for the rest, for a header with a bare LF or one larger than the
// buffer); drop when the connection failed or timed out before the header
// was complete (handing it over would give a slow client a second
// ReadHeaderTimeout).
func (c *conn) readRequest(remote string, start time.Time) (h string, closeAfter, ok, drop bool) {
	// Find the end of the header, reading more as long as it may fit.
	var buf []byte
	var n int
	for {
		buf, _ = c.br.Peek(c.br.Buffered())
		if n = headerEnd(buf); n > 0 {
			break
		}
		if n < 0 || c.br.Buffered() == readBufSize {
			// A bare LF (net/http reads those lines), or a header that
			// does not fit (net/http applies MaxHeaderBytes).
			return "", false, false, false
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return "", false, false, true
		}
	}
	// One string for the whole header: the fields below are substrings.
	h = string(buf[:n])
	closeAfter, ok = parseRequest(h, &c.req)
	if !ok {
		return "", false, false, false
	}
	c.req.RemoteAddr = remote
	c.req.Start = start
	return h, closeAfter, true, false
}

// lookup asks Lookup for a reply to c.req.
func (c *conn) lookup() bool {
	c.rep.Reset()
	if !c.srv.Lookup(&c.req, &c.rep) {
		return false
	}
	if c.req.RequestID == "" {
		c.req.RequestID = newRequestID()
	}
	return true
}

// writeReply writes c.rep and returns the body bytes written.
func (c *conn) writeReply(closeAfter bool) (int64, error) {
	rep, req := &c.rep, &c.req
	c.takeWriteBuf()
	defer c.releaseWriteBuf()
	b := appendStatusLine(c.wbuf[:0], req.Proto, rep.Status)
	for _, f := range rep.Header {
		b = appendField(b, f.Name, f.Value)
	}
	b = appendField(b, "Date", httpDate(req.Start))
	b = appendField(b, "X-Request-Id", req.RequestID)
	if closeAfter && req.Proto == "HTTP/1.1" {
		b = appendField(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	body, file := rep.Body, rep.File
	if req.Method == http.MethodHead || rep.Status == http.StatusNotModified || rep.Status == http.StatusNoContent {
		body, file = nil, nil
	}
	if rep.File != nil {
		defer rep.File.Close()
	}
	if file == nil {
		if err := c.send(b, body); err != nil {
			return 0, err
		}
		return int64(len(body)), nil
	}
	// Headers first, then the file: TCPConn.ReadFrom sends an *os.File
	// behind a LimitedReader with sendfile(2).
	c.wbuf = b[:0]
	idle := c.srv.WriteIdleTimeout
	if _, err := c.write(idle, b); err != nil {
		return 0, err
	}
	n, err := copyFrom(c.nc, idle, io.LimitReader(file, rep.FileSize))
	if err == nil && n < rep.FileSize {
		err = io.ErrUnexpectedEOF // the length sent was a lie: end the connection
	}
	return n, err
}

// send writes the status line and headers in b, then body: one write for
// a small body (copied after the headers), one writev for a large one. It
// keeps b's buffer, grown or not, for releaseWriteBuf.
func (c *conn) send(b, body []byte) error {
	var err error
	idle := c.srv.WriteIdleTimeout
	if len(body) <= smallBody {
		b = append(b, body...)
		_, err = c.write(idle, b)
	} else {
		c.bufs = [2][]byte{b, body}
		bufs := net.Buffers(c.bufs[:])
		err = c.writev(idle, &bufs)
		c.bufs = [2][]byte{}
	}
	c.wbuf = b[:0]
	return err
}

// write is writeFull with the first deadline from armWrite.
func (c *conn) write(idle time.Duration, p []byte) (int, error) {
	if idle <= 0 {
		return c.nc.Write(p)
	}
	c.armWrite(idle)
	n, err := c.nc.Write(p)
	if moving(err, int64(n)) {
		var m int
		m, err = writeFull(c.nc, idle, p[n:])
		n += m
	}
	return n, err
}

// writev is writeBuffers with the first deadline from armWrite.
func (c *conn) writev(idle time.Duration, bufs *net.Buffers) error {
	if idle > 0 {
		c.armWrite(idle)
	}
	n, err := bufs.WriteTo(c.nc)
	if idle > 0 && moving(err, n) {
		_, err = writeBuffers(c.nc, idle, bufs)
	}
	return err
}

func appendStatusLine(b []byte, proto string, status int) []byte {
	b = append(b, proto...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	return append(b, "\r\n"...)
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// headerEnd returns the length of the request header in buf (through the
// empty line), 0 if it is not all there, or -1 if a line of it ends with
// a bare LF: net/http accepts those (RFC 9112 lets a server), the lane
// does not parse them, and waiting for a CRLF CRLF that never comes would
// leave the client unanswered until the header timeout.
func headerEnd(buf []byte) int {
	for i, ch := range buf {
		if ch != '\n' {
			continue
		}
		if i == 0 || buf[i-1] != '\r' {
			return -1
		}
		if i >= 3 && buf[i-2] == '\n' && buf[i-3] == '\r' {
			return i + 1
		}
	}
	return 0
}

// The date header changes once a second; format it once a second.
type dateCache struct {
	unix  int64
	value string
}

var lastDate atomic.Pointer[dateCache]

func httpDate(t time.Time) string {
	sec := t.Unix()
	if d := lastDate.Load(); d != nil && d.unix == sec {
		return d.value
	}
	d := &dateCache{sec, t.UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.value
}

// prefixConn is a handed-over connection: reads drain the bytes the lane
// buffered before reaching the socket. Conn is a progressConn when the
// server has a WriteIdleTimeout.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
	// headerBy is the lane's deadline for the request header it was
	// reading (zero: none); headerSet, whether net/http has set its own.
	headerBy  time.Time
	headerSet atomic.Bool
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// SetReadDeadline brings the first deadline net/http sets, the one for
// the request header (from ReadHeaderTimeout), forward to the lane's, so
// that the time the header already took in the lane counts. The later
// ones (the body's, keep-alive waits) are net/http's own.
func (c *prefixConn) SetReadDeadline(t time.Time) error {
	if c.headerSet.CompareAndSwap(false, true) && !c.headerBy.IsZero() && (t.IsZero() || t.After(c.headerBy)) {
		t = c.headerBy
	}
	return c.Conn.SetReadDeadline(t)
}

// ReadFrom keeps the socket's sendfile/splice path: net/http copies file
// bodies through the connection's io.ReaderFrom when it has one.
func (c *prefixConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// CloseWrite lets net/http half-close the connection, as it does before
// closing one with a request body left unread.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

type writerOnly struct{ io.Writer }

// handoffListener is the fallback's listener: Accept returns the
// connections the lane gives it.
type handoffListener struct {
	addr   net.Addr
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
}

// give passes c to the fallback, or closes it if the fallback has shut
// down.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		c.Close()
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }
