package scm_test

import (
	"testing"

	"github.com/pyindex/pyindex/upload/scm"
)

// TestBaseAfter: a clone without tags (t01) takes its base from the
// index's newest version, advanced by the version scheme.
func TestBaseAfter(t *testing.T) {
	for _, compat := range []scm.Compat{scm.Compat7, scm.Compat10} {
		r, err := describeCase(t, "t01", compat)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Tagless() {
			t.Fatalf("t01 at compat %d is not tagless", compat)
		}
		for _, tc := range []struct{ scheme, newest, want string }{
			{"guess-next-dev", "", "0.1"},
			{"guess-next-dev", "1.2.4.dev2", "1.2.4"},
			{"guess-next-dev", "1.2.4.dev2+g1234567", "1.2.4"},
			{"guess-next-dev", "1.2.3", "1.2.4"},
			{"guess-next-dev", "2.0rc1", "2.0rc2"},
			{"guess-next-dev", "1.2.3+build.5", "1.2.4"},
			{"no-guess-dev", "1.2.3", "1.2.3.post1"},
			{"no-guess-dev", "1.2.3.post1.dev4", "1.2.3.post1"},
			{"release-branch-semver", "1.2.3", "1.3.0"},
			{"python-simplified-semver", "1.2.3", "1.2.4"},
			// calver-by-date from a tag dated before today gives today's
			// date; one dated in the future would sort below it, so
			// guess-next-dev's bump takes over.
			{"calver-by-date", "9999.1.1", "9999.1.2"},
		} {
			got, err := r.WithSchemes([]string{tc.scheme}, []string{"no-local-version"}).BaseAfter(tc.newest)
			if err != nil || got != tc.want {
				t.Errorf("compat %d %s after %q: %q, %v; want %q", compat, tc.scheme, tc.newest, got, err, tc.want)
			}
		}
		if _, err := r.BaseAfter("not a version"); err == nil {
			t.Errorf("a bad newest version was accepted")
		}
	}
	r, err := describeCase(t, "t15", scm.Compat10)
	if err != nil || r.Tagless() {
		t.Fatalf("t15 (tag 1.2.3) is tagless: %v", err)
	}
}
