package httpx

import (
	"fmt"
	"strings"
	"testing"
)

func TestHeaderMemo(t *testing.T) {
	calls := 0
	m := NewHeaderMemo(func(s string) int { calls++; return len(s) })
	for range 3 {
		if got := m.Get("gzip, br"); got != 8 {
			t.Fatalf("Get = %d, want 8", got)
		}
	}
	if calls != 1 {
		t.Errorf("fn called %d times for one value, want 1", calls)
	}
	// Two clients in turn: each answer is its own.
	for range 3 {
		if a, b := m.Get("gzip"), m.Get("identity"); a != 4 || b != 8 {
			t.Fatalf("Get in turn = %d, %d, want 4, 8", a, b)
		}
	}

	// Past the bound, new values are computed each time and not kept.
	for i := range headerMemoMax + 10 {
		v := fmt.Sprint("v", i)
		if got := m.Get(v); got != len(v) {
			t.Fatalf("Get(%q) = %d", v, got)
		}
	}
	if n := m.n.Load(); n != headerMemoMax {
		t.Errorf("memo holds %d values, want at most %d", n, headerMemoMax)
	}
	calls = 0
	m.Get("v" + fmt.Sprint(headerMemoMax+5))
	m.Get("v" + fmt.Sprint(headerMemoMax+5))
	if calls != 2 {
		t.Errorf("a value past the bound was remembered (%d calls)", calls)
	}

	// A value too long to keep is still answered.
	long := strings.Repeat("a", headerMemoLongest+1)
	if got := NewHeaderMemo(func(s string) int { return len(s) }).Get(long); got != len(long) {
		t.Errorf("Get(long) = %d", got)
	}
}
