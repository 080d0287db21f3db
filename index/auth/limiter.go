package auth

import (
	"sync"
	"time"
)

// LoginLimiter slows down guessing: an address that failed to log in
// Limit times within Window is refused (429) until the window passes.
// Other addresses are not affected, and successes never count.
type LoginLimiter struct {
	Limit  int
	Window time.Duration

	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n     int
	start time.Time
}

// NewLoginLimiter returns a limiter; limit <= 0 disables it.
func NewLoginLimiter(limit int, window time.Duration) *LoginLimiter {
	return &LoginLimiter{Limit: limit, Window: window, m: map[string]*failures{}}
}

// Blocked reports whether addr is refused now, and for how long.
func (l *LoginLimiter) Blocked(addr string) (bool, time.Duration) {
	if l == nil || l.Limit <= 0 {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil {
		return false, 0
	}
	left := l.Window - time.Since(f.start)
	if left <= 0 {
		delete(l.m, addr)
		return false, 0
	}
	return f.n >= l.Limit, left
}

// Fail records a failed login from addr.
func (l *LoginLimiter) Fail(addr string) {
	if l == nil || l.Limit <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.m) > 100000 {
		for k, f := range l.m {
			if now.Sub(f.start) > l.Window {
				delete(l.m, k)
			}
		}
	}
	f := l.m[addr]
	if f == nil || now.Sub(f.start) > l.Window {
		f = &failures{start: now}
		l.m[addr] = f
	}
	f.n++
}
