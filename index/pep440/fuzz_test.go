package pep440

import (
	"testing"
)

// fuzzReference is a fixed set of versions every fuzzed version is compared
// against, to check that Compare is antisymmetric and agrees with Equal.
var fuzzReference = []string{
	"0", "0.dev0", "1.0", "1.0.0", "1.0a1", "1.0rc1.post1.dev1", "1.0.post1", "1.0+abc.1",
	"1.0+1", "1!0.1", "99999999999999999999999",
}

// upperASCII upper-cases ASCII letters only.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func FuzzParse(f *testing.F) {
	for _, s := range orderedVersions {
		f.Add(s)
	}
	for _, s := range []string{"", "v1.0", "1.0-1", "1.0.0-RC1", " 1.0+Ubuntu-1 ", "1..0", "1.0+"} {
		f.Add(s)
	}
	refs := make([]Version, len(fuzzReference))
	for i, s := range fuzzReference {
		refs[i] = MustParse(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if got := Canonical(s); got != s {
				t.Fatalf("Canonical(%q) = %q for an invalid version", s, got)
			}
			return
		}
		str := v.String()
		w, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String() = %q): %v", s, str, err)
		}
		if w.String() != str {
			t.Fatalf("String not idempotent: %q -> %q -> %q", s, str, w.String())
		}
		if !w.Equal(v) || Compare(v, w) != 0 || Compare(w, v) != 0 {
			t.Fatalf("Parse(String()) of %q is not equal to it", s)
		}
		if u, err := Parse(upperASCII(s)); err != nil || u.String() != str {
			t.Fatalf("upper-cased %q parses as %q, %v; want %q", s, u, err, str)
		}

		c := v.Canonical()
		cv, err := Parse(c)
		if err != nil || !cv.Equal(v) || cv.Canonical() != c || Canonical(s) != c {
			t.Fatalf("Canonical(%q) = %q is not a stable equal version", s, c)
		}
		if p := v.Public(); Compare(p, v) > 0 || p.Local() != "" || MustParse(p.String()).String() != p.String() {
			t.Fatalf("Public(%q) = %q", s, p)
		}
		if b := v.BaseVersion(); b.IsPrerelease() || b.IsPostrelease() || MustParse(b.String()).String() != b.String() {
			t.Fatalf("BaseVersion(%q) = %q", s, b)
		}

		for i, r := range refs {
			c1, c2 := Compare(v, r), Compare(r, v)
			if c1 != -c2 || c1 < -1 || c1 > 1 {
				t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", s, fuzzReference[i], c1, fuzzReference[i], s, c2)
			}
			if v.Equal(r) != (c1 == 0) || v.Less(r) != (c1 < 0) {
				t.Fatalf("Equal/Less disagree with Compare for %q, %q", s, fuzzReference[i])
			}
		}
	})
}

func FuzzSpecifierSet(f *testing.F) {
	for _, s := range []string{"", ">=3.8", ">=2.7, !=3.0.*, <4", "~=1.4.5", "===foobar", "==1.0alpha1", "==1.0+Local-1"} {
		f.Add(s, "1.0")
	}
	f.Fuzz(func(t *testing.T, spec, version string) {
		set, err := ParseSpecifierSet(spec)
		if err != nil {
			return
		}
		str := set.String()
		again, err := ParseSpecifierSet(str)
		if err != nil {
			t.Fatalf("ParseSpecifierSet(%q) ok but its String %q fails: %v", spec, str, err)
		}
		if again.String() != str {
			t.Fatalf("String not idempotent: %q -> %q -> %q", spec, str, again.String())
		}
		v, err := Parse(version)
		if err != nil {
			return
		}
		for _, pre := range []bool{false, true} {
			if set.Contains(v, pre) != again.Contains(v, pre) {
				t.Fatalf("%q and its String %q disagree on %q", spec, str, version)
			}
		}
	})
}
