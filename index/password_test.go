package index_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestPasswordLength: bcrypt reads only the first 72 bytes of a password,
// so a longer one is refused wherever a password is set, and never
// verifies: a stored 72-byte password followed by anything must not log in.
func TestPasswordLength(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	pw72 := strings.Repeat("p", 71) + "!"
	if _, err := cat.AddUser(ctx, "alice", pw72, false, "test"); err != nil {
		t.Fatalf("a 72-byte password: %v", err)
	}
	euro24, euro25 := strings.Repeat("€", 24), strings.Repeat("€", 25) // 72 and 75 bytes
	if _, err := cat.AddUser(ctx, "carol", euro24, false, "test"); err != nil {
		t.Fatalf("24 three-byte characters: %v", err)
	}

	t.Run("refused when set", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			set  func() error
		}{
			{"add 73 bytes", func() error { _, err := cat.AddUser(ctx, "bob", pw72+"x", false, "test"); return err }},
			{"add 75 bytes in 25 characters", func() error { _, err := cat.AddUser(ctx, "bob", euro25, false, "test"); return err }},
			{"passwd 73 bytes", func() error { return cat.SetPassword(ctx, "alice", pw72+"x", "test") }},
		} {
			err := tc.set()
			if !errors.Is(err, index.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
				continue
			}
			var ie *index.Error
			if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "at most 72 bytes") {
				t.Errorf("%s: message %q does not give the limit", tc.name, err)
			}
		}
		if _, err := cat.GetUser(ctx, "bob"); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("a refused user was created: %v", err)
		}
		if _, err := cat.CheckPassword(ctx, "alice", pw72); err != nil {
			t.Errorf("a refused passwd changed the password: %v", err)
		}
	})

	t.Run("longer candidates never verify", func(t *testing.T) {
		for _, tc := range []struct{ user, pw string }{
			{"alice", pw72 + "x"},
			{"alice", pw72 + strings.Repeat("any suffix", 100)},
			{"carol", euro24 + "€"},
			{"nobody", pw72 + "x"},
		} {
			if _, err := cat.CheckPassword(ctx, tc.user, tc.pw); !errors.Is(err, index.ErrBadCredentials) {
				t.Errorf("CheckPassword(%s, %d bytes) = %v, want ErrBadCredentials", tc.user, len(tc.pw), err)
			}
			if _, err := cat.CheckPasswordCached(ctx, tc.user, tc.pw); !errors.Is(err, index.ErrNotCached) {
				t.Errorf("CheckPasswordCached(%s, %d bytes) = %v, want ErrNotCached", tc.user, len(tc.pw), err)
			}
		}
		// The 72-byte passwords themselves still work (and are cached).
		for _, tc := range []struct{ user, pw string }{{"alice", pw72}, {"carol", euro24}} {
			if _, err := cat.CheckPassword(ctx, tc.user, tc.pw); err != nil {
				t.Errorf("CheckPassword(%s) = %v", tc.user, err)
			}
			if _, err := cat.CheckPassword(ctx, tc.user, tc.pw+"x"); !errors.Is(err, index.ErrBadCredentials) {
				t.Errorf("after a good login, %s's password plus a suffix: %v", tc.user, err)
			}
		}
	})
}

// TestConcurrentChecksShareOneComparison: the same credentials checked
// by many requests at once (a CI fleet's first uploads to a server just
// started) cost one bcrypt comparison, not one each, and every request
// gets the right answer, a wrong password included.
func TestConcurrentChecksShareOneComparison(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	if _, err := cat.AddUser(ctx, "ci", "s3cret-pass", false, "test"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	entered, release := make(chan struct{}, 64), make(chan struct{})
	defer index.HookCompareHash(func() {
		mu.Lock()
		calls++
		mu.Unlock()
		entered <- struct{}{}
		<-release
	})()

	for _, tc := range []struct {
		password string
		ok       bool
	}{{"s3cret-pass", true}, {"wrong-pass", false}} {
		mu.Lock()
		calls = 0
		mu.Unlock()
		const n = 16
		errs := make(chan error, n)
		check := func() { _, err := cat.CheckPassword(ctx, "ci", tc.password); errs <- err }
		go check()
		<-entered // one comparison runs; the others come while it does
		for range n - 1 {
			go check()
		}
		time.Sleep(200 * time.Millisecond) // let them reach it
		close(release)
		for range n {
			if err := <-errs; (err == nil) != tc.ok {
				t.Errorf("%s: CheckPassword = %v, want ok %v", tc.password, err, tc.ok)
			}
		}
		release = make(chan struct{})
		mu.Lock()
		if calls >= n {
			t.Errorf("%s: %d comparisons for %d concurrent checks, want them shared", tc.password, calls, n)
		}
		mu.Unlock()
	}
}
