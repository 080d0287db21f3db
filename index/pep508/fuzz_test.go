package pep508_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/pep508"
)

// The fuzz targets check that parsing requirements and markers (from the
// Requires-Dist of any upstream wheel) never panics, that what is accepted
// is self-consistent, and that errors stay short whatever the input. Seed
// corpora live in testdata/fuzz/<Target>/.

// maxErrLen bounds an error message: errors quote at most 80 bytes of the
// input, a few times.
const maxErrLen = 1024

// FuzzRequirement: a parsed requirement's String parses back to the same
// requirement, and Check accepts whatever ParseRequirement does.
func FuzzRequirement(f *testing.F) {
	for _, s := range []string{
		"requests", "Requests[Socks,security] >= 2.30, <3", "foo (>=1.0) ; python_version < '3.10'",
		`bar; sys_platform == "win32" and (platform_machine == "AMD64" or extra == 'x')`,
		"baz[extra]==1.*; python_full_version ~= '3.11.2'", "x @ https://example.com/x.whl", `a; "3" in python_version`,
		`b; python_version not in "2.7 3.5"`, "c ; (os_name=='nt')",
		"x ; " + strings.Repeat("(", 70) + "os_name == 'nt'" + strings.Repeat(")", 70),
		"y[z] @ https://example.com/y.whl ; extra == 'z'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := pep508.ParseRequirement(s)
		cerr := pep508.Check(s)
		for _, e := range []error{err, cerr} {
			if e != nil && len(e.Error()) > maxErrLen {
				t.Fatalf("error of %d bytes", len(e.Error()))
			}
		}
		if err != nil {
			if cerr == nil && !errors.Is(err, pep508.ErrUnsupported) {
				t.Fatalf("%q: Check accepts what ParseRequirement refuses: %v", s, err)
			}
			return
		}
		if cerr != nil {
			t.Fatalf("%q: ParseRequirement accepts, Check refuses: %v", s, cerr)
		}
		r2, err := pep508.ParseRequirement(r.String())
		if err != nil {
			t.Fatalf("%q parsed as %q, which does not parse: %v", s, r.String(), err)
		}
		if r2.String() != r.String() {
			t.Fatalf("%q: %q then %q", s, r.String(), r2.String())
		}
		if r.Marker != nil {
			r.Marker.Eval(pep508.Env{"python_version": "3.11", "extra": ""})
			r.Marker.Eval(pep508.Env{})
		}
	})
}

// FuzzMarker: a parsed marker's String parses back to a marker that
// evaluates the same, and evaluation never panics.
func FuzzMarker(f *testing.F) {
	for _, s := range []string{
		`python_version < "3.10"`, `extra == "socks"`, `os_name == 'nt' and (platform_machine == "AMD64" or extra == 'x')`,
		`"linux" in sys_platform`, `platform_machine not in "x86_64 AMD64"`, `python_full_version ~= '3.11.2'`,
		`python_version == "3.11.*"`, `implementation_version >= "3.9" or platform_release === "6.1"`,
		strings.Repeat("(", 65) + `os_name == "nt"` + strings.Repeat(")", 65),
		`os.name == "nt" or sys.platform != "linux"`,
	} {
		f.Add(s)
	}
	envs := []pep508.Env{
		{},
		{"python_version": "3.11", "python_full_version": "3.11.4", "sys_platform": "linux", "os_name": "posix", "extra": ""},
		{"python_version": "3.8", "sys_platform": "win32", "os_name": "nt", "platform_machine": "AMD64", "extra": "x"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := pep508.ParseMarker(s)
		if err != nil {
			if len(err.Error()) > maxErrLen {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		m2, err := pep508.ParseMarker(m.String())
		if err != nil {
			t.Fatalf("%q parsed as %q, which does not parse: %v", s, m.String(), err)
		}
		for _, env := range envs {
			if a, b := m.Eval(env), m2.Eval(env); a != b {
				t.Fatalf("%q: Eval(%v) = %v, after String %v", s, env, a, b)
			}
		}
	})
}
