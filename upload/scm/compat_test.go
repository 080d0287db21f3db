package scm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyindex/pyindex/upload/scm"
	"github.com/pyindex/pyindex/upload/scm/scmtest"
)

var compats = []scm.Compat{scm.Compat7, scm.Compat8, scm.Compat9, scm.Compat10}

// checkMeasured compares a result with a cell of scm-versions.md's tables,
// which write errors as "ERR: Assertion", "ERR: not numeric", …
func checkMeasured(got string, err error, want string) error {
	if !strings.HasPrefix(want, "ERR: ") {
		if err != nil {
			return fmt.Errorf("error %v, want %q", err, want)
		}
		if got != want {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	}
	kinds := map[string][]error{
		"ERR: Assertion":                      {scm.ErrBadTag, scm.ErrUnknownScheme},
		"ERR: not numeric":                    {scm.ErrScheme},
		"ERR: InvalidVersion":                 {scm.ErrInvalidVersion},
		"ERR: ValueError (tag not a version)": {scm.ErrBadTag},
	}[want]
	if kinds == nil {
		return fmt.Errorf("unknown error cell %q", want)
	}
	if err == nil {
		return fmt.Errorf("got %q, want %s", got, want)
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return nil
		}
	}
	return fmt.Errorf("error %q, want %s", err, want)
}

// describeCase returns Describe's result for an oracle case at a compat
// level. Results are shared by every test in the binary: git's answer does
// not depend on the schemes, and the clock is pinned to testNow.
func describeCase(t *testing.T, name string, compat scm.Compat) (*scm.Result, error) {
	t.Helper()
	c, ok := repos.Cases[name]
	if !ok {
		t.Fatalf("no oracle case %s", name)
	}
	v, _ := described.LoadOrStore(fmt.Sprintf("%s/%d", name, compat), &describedEntry{})
	e := v.(*describedEntry)
	e.once.Do(func() {
		e.r, e.err = scm.Describe(context.Background(), caseOptions(t, c, compat, testNow))
	})
	return e.r, e.err
}

type describedEntry struct {
	once sync.Once
	r    *scm.Result
	err  error
}

var described sync.Map

func format(r *scm.Result, err error, vs, ls string) (string, error) {
	if err != nil {
		return "", err
	}
	return r.WithSchemes([]string{vs}, []string{ls}).Format()
}

// measuredWant adjusts a measured cell for the day the test runs (t04's
// calver value uses today) and for Debian's patch (t35's 7.1 cells are
// Debian's; upstream 7.1 fails there, and so does Describe by default, see
// debianOnly).
func measuredWant(m measured, i int, now time.Time) string {
	want := m.want[i]
	if m.caseName == "t35" && compats[i] == scm.Compat7 {
		return "ERR: Assertion"
	}
	if m.caseName == "t04" && m.versionScheme == scm.CalverByDate {
		if compats[i] == scm.Compat7 {
			return expected(scmtest.Row{Case: "t04", VersionScheme: scm.CalverByDate, Version: want}, now)
		}
		// 8+: no commit, so HEAD's date is today in UTC; the non-date tag
		// gets patch 0 (8.x compares with SOURCE_DATE_EPOCH's day, 9+
		// always uses 0).
		u := now.UTC()
		return calverDayRe.ReplaceAllString(want, fmt.Sprintf("%d.%d.%d.0.dev0", u.Year()%100, int(u.Month()), u.Day()))
	}
	return want
}

// TestMeasuredExamples checks every measured example of scm-versions.md
// §8.2 and §8.3 at all four compat levels.
func TestMeasuredExamples(t *testing.T) {
	t.Parallel()
	for _, m := range measuredRows {
		for i, compat := range compats {
			r, err := describeCase(t, m.caseName, compat)
			got, err := format(r, err, m.versionScheme, m.localScheme)
			if e := checkMeasured(got, err, measuredWant(m, i, testNow)); e != nil {
				t.Errorf("%s %s/%s compat %d: %v", m.caseName, m.versionScheme, m.localScheme, compat, e)
			}
		}
	}
}

// TestCompatSweep applies the spec's summary to the whole 7.1 oracle: for
// 8.3.1, 9.2.2 and 10.2.1 every row equals 7.1.0's except for the node
// length (g+7 up to 8, g+9 from 9; t37's custom describe command keeps
// git's abbreviation) and the measured differences of §8.3. Rows of a
// (case, version scheme) pair listed in §8.3 are compared there, for
// node-and-date only, since only that was measured; only-version did not
// exist in 7.1, so its column is compared where it was measured (§8.3 and
// TestOnlyVersion).
func TestCompatSweep(t *testing.T) {
	t.Parallel()
	rows, err := scmtest.ReadTSV(oracleTSV)
	if err != nil {
		t.Fatal(err)
	}
	differs := map[string]bool{}
	for _, m := range measuredRows {
		differs[m.caseName+"/"+m.versionScheme] = true
	}
	for _, compat := range compats[1:] {
		t.Run(fmt.Sprint(compat), func(t *testing.T) {
			t.Parallel()
			compared := 0
			for _, row := range rows {
				if differs[row.Case+"/"+row.VersionScheme] || row.VersionScheme == scm.OnlyVersion {
					continue
				}
				want := expected(row, testNow)
				if compat >= scm.Compat9 && row.Case != "t37" && len(row.Head) >= 9 {
					want = strings.ReplaceAll(want, "+g"+row.Head[:7], "+g"+row.Head[:9])
				}
				r, err := describeCase(t, row.Case, compat)
				got, err := format(r, err, row.VersionScheme, row.LocalScheme)
				if e := check(got, err, want); e != nil {
					t.Errorf("line %d %s %s/%s: %v", row.Line, row.Case, row.VersionScheme, row.LocalScheme, e)
				}
				compared++
			}
			t.Logf("compared %d rows", compared)
			if compared < 1400 {
				t.Errorf("compared only %d rows", compared)
			}
		})
	}
}

// TestProseExamples checks the examples given in the text of
// scm-versions.md rather than in its tables.
func TestProseExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		caseName, vs, ls string
		compat           scm.Compat
		want             string
	}{
		// §1.3: a custom describe command keeps git's abbreviation in 9+.
		{"t37", scm.GuessNextDev, scm.NodeAndDate, scm.Compat9, "1.0.1.dev2+g594b2a1"},
		{"t37", scm.GuessNextDev, scm.NodeAndDate, scm.Compat10, "1.0.1.dev2+g594b2a1"},
		// §1.3: the same commit, g+7 in 7/8 and g+9 in 9/10.
		{"t41", scm.GuessNextDev, scm.NodeAndDate, scm.Compat8, "1.0.1.dev1+g4d2ce38"},
		{"t41", scm.GuessNextDev, scm.NodeAndDate, scm.Compat10, "1.0.1.dev1+g4d2ce3816"},
		// §1.5: shallow clones.
		{"t58", scm.GuessNextDev, scm.NodeAndDate, scm.Compat7, "0.1.dev1+g594b2a1"},
		{"t58", scm.GuessNextDev, scm.NodeAndDate, scm.Compat10, "0.1.dev1+g594b2a123"},
		{"t59", scm.GuessNextDev, scm.NoLocalVersion, scm.Compat10, "1.0.1.dev2"},
		{"t60", scm.GuessNextDev, scm.NodeAndDate, scm.Compat10, "1.0.0"},
		// §3: only-version, measured with 8.3.
		{"t15", scm.OnlyVersion, scm.NodeAndDate, scm.Compat8, "1.2.3+g594b2a1"},
		{"t16", scm.OnlyVersion, scm.NodeAndDate, scm.Compat8, "1.2.3+g594b2a1.d20240620"},
		{"t15", scm.OnlyVersion, scm.NodeAndDate, scm.Compat7, "ERR: Assertion"},
		// §3: 10.x names.
		{"t52", scm.SemverPEP440, scm.NoLocalVersion, scm.Compat10, "1.3.0.dev1"},
		{"t48", scm.SemverPEP440Release, scm.NoLocalVersion, scm.Compat10, "1.2.1.dev2"},
		{"t48", scm.SemverPEP440Release, scm.NoLocalVersion, scm.Compat9, "ERR: Assertion"},
		// §3 calver-by-date, identical in every release.
		{"t61", scm.CalverByDate, scm.NoLocalVersion, scm.Compat10, "2024.3.1.1.dev2"},
		{"t63", scm.CalverByDate, scm.NoLocalVersion, scm.Compat10, "24.3.5.0.dev1"},
		{"t65", scm.CalverByDate, scm.NoLocalVersion, scm.Compat8, "2024.3.5.0.dev1"},
		{"t67", scm.CalverByDate, scm.NodeAndDate, scm.Compat7, "2024.03.07+geb71511"},
		{"t67", scm.CalverByDate, scm.NodeAndDate, scm.Compat10, "2024.03.07+geb71511af"},
	} {
		r, err := describeCase(t, tc.caseName, tc.compat)
		got, err := format(r, err, tc.vs, tc.ls)
		if e := checkMeasured(got, err, tc.want); e != nil {
			t.Errorf("%s %s/%s compat %d: %v", tc.caseName, tc.vs, tc.ls, tc.compat, e)
		}
	}
}

// TestEmptyRepoDirty checks §1.4: with no commit, 7.x asks git status
// (clean here) while 8+ forces dirty.
func TestEmptyRepoDirty(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("git", "init", "-q", "-b", "main", dir)
	cmd.Env = repos.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	for compat, want := range map[scm.Compat]string{
		scm.Compat7:  "0.1.dev0",
		scm.Compat8:  "0.1.dev0+d20240620",
		scm.Compat10: "0.1.dev0+d20240620",
	} {
		got, err := scm.Version(context.Background(), scm.Options{Root: dir, Compat: compat, Env: repos.Env()})
		if err != nil || got != want {
			t.Errorf("compat %d: got %q, %v; want %q", compat, got, err, want)
		}
	}
}

// TestPretendForDist checks the _FOR_<DIST> name rules of §6.1.
func TestPretendForDist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		compat   scm.Compat
		dist     string
		env      []string
		want     string
		wantKind error
	}{
		{scm.Compat7, "my.pkg", []string{"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY.PKG=5.0"}, "5.0", nil},
		{scm.Compat8, "my.pkg", []string{"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG=5.0"}, "5.0", nil},
		{scm.Compat8, "My__Pkg-x", []string{"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MY_PKG_X=5.0"}, "5.0", nil},
		{scm.Compat10, "x", []string{"SETUPTOOLS_SCM_PRETEND_VERSION=1.0-final"}, "", scm.ErrInvalidVersion},
		{scm.Compat8, "x", []string{"SETUPTOOLS_SCM_PRETEND_VERSION=1.0-final"}, "1.0-final", nil},
		// An empty named variable hides the generic one; an empty value
		// counts as unset, so the plain directory has no version.
		{scm.Compat10, "x", []string{"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_X=", "SETUPTOOLS_SCM_PRETEND_VERSION=2.0"}, "", scm.ErrNoVersion},
	} {
		got, err := scm.Version(context.Background(), scm.Options{Root: dir, Compat: tc.compat, DistName: tc.dist, Env: tc.env})
		switch {
		case tc.wantKind != nil && !errors.Is(err, tc.wantKind):
			t.Errorf("compat %d %s %v: got %q, %v; want %v", tc.compat, tc.dist, tc.env, got, err, tc.wantKind)
		case tc.wantKind == nil && (err != nil || got != tc.want):
			t.Errorf("compat %d %s %v: got %q, %v; want %q", tc.compat, tc.dist, tc.env, got, err, tc.want)
		}
	}
}
