package pep508_test

import (
	"testing"

	"github.com/pyindex/pyindex/index/pep508"
)

// FuzzRequirement: parsing requirements and markers (from Requires-Dist
// of any upstream wheel) never panics, and a parsed requirement's String
// parses back to the same requirement.
func FuzzRequirement(f *testing.F) {
	for _, s := range []string{
		"requests", "Requests[Socks,security] >= 2.30, <3", "foo (>=1.0) ; python_version < '3.10'",
		`bar; sys_platform == "win32" and (platform_machine == "AMD64" or extra == 'x')`,
		"baz[extra]==1.*; python_full_version ~= '3.11.2'", "x @ https://example.com/x.whl", `a; "3" in python_version`,
		`b; python_version not in "2.7 3.5"`, "c ; (os_name=='nt')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			return
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
