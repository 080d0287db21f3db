package pep440

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Vectors come from the specification and from packaging's
// tests/test_version.py and tests/test_utils.py.

func TestParseNormalizes(t *testing.T) {
	tests := []struct{ in, want string }{
		// Development releases.
		{"1.0dev", "1.0.dev0"},
		{"1.0.dev", "1.0.dev0"},
		{"1.0dev1", "1.0.dev1"},
		{"1.0-dev", "1.0.dev0"},
		{"1.0-dev1", "1.0.dev1"},
		{"1.0DEV", "1.0.dev0"},
		{"1.0.DEV1", "1.0.dev1"},
		{"1.0_dev_1", "1.0.dev1"},
		// Alpha.
		{"1.0a", "1.0a0"},
		{"1.0.a", "1.0a0"},
		{"1.0.a1", "1.0a1"},
		{"1.0-a", "1.0a0"},
		{"1.0-a1", "1.0a1"},
		{"1.0alpha", "1.0a0"},
		{"1.0.alpha1", "1.0a1"},
		{"1.0-alpha1", "1.0a1"},
		{"1.0alpha1", "1.0a1"},
		{"1.0A", "1.0a0"},
		{"1.0-ALPHA1", "1.0a1"},
		{"1.0-alpha.1", "1.0a1"},
		{"1.0a-", "1.0a0"},
		// Beta.
		{"1.0b", "1.0b0"},
		{"1.0.b1", "1.0b1"},
		{"1.0beta", "1.0b0"},
		{"1.0-beta2", "1.0b2"},
		{"1.0.BETA1", "1.0b1"},
		// Release candidates.
		{"1.0c", "1.0rc0"},
		{"1.0.c1", "1.0rc1"},
		{"1.0rc", "1.0rc0"},
		{"1.0-rc1", "1.0rc1"},
		{"1.0C1", "1.0rc1"},
		{"1.0.RC", "1.0rc0"},
		{"1.0pre", "1.0rc0"},
		{"1.0preview1", "1.0rc1"},
		{"1.0-PREVIEW-2", "1.0rc2"},
		{"1.0.0-RC1", "1.0.0rc1"},
		// Post releases.
		{"1.0post", "1.0.post0"},
		{"1.0.post", "1.0.post0"},
		{"1.0post1", "1.0.post1"},
		{"1.0-post", "1.0.post0"},
		{"1.0-post1", "1.0.post1"},
		{"1.0POST1", "1.0.post1"},
		{"1.0r", "1.0.post0"},
		{"1.0rev", "1.0.post0"},
		{"1.0.r1", "1.0.post1"},
		{"1.0.rev1", "1.0.post1"},
		{"1.0-5", "1.0.post5"},
		{"1.0-1", "1.0.post1"},
		{"1.0-r5", "1.0.post5"},
		{"1.0-rev5", "1.0.post5"},
		{"1.2.post", "1.2.post0"},
		{"1.0b2-346", "1.0b2.post346"},
		// Local versions.
		{"1.0+AbC", "1.0+abc"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+ubuntu_1.Deb-2", "1.0+ubuntu.1.deb.2"},
		{"1.0+01", "1.0+1"},
		{"1.0+0001.abc.00", "1.0+1.abc.0"},
		{"1.0+007abc", "1.0+007abc"},
		// Integer normalization.
		{"1.01", "1.1"},
		{"1.0a05", "1.0a5"},
		{"1.0b07", "1.0b7"},
		{"1.0c056", "1.0rc56"},
		{"1.0rc09", "1.0rc9"},
		{"1.0.post000", "1.0.post0"},
		{"1.1.dev09000", "1.1.dev9000"},
		{"00!1.2", "1.2"},
		{"0100!0.0", "100!0.0"},
		{"0!1.0.2", "1.0.2"},
		// Leading v and whitespace.
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{"   v1.0\t\n", "1.0"},
		{"\u202f1.0\t\u2029\n ", "1.0"},
		{"\x1c1.0\x1f", "1.0"},
		// Everything at once, and already normalized forms.
		{"1!2.0.post0.dev3+ubuntu.1", "1!2.0.post0.dev3+ubuntu.1"},
		{"1!2.0", "1!2.0"},
		{"V1!02.00-RC-01.POST-02-DEV_03+Ubuntu-01", "1!2.0rc1.post2.dev3+ubuntu.1"},
		{"1.0a1.post5.dev6+deadbeef", "1.0a1.post5.dev6+deadbeef"},
		{"7!1.0b2.post345.dev456", "7!1.0b2.post345.dev456"},
		{"1.0.4+8.0", "1.0.4+8.0"},
		{"1.2+123abc456", "1.2+123abc456"},
		{"1.0.0", "1.0.0"},
		{"0", "0"},
		// Numbers of any size.
		{"99999999999999999999999", "99999999999999999999999"},
		{"0099999999999999999999999.1a00000000000000000000000000001", "99999999999999999999999.1a1"},
		{"123456789012345678901234567890!1.0.post123456789012345678901234567890",
			"123456789012345678901234567890!1.0.post123456789012345678901234567890"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			v, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := v.String(); got != tc.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
			}
			again := MustParse(v.String())
			if again.String() != tc.want || !again.Equal(v) {
				t.Errorf("round trip of %q gave %q", tc.want, again)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []string{
		"",
		" ",
		"french toast",
		"lolwat",
		"a1.0",
		"v",
		"vv1.0",
		"1.0-",
		"1.0+",
		"1.0+_foo",
		"1.0+_foobar",
		"1.0+a+",
		"1.0++",
		"1.0+foo&asd",
		"1.0+1+1",
		"1.0+abc.",
		"1.0+abc..1",
		"1.0+abc-",
		"1.0+\u0130",
		"1.0+\u212a",
		"1. 0",
		"1 .0",
		"1.0 a1",
		"1.0a 1",
		"\u0660\u0661\u0662.\u0663",
		".",
		"..",
		"1..0",
		"1.0.",
		".1.0",
		"1..2.3",
		"1.0.post1.post2",
		"1.0-1-1",
		"1.0.dev1.dev2",
		"1.0a1a1",
		"1.0rc1.rc2",
		"1.0a1.b1",
		"1!",
		"!1.0",
		"1!!1",
		"1!v1.0",
		"1.0.x",
		"1.0alph",
		"1.0prev1",
		"1.0-dev-1-",
		"1.0\x00",
		"1.0\xff",
		"1.0.*",
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			v, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error", in, v)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", in, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid version: ") {
				t.Errorf("Parse(%q) error message %q", in, err)
			}
			if Valid(in) {
				t.Errorf("Valid(%q) = true", in)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("x")
	if got, want := err.Error(), `invalid version: "x"`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

// orderedVersions is packaging's VERSIONS list, in ascending order.
var orderedVersions = []string{
	"1.0.dev0", "1.0.dev456", "1.0.dev456+local", "1.0a0", "1.0a0.post0.dev0",
	"1.0a0.post0", "1.0a1.dev1", "1.0a1.dev1+local", "1.0a1", "1.0a1+local", "1.0b0",
	"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346",
	"1.0rc0", "1.0rc1.dev1", "1.0c1", "1.0rc2", "1.0", "1.0.post0.dev0", "1.0.post0",
	"1.0.post456.dev34", "1.0.post456", "1.0.post456+local", "1.0.1.dev1", "1.0.1a1",
	"1.0.1", "1.0.1+local", "1.0.1.post1", "1.1.dev1", "1.2+a", "1.2+abc", "1.2+abcdef",
	"1.2+def", "1.2+0", "1.2+1", "1.2+1.abc", "1.2+1.1", "1.2+1.1.0", "1.2+2", "1.2+123",
	"1.2+123456", "1.2.r32+123456", "1.2.rev33+123456",
	"1!1.0.dev0", "1!1.0.dev456", "1!1.0.dev456+local", "1!1.0a0", "1!1.0a0.post0.dev0",
	"1!1.0a0.post0", "1!1.0a1.dev1", "1!1.0a1.dev1+local", "1!1.0a1", "1!1.0a1+local",
	"1!1.0b0", "1!1.0b1.dev456", "1!1.0b2", "1!1.0b2.post345.dev456", "1!1.0b2.post345",
	"1!1.0b2-346", "1!1.0rc0", "1!1.0rc1.dev1", "1!1.0c1", "1!1.0rc2", "1!1.0",
	"1!1.0.post0.dev0", "1!1.0.post0", "1!1.0.post456.dev34", "1!1.0.post456",
	"1!1.0.post456+local", "1!1.0.1.dev1", "1!1.0.1a1", "1!1.0.1", "1!1.0.1+local",
	"1!1.0.1.post1", "1!1.1.dev1", "1!1.2+a", "1!1.2+abc", "1!1.2+abcdef", "1!1.2+def",
	"1!1.2+0", "1!1.2+1", "1!1.2+1.abc", "1!1.2+1.1", "1!1.2+1.1.0", "1!1.2+2",
	"1!1.2+123", "1!1.2+123456", "1!1.2.r32+123456", "1!1.2.rev33+123456",
}

// specOrder is the example ordering from the specification.
var specOrder = []string{
	"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456",
	"1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0",
	"1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15",
	"1.1.dev1",
}

func TestCompareOrderedLists(t *testing.T) {
	for _, list := range []struct {
		name string
		vs   []string
	}{{"packaging", orderedVersions}, {"spec", specOrder}} {
		t.Run(list.name, func(t *testing.T) {
			vs := make([]Version, len(list.vs))
			for i, s := range list.vs {
				vs[i] = MustParse(s)
			}
			for i := range vs {
				for j := range vs {
					want := 0
					if i < j {
						want = -1
					} else if i > j {
						want = 1
					}
					if got := Compare(vs[i], vs[j]); got != want {
						t.Errorf("Compare(%s, %s) = %d, want %d", list.vs[i], list.vs[j], got, want)
					}
				}
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.10", "1.9", 1},
		{"1.9", "1.10", -1},
		{"2!1.0", "9.0", 1},
		{"1!0", "99999999999999999999999", 1},
		{"1.0", "1.0.0", 0},
		{"1", "1.0.0.0.0", 0},
		{"0", "0.0", 0},
		{"1.0.0.1", "1.0", 1},
		{"1.0rc1", "1.0c1", 0},
		{"1.0a", "1.0a0", 0},
		{"1.0-1", "1.0.post1", 0},
		{"1.0+abc", "1.0+ABC", 0},
		{"1.0+1", "1.0+01", 0},
		{"1.0.0+1", "1.0+1", 0},
		{"1.0+ubuntu-1", "1.0+ubuntu.1", 0},
		{"1.0+1.0", "1.0+1", 1},
		{"1.0+a", "1.0+0", -1},
		{"1.0+abc", "1.0+abd", -1},
		{"1.0+10", "1.0+9", 1},
		{"99999999999999999999999", "9999999999999999999999", 1},
		{"99999999999999999999999", "99999999999999999999998", 1},
		{"1.99999999999999999999999", "2", -1},
		{"1.0a99999999999999999999999", "1.0b0", -1},
		{"1.0.post99999999999999999999999", "1.0.1.dev0", -1},
		{"1.0.dev1", "1.0a1", -1},
		{"1.0a1.dev1", "1.0a1", -1},
		{"1.0.post1.dev1", "1.0.post1", -1},
		{"1.0.post1.dev1", "1.0", 1},
		{"1.0a1.post1", "1.0a2.dev1", -1},
		{"1.0", "1.0+0", -1},
		// Releases beyond the packed fast path (more than four components,
		// components of 2^15 and above) against ones inside it.
		{"1.0.0.0.0", "1", 0},
		{"1.2.3.4.5", "1.2.3.5", -1},
		{"1.2.3.4.0", "1.2.3.4", 0},
		{"32768", "32767", 1},
		{"32767.99999", "32768", -1},
		{"20240101", "2024.1.1", 1},
		{"1.100000", "1.99999", 1},
	}
	for _, tc := range tests {
		t.Run(tc.a+"_vs_"+tc.b, func(t *testing.T) {
			a, b := MustParse(tc.a), MustParse(tc.b)
			if got := Compare(a, b); got != tc.want {
				t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := Compare(b, a); got != -tc.want {
				t.Errorf("Compare(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
			if a.Equal(b) != (tc.want == 0) || a.Less(b) != (tc.want < 0) {
				t.Errorf("Equal/Less disagree with Compare for %s, %s", tc.a, tc.b)
			}
		})
	}
}

func TestReleaseKeyAgreesWithStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	comps := []string{"0", "1", "2", "9", "10", "32767", "32768", "99999", "100000", "123456789012345678901"}
	release := func() string {
		n := 1 + r.IntN(6)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = comps[r.IntN(len(comps))]
		}
		return strings.Join(parts, ".")
	}
	for range 20000 {
		a, b := MustParse(release()), MustParse(release())
		if got, want := cmpReleaseOf(&a, &b), cmpRelease(a.release, b.release); got != want {
			t.Fatalf("release compare of %s and %s: packed %d, strings %d", a, b, got, want)
		}
	}
}

func TestSort(t *testing.T) {
	want := orderedVersions
	vs := make([]Version, len(want))
	for i, s := range want {
		vs[i] = MustParse(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		r.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
		Sort(vs)
		for i, v := range vs {
			if !v.Equal(MustParse(want[i])) {
				t.Fatalf("round %d: position %d is %s, want %s", round, i, v, want[i])
			}
		}
	}
}

func TestSortIsStable(t *testing.T) {
	vs := []Version{MustParse("2"), MustParse("1.0.0"), MustParse("1"), MustParse("1.0"), MustParse("0.9")}
	Sort(vs)
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{"0.9", "1.0.0", "1", "1.0", "2"}
	if !slices.Equal(got, want) {
		t.Errorf("Sort = %v, want %v", got, want)
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.4.0", "1.4"},
		{"1.40.0", "1.40"},
		{"1.4.0.0.00.000.0000", "1.4"},
		{"1.4.0.0.0", "1.4"},
		{"1.0.0", "1"},
		{"1.0", "1"},
		{"1.0.1", "1.0.1"},
		{"0.0", "0"},
		{"0", "0"},
		{"0.0.1", "0.0.1"},
		{"1.10.0", "1.10"},
		{"1.0+abc", "1+abc"},
		{"1.0+abc.0", "1+abc.0"},
		{"1.0.dev0", "1.dev0"},
		{"1.0.post0", "1.post0"},
		{"1.0a0", "1a0"},
		{"1.0rc0", "1rc0"},
		{"1.0.0-RC1", "1rc1"},
		{"100!0.0", "100!0"},
		{"1!2.0.0.post1.dev2+Local-0", "1!2.post1.dev2+local.0"},
		{"v01.020.0", "1.20"},
		{"99999999999999999999999.0", "99999999999999999999999"},
		// Invalid versions are returned unchanged.
		{"lolwat", "lolwat"},
		{"1.0.1-test7", "1.0.1-test7"},
		{"foo bar baz", "foo bar baz"},
		{" 1.0.x ", " 1.0.x "},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Canonical(tc.in); got != tc.want {
				t.Errorf("Canonical(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if v, err := Parse(tc.in); err == nil {
				if got := v.Canonical(); got != tc.want {
					t.Errorf("Version.Canonical(%q) = %q, want %q", tc.in, got, tc.want)
				}
				if c := MustParse(v.Canonical()); !c.Equal(v) {
					t.Errorf("Canonical(%q) = %q does not compare equal", tc.in, c)
				}
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		in                   string
		epoch                string
		release              []string
		preL, preN           string
		post, dev, local     string
		isPre, isDev, isPost bool
		public, base         string
	}{
		{in: "1.0", epoch: "0", release: []string{"1", "0"}, public: "1.0", base: "1.0"},
		{in: "1.0.dev6", epoch: "0", release: []string{"1", "0"}, dev: "6", isPre: true, isDev: true, public: "1.0.dev6", base: "1.0"},
		{in: "1.0a1.post5.dev6", epoch: "0", release: []string{"1", "0"}, preL: "a", preN: "1", post: "5", dev: "6", isPre: true, isDev: true, isPost: true, public: "1.0a1.post5.dev6", base: "1.0"},
		{in: "1.0rc4+deadbeef", epoch: "0", release: []string{"1", "0"}, preL: "rc", preN: "4", local: "deadbeef", isPre: true, public: "1.0rc4", base: "1.0"},
		{in: "1.0.post5+deadbeef", epoch: "0", release: []string{"1", "0"}, post: "5", local: "deadbeef", isPost: true, public: "1.0.post5", base: "1.0"},
		{in: "1!1.0b2.dev6+deadbeef", epoch: "1", release: []string{"1", "0"}, preL: "b", preN: "2", dev: "6", local: "deadbeef", isPre: true, isDev: true, public: "1!1.0b2.dev6", base: "1!1.0"},
		{in: "1.0+dev", epoch: "0", release: []string{"1", "0"}, local: "dev", public: "1.0", base: "1.0"},
		{in: "1.0.post1+dev", epoch: "0", release: []string{"1", "0"}, post: "1", local: "dev", isPost: true, public: "1.0.post1", base: "1.0"},
		{in: "V012!3.04.5a", epoch: "12", release: []string{"3", "4", "5"}, preL: "a", preN: "0", isPre: true, public: "12!3.4.5a0", base: "12!3.4.5"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			v := MustParse(tc.in)
			if got := v.Epoch(); got != tc.epoch {
				t.Errorf("Epoch() = %q, want %q", got, tc.epoch)
			}
			if got := v.Release(); !slices.Equal(got, tc.release) {
				t.Errorf("Release() = %q, want %q", got, tc.release)
			}
			l, n, ok := v.Pre()
			if l != tc.preL || n != tc.preN || ok != (tc.preL != "") {
				t.Errorf("Pre() = %q, %q, %v, want %q, %q", l, n, ok, tc.preL, tc.preN)
			}
			if got, ok := v.Post(); got != tc.post || ok != (tc.post != "") {
				t.Errorf("Post() = %q, %v, want %q", got, ok, tc.post)
			}
			if got, ok := v.Dev(); got != tc.dev || ok != (tc.dev != "") {
				t.Errorf("Dev() = %q, %v, want %q", got, ok, tc.dev)
			}
			if got := v.Local(); got != tc.local {
				t.Errorf("Local() = %q, want %q", got, tc.local)
			}
			if v.IsPrerelease() != tc.isPre || v.IsDevrelease() != tc.isDev || v.IsPostrelease() != tc.isPost {
				t.Errorf("Is{Pre,Dev,Post}release() = %v %v %v, want %v %v %v",
					v.IsPrerelease(), v.IsDevrelease(), v.IsPostrelease(), tc.isPre, tc.isDev, tc.isPost)
			}
			pub := v.Public()
			if pub.String() != tc.public || pub.Local() != "" || !pub.Equal(MustParse(tc.public)) {
				t.Errorf("Public() = %q, want %q", pub, tc.public)
			}
			base := v.BaseVersion()
			if base.String() != tc.base || base.IsPrerelease() || base.IsPostrelease() || !base.Equal(MustParse(tc.base)) {
				t.Errorf("BaseVersion() = %q, want %q", base, tc.base)
			}
		})
	}
}

func TestZeroVersion(t *testing.T) {
	var z Version
	if z.String() != "0" || z.Canonical() != "0" || z.Epoch() != "0" || !slices.Equal(z.Release(), []string{"0"}) {
		t.Errorf("zero Version = %q / %q / %q / %q, want the version 0", z, z.Canonical(), z.Epoch(), z.Release())
	}
	if !z.Equal(MustParse("0.0")) || !z.Less(MustParse("0.0.1")) || !MustParse("0.dev0").Less(z) {
		t.Error("zero Version does not compare like 0")
	}
	if z.IsPrerelease() || z.IsPostrelease() || z.IsDevrelease() || z.Local() != "" {
		t.Error("zero Version has segments")
	}
}

func TestMax(t *testing.T) {
	vs := func(ss ...string) []Version {
		var out []Version
		for _, s := range ss {
			out = append(out, MustParse(s))
		}
		return out
	}
	tests := []struct {
		name       string
		in         []Version
		includePre bool
		want       string
		ok         bool
	}{
		{"empty", nil, true, "", false},
		{"finals", vs("1.0", "1.10", "1.9", "1.2"), false, "1.10", true},
		{"skips pre", vs("1.0", "2.0a1", "1.1.dev1", "1.0.post1"), false, "1.0.post1", true},
		{"includes pre", vs("1.0", "2.0a1", "1.1.dev1"), true, "2.0a1", true},
		{"only pre", vs("2.0a1", "2.0b1"), false, "", false},
		{"only pre included", vs("2.0a1", "2.0b1"), true, "2.0b1", true},
		{"local wins", vs("1.0", "1.0+local"), false, "1.0+local", true},
		{"first of equal", vs("1.0.0", "1.0", "1"), false, "1.0.0", true},
		{"epoch", vs("9.9", "1!0.1", "10.0"), false, "1!0.1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Max(tc.in, tc.includePre)
			if ok != tc.ok || (ok && got.String() != tc.want) {
				t.Errorf("Max = %q, %v, want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTextMarshaling(t *testing.T) {
	in := struct {
		V Version `json:"v"`
	}{MustParse("1.0-RC1")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"v":"1.0rc1"}` {
		t.Errorf("json = %s", b)
	}
	var out struct {
		V Version `json:"v"`
	}
	if err := json.Unmarshal([]byte(`{"v":"v2.0.POST1"}`), &out); err != nil {
		t.Fatal(err)
	}
	if out.V.String() != "2.0.post1" {
		t.Errorf("unmarshaled %q", out.V)
	}
	if err := json.Unmarshal([]byte(`{"v":"nope"}`), &out); !errors.Is(err, ErrInvalid) {
		t.Errorf("unmarshal of invalid version: %v", err)
	}
}

func TestAllocations(t *testing.T) {
	a, b := MustParse("1.2.3rc1.post4.dev5+abc.6"), MustParse("1.2.3.0rc1.post4.dev5+abc.7")
	if n := testing.AllocsPerRun(100, func() { Compare(a, b) }); n != 0 {
		t.Errorf("Compare allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse("1.2.3rc1.post4.dev5+abc.6") }); n != 0 {
		t.Errorf("Parse of a normalized version allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse("V1.2.3-RC1") }); n > 1 {
		t.Errorf("Parse of an unnormalized version allocates %v times", n)
	}
}
