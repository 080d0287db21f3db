package upload

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
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
