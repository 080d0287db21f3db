package upload

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/storage"
)

// limit caps the number of uploads in progress: beyond MaxConcurrent a
// client gets 503 with Retry-After at once (twine retries 5xx), instead of
// every upload slowing down and holding temp space. A nil semaphore means
// no cap.
func (s *Service) limit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.slots == nil {
			return next(c)
		}
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
			return next(c)
		default:
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
			return httpError(c, &busyError{limit: cap(s.slots)})
		}
	}
}

func slots(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

const retryAfter = 5

// idleBody makes a request body fail when the client sends nothing for
// timeout, so that a stalled or deliberately slow client cannot hold an
// upload slot and a connection for ever. Each successful read extends the
// deadline; a large upload at a steady pace is never cut.
type idleBody struct {
	r       io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	ok      bool // the connection supports read deadlines
}

func newIdleBody(w http.ResponseWriter, r io.ReadCloser, timeout time.Duration) io.ReadCloser {
	if timeout <= 0 {
		return r
	}
	rc := http.NewResponseController(w)
	b := &idleBody{r: r, rc: rc, timeout: timeout, ok: true}
	if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		b.ok = false
	}
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 && b.ok {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
	if err != nil && isTimeout(err) {
		return n, errBodyTimeout
	}
	return n, err
}

func (b *idleBody) Close() error {
	if b.ok {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return b.r.Close()
}

var errBodyTimeout = errors.New("the client sent no data for too long")

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// watchBody puts an upload's body r under upload.min_rate (rateBody),
// which frees the slot of a client too slow to be real, and keeps it for
// bodyFailure. It must wrap the body only once the upload is going to be
// read: net/http answers early replies to a request whose body is its
// own (not wrapped) without first reading the rest of it.
func (s *Service) watchBody(c echo.Context, r io.ReadCloser) io.ReadCloser {
	b := &rateBody{r: r, w: c.Response(), rate: s.cfg.MinRate, window: s.cfg.RateWindow}
	c.Set(bodyKey, b)
	return b
}

// bodyKey is the echo context key of an upload's rateBody.
const bodyKey = "upload.body"

// bodyFailure is the error of an upload whose body could not be read:
// the body's own failure (too slow, or a stall) when it had one, whatever
// the multipart parser made of it (a read error in the middle of a part's
// header line comes out of textproto as a malformed header), else err.
func bodyFailure(c echo.Context, err error) error {
	if b, _ := c.Get(bodyKey).(*rateBody); b != nil && b.failed != nil {
		return b.failed
	}
	return err
}

// rateBody fails a request body that arrives slower than rate bytes a
// second on average over a window (upload.min_rate, upload.rate_window;
// rate 0: no minimum), and remembers why the body failed (bodyFailure).
// Windows follow each other from the first read; a window is judged when
// data arrives after its end, so a client sending nothing at all is
// body_timeout's (idleBody's) to cut. The server's own pauses in reading
// cost the client nothing: what it sent meanwhile waits in the socket
// and counts when read.
//
// A body that fails is read no further, by anyone: the reply closes the
// connection, whose reads fail from then on (net/http would otherwise
// read up to 256 KiB of the rest, at the client's pace, before answering
// or closing).
type rateBody struct {
	r      io.ReadCloser
	w      http.ResponseWriter
	rate   storage.Size // bytes a second
	window time.Duration
	start  time.Time // of the current window; zero before the first read
	got    int64     // bytes read in the current window
	failed error     // a *slowError, or errBodyTimeout
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.failed != nil {
		return 0, b.failed
	}
	// The window starts with the first read, not with the request: the
	// server may answer 100-continue first, or be slow to start reading.
	now := time.Now()
	if b.start.IsZero() {
		b.start = now
	}
	n, err := b.r.Read(p)
	if err != nil && isTimeout(err) {
		b.failed = errBodyTimeout // idleBody's deadline
	}
	b.got += int64(n)
	if now = time.Now(); b.rate > 0 && now.Sub(b.start) >= b.window {
		if float64(b.got) < float64(b.rate)*now.Sub(b.start).Seconds() {
			b.w.Header().Set("Connection", "close")
			_ = http.NewResponseController(b.w).SetReadDeadline(now) // ErrNotSupported in tests without a connection
			b.failed = &slowError{rate: b.rate, window: b.window}
			return 0, b.failed
		}
		b.start, b.got = now, 0
	}
	return n, err
}

func (b *rateBody) Close() error { return b.r.Close() }

// slowError is the error of an upload slower than upload.min_rate. It
// matches errBodyTimeout: a body that failed for taking too long.
type slowError struct {
	rate   storage.Size
	window time.Duration
}

func (e *slowError) Error() string {
	return fmt.Sprintf("The upload is too slow: under %s a second over %s (upload.min_rate)", e.rate, e.window)
}

func (e *slowError) Is(target error) bool { return target == errBodyTimeout }
