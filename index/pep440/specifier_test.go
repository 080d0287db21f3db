package pep440

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Vectors come from the specification and from packaging's
// tests/test_specifiers.py. packaging's Specifier.contains tests that pass
// prereleases=True (or whose default reduces to plain range membership for
// a single candidate) are run here with Contains(v, true); the pre-release
// policy itself is tested separately.

func TestParseSpecifierValid(t *testing.T) {
	tests := []struct{ in, str string }{
		{"~=2.0", "~=2.0"},
		{"==2.1.*", "==2.1.*"},
		{"==2.1.0.3", "==2.1.0.3"},
		{"!=2.2.*", "!=2.2.*"},
		{"!=2.2.0.5", "!=2.2.0.5"},
		{"<=5", "<=5"},
		{">=7.9a1", ">=7.9a1"},
		{"<1.0.dev1", "<1.0.dev1"},
		{">2.0.post1", ">2.0.post1"},
		{"< 2", "<2"},
		{"  >=  3.8 ", ">=3.8"},
		{"==1.0+AbC", "==1.0+AbC"},
		{"!=1.0+deadbeef", "!=1.0+deadbeef"},
		{"==v1.0", "==v1.0"},
		{"==1!2.*", "==1!2.*"},
		{"==V1.*", "==V1.*"},
		{"~=1!1.0", "~=1!1.0"},
		{"~=1.0-1", "~=1.0-1"},
		{">=1.0alpha1", ">=1.0alpha1"},
		{"===foobar", "===foobar"},
		{"=== foobar", "===foobar"},
		{"===", "==="},
		{"===1.0+local", "===1.0+local"},
		{"==\u202f1.0", "==1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			sp, err := ParseSpecifier(tc.in)
			if err != nil {
				t.Fatalf("ParseSpecifier(%q): %v", tc.in, err)
			}
			if got := sp.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if got := sp.Operator() + sp.Version(); got != tc.str {
				t.Errorf("Operator()+Version() = %q, want %q", got, tc.str)
			}
		})
	}
}

// TestParseSpecifierSpellings checks that every spelling that Parse accepts
// is accepted after every operator, as packaging's
// test_specifiers_normalized does.
func TestParseSpecifierSpellings(t *testing.T) {
	versions := []string{
		"1.0dev", "1.0.dev", "1.0dev1", "1.0-dev", "1.0-dev1", "1.0DEV", "1.0.DEV1",
		"1.0a", "1.0.a", "1.0.a1", "1.0-a", "1.0-a1", "1.0alpha", "1.0.alpha", "1.0.alpha1",
		"1.0-alpha", "1.0-alpha1", "1.0A", "1.0-ALPHA1", "1.0b", "1.0.beta1", "1.0-BETA1",
		"1.0c", "1.0.c1", "1.0rc", "1.0-RC1", "1.0pre1", "1.0preview1", "1.0post",
		"1.0.post", "1.0post1", "1.0-post1", "1.0POST", "1.0-5", "1.0r1", "1.0rev2",
		"1.0+AbC", "1.01", "1.0a05", "1.0c056", "1.0.post000", "1.1.dev09000", "00!1.2",
		"0100!0.0", "v1.0", "  \r \f \v v1.0\t\n",
	}
	for _, ver := range versions {
		ops := []string{"~=", "==", "!=", "<=", ">=", "<", ">"}
		if strings.Contains(ver, "+") {
			ops = []string{"==", "!="}
		}
		for _, op := range ops {
			t.Run(op+ver, func(t *testing.T) {
				sp, err := ParseSpecifier(op + ver)
				if err != nil {
					t.Fatal(err)
				}
				if !sp.Contains(MustParse(ver), true) && op != "!=" && op != "<" && op != ">" {
					t.Errorf("%s does not contain %s", sp, ver)
				}
			})
		}
	}
}

func TestParseSpecifierInvalid(t *testing.T) {
	tests := []string{
		"",
		"2.0",
		"=>2.0",
		"=2.0",
		"~2.0",
		"==",
		">=",
		"~=1.0+5",
		">=1.0+deadbeef",
		"<=1.0+abc123",
		">1.0+watwat",
		"<1.0+1.0",
		"~=1.0.*",
		">=1.0.*",
		"<=1.0.*",
		">1.0.*",
		"<1.0.*",
		"==1.0.*+5",
		"!=1.0.*+deadbeef",
		"==2.0a1.*",
		"!=2.0a1.*",
		"==2.0.post1.*",
		"!=2.0.post1.*",
		"==2.0.dev1.*",
		"!=2.0.dev1.*",
		"==1.0+5.*",
		"!=1.0+deadbeef.*",
		"==1.0.*.5",
		"==1.*.*",
		"==.*",
		"~=1",
		"~=1!2",
		"==1.0.dev1.*",
		"==1.2+\u0130",
		"==1.2+\u0130\u0131\u017fK",
		"== 1.0 1",
		"==1.0;",
		"===foo bar",
		"===foo;",
		"===foo)",
		">=lolwat",
		"==1.0-",
		">=3.8,",
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			_, err := ParseSpecifier(in)
			if err == nil {
				t.Fatalf("ParseSpecifier(%q) succeeded", in)
			}
			if !errors.Is(err, ErrInvalidSpecifier) {
				t.Errorf("error %v does not wrap ErrInvalidSpecifier", err)
			}
		})
	}
}

func TestParseSpecifierSetInvalid(t *testing.T) {
	for _, in := range []string{">=3.8,lolwat", ">=2.7;<3", "!=3.0.*, <4, 3.1", ">=1 <2", "==1.0alpha1 ,, ~=1"} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseSpecifierSet(in)
			if !errors.Is(err, ErrInvalidSpecifier) {
				t.Fatalf("ParseSpecifierSet(%q) error = %v, want ErrInvalidSpecifier", in, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid specifier: ") {
				t.Errorf("error message %q", err)
			}
		})
	}
}

func TestSpecifierSetString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" , ,", ""},
		{"!=2.0", "!=2.0"},
		{"< 2", "<2"},
		{"~=2.0", "~=2.0"},
		{"!=2.0,>1.0", "!=2.0,>1.0"},
		{"!=2.0 ,>1.0", "!=2.0,>1.0"},
		{">=1.0.0,!=1.0.1", "!=1.0.1,>=1.0.0"},
		{">=2.7, !=3.0.*, !=3.1.*, <4", "!=3.0.*,!=3.1.*,<4,>=2.7"},
		{">1.0.0,>1.0", ">1.0"},
		{"==1.0.5,==v1.0,==1.0", "==1.0,==1.0.5"},
		{"~=1.18.0,~=1.18", "~=1.18,~=1.18.0"},
		{"==1.0.*,==1.0.0.*", "==1.0.*,==1.0.0.*"},
		{"===FOO,===foo", "===FOO,===foo"},
		{">=1.0, >=1.0, <5.0", "<5.0,>=1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			set, err := ParseSpecifierSet(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := set.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			again := MustParseSpecifierSet(set.String())
			if again.String() != tc.want {
				t.Errorf("String() does not round-trip: %q", again)
			}
			if set.Len() != len(set.Specifiers()) {
				t.Errorf("Len() = %d, Specifiers() has %d", set.Len(), len(set.Specifiers()))
			}
		})
	}
}

// specCase is a (version, specifier, membership) triple.
type specCase struct {
	version, spec string
	want          bool
}

// membershipCases is packaging's test_specifiers table, plus the
// aquasecurity/go-pep440-version pre-release spelling bug, which must not
// recur here.
var membershipCases = []specCase{
	// Equality.
	{"2.0", "==2", true},
	{"2.0", "==2.0", true},
	{"2.0", "==2.0.0", true},
	{"2.0+deadbeef", "==2", true},
	{"2.0+deadbeef", "==2.0", true},
	{"2.0+deadbeef", "==2.0.0", true},
	{"2.0+deadbeef", "==2+deadbeef", true},
	{"2.0+deadbeef", "==2.0+deadbeef", true},
	{"2.0+deadbeef", "==2.0.0+deadbeef", true},
	{"2.0+deadbeef.0", "==2.0.0+deadbeef.00", true},
	{"2.0+DeadBeef", "==2.0+deadbeef", true},
	{"2.1", "==2", false},
	{"2.1", "==2.0", false},
	{"2.1", "==2.0.0", false},
	{"2.0", "==2.0+deadbeef", false},
	{"2.0+other", "==2.0+deadbeef", false},
	// Equality with a prefix.
	{"2.dev1", "==2.*", true},
	{"2a1", "==2.*", true},
	{"2a1.post1", "==2.*", true},
	{"2b1", "==2.*", true},
	{"2b1.dev1", "==2.*", true},
	{"2c1", "==2.*", true},
	{"2c1.post1.dev1", "==2.*", true},
	{"2c1.post1.dev1", "==2.0.*", true},
	{"2rc1", "==2.*", true},
	{"2rc1", "==2.0.*", true},
	{"2", "==2.*", true},
	{"2", "==2.0.*", true},
	{"2", "==2.0.0.*", true},
	{"2", "==0!2.*", true},
	{"0!2", "==2.*", true},
	{"2.0", "==2.*", true},
	{"2.0.0", "==2.*", true},
	{"2.0.0.0", "==2.0.*", true},
	{"2.1+local.version", "==2.1.*", true},
	{"2.0", "==3.*", false},
	{"2.1", "==2.0.*", false},
	{"3", "==2.0.0.*", false},
	{"2.1.0.0", "==2.0.*", false},
	{"1.9.99", "==2.*", false},
	{"20", "==2.*", false},
	{"2.10", "==2.1.*", false},
	// Inequality.
	{"2.1", "!=2", true},
	{"2.1", "!=2.0", true},
	{"2.0.1", "!=2", true},
	{"2.0.1", "!=2.0", true},
	{"2.0.1", "!=2.0.0", true},
	{"2.0", "!=2.0+deadbeef", true},
	{"2.0", "!=2", false},
	{"2.0", "!=2.0", false},
	{"2.0", "!=2.0.0", false},
	{"2.0+deadbeef", "!=2", false},
	{"2.0+deadbeef", "!=2.0", false},
	{"2.0+deadbeef", "!=2.0.0", false},
	{"2.0+deadbeef", "!=2+deadbeef", false},
	{"2.0+deadbeef", "!=2.0+deadbeef", false},
	{"2.0+deadbeef", "!=2.0.0+deadbeef", false},
	{"2.0+deadbeef.0", "!=2.0.0+deadbeef.00", false},
	// Inequality with a prefix.
	{"2.0", "!=3.*", true},
	{"2.1", "!=2.0.*", true},
	{"3", "!=2.0.0.*", true},
	{"2.1.0.0", "!=2.0.*", true},
	{"2.dev1", "!=2.*", false},
	{"2a1", "!=2.*", false},
	{"2a1.post1", "!=2.*", false},
	{"2b1", "!=2.*", false},
	{"2b1.dev1", "!=2.*", false},
	{"2c1", "!=2.*", false},
	{"2c1.post1.dev1", "!=2.*", false},
	{"2c1.post1.dev1", "!=2.0.*", false},
	{"2rc1", "!=2.*", false},
	{"2rc1", "!=2.0.*", false},
	{"2", "!=2.*", false},
	{"2", "!=2.0.*", false},
	{"2", "!=2.0.0.*", false},
	{"2.0", "!=2.*", false},
	{"2.0.0", "!=2.*", false},
	{"2.0.0.0", "!=2.0.*", false},
	// Greater than or equal.
	{"2.0", ">=2", true},
	{"2.0", ">=2.0", true},
	{"2.0", ">=2.0.0", true},
	{"2.0.post1", ">=2", true},
	{"2.0.post1.dev1", ">=2", true},
	{"3", ">=2", true},
	{"3.0.0a8", ">=3.0.0a7", true},
	{"2.0+local", ">=2", true},
	{"2.0.dev1", ">=2", false},
	{"2.0a1", ">=2", false},
	{"2.0a1.dev1", ">=2", false},
	{"2.0b1", ">=2", false},
	{"2.0b1.post1", ">=2", false},
	{"2.0c1", ">=2", false},
	{"2.0c1.post1.dev1", ">=2", false},
	{"2.0rc1", ">=2", false},
	{"1", ">=2", false},
	// Less than or equal.
	{"2.0", "<=2", true},
	{"2.0", "<=2.0", true},
	{"2.0", "<=2.0.0", true},
	{"2.0.dev1", "<=2", true},
	{"2.0a1", "<=2", true},
	{"2.0a1.dev1", "<=2", true},
	{"2.0b1", "<=2", true},
	{"2.0b1.post1", "<=2", true},
	{"2.0c1", "<=2", true},
	{"2.0c1.post1.dev1", "<=2", true},
	{"2.0rc1", "<=2", true},
	{"1", "<=2", true},
	{"3.0.0a7", "<=3.0.0a8", true},
	{"2.0+local", "<=2", true},
	{"2.0.post1", "<=2", false},
	{"2.0.post1.dev1", "<=2", false},
	{"3", "<=2", false},
	// Greater than.
	{"3", ">2", true},
	{"2.1", ">2.0", true},
	{"2.0.1", ">2", true},
	{"2.1.post1", ">2", true},
	{"2.1+local.version", ">2", true},
	{"3.0.0a8", ">3.0.0a7", true},
	{"1", ">2", false},
	{"2.0.dev1", ">2", false},
	{"2.0a1", ">2", false},
	{"2.0a1.post1", ">2", false},
	{"2.0b1", ">2", false},
	{"2.0b1.dev1", ">2", false},
	{"2.0c1", ">2", false},
	{"2.0c1.post1.dev1", ">2", false},
	{"2.0rc1", ">2", false},
	{"2.0", ">2", false},
	{"2.0.post1", ">2", false},
	{"2.0.post1.dev1", ">2", false},
	{"2.0+local.version", ">2", false},
	{"4.1.0a2.dev1234+local", ">4.1.0a2.dev1234", false},
	// Greater than, with local, pre, dev and post segments.
	{"1.0+local", ">1.0.dev1", true},
	{"4.1.0a2.dev1235+local", ">4.1.0a2.dev1234", true},
	{"1.0a2+local", ">1.0a1", true},
	{"1.0b2+local", ">1.0b1", true},
	{"1.0rc2+local", ">1.0rc1", true},
	{"1.0.post2+local", ">1.0.post1", true},
	{"1.0.dev2+local", ">1.0.dev1", true},
	{"1.0a1.dev2+local", ">1.0a1.dev1", true},
	{"1.0.post1.dev2+local", ">1.0.post1.dev1", true},
	{"1.0a1+local", ">1.0a1", false},
	{"1.0b1+local", ">1.0b1", false},
	{"1.0rc1+local", ">1.0rc1", false},
	{"1.0.post1+local", ">1.0.post1", false},
	{"1.0.dev1+local", ">1.0.dev1", false},
	{"1.0a1.dev1+local", ">1.0a1.dev1", false},
	{"1.0.post1.dev1+local", ">1.0.post1.dev1", false},
	{"1.0.dev0", ">1.0.dev1", false},
	{"1.0.dev2", ">1.0.dev1", true},
	{"1.0.post0", ">1.0.dev1", true},
	{"1.0.post1", ">1.0.dev1", true},
	{"1.0.post0", ">1.0.dev0", true},
	{"1.0.post0", ">1.0a1", true},
	{"1.0.post0", ">1.0b1", true},
	{"1.0.post0", ">1.0rc1", true},
	{"1.0a1.post0", ">1.0a1", false},
	{"1.0b2.post0", ">1.0b2", false},
	{"1.0rc1.post0", ">1.0rc1", false},
	{"1.0a2.post0", ">1.0a1", true},
	{"1.0b2.post0", ">1.0b1", true},
	{"1.0", ">1.0.dev1", true},
	{"1.0a1", ">1.0.dev1", true},
	{"1.1", ">1.0.dev1", true},
	{"1.0.post0", ">1.0", false},
	{"1.0.post1", ">1.0", false},
	{"1.7.post1", ">1.7", false},
	{"1.7.1", ">1.7", true},
	{"1.7.0.post1", ">1.7", false},
	{"2.0.post0", ">1.0", true},
	{"0.9.post0", ">1.0", false},
	{"1.1.post0", ">1.0.dev1", true},
	{"0.9.post0", ">1.0.dev1", false},
	{"1.0.post2.dev0", ">1.0.post1", true},
	{"1.0.post1.dev5", ">1.0.post1", false},
	// Less than.
	{"1", "<2", true},
	{"2.0", "<2.1", true},
	{"2.0.dev0", "<2.1", true},
	{"3.0.0a7", "<3.0.0a8", true},
	{"2.0a1", "<2.0a2", true},
	{"2.0.dev1", "<2", false},
	{"2.0a1", "<2", false},
	{"2.0a1.post1", "<2", false},
	{"2.0b1", "<2", false},
	{"2.0b2.dev1", "<2", false},
	{"2.0c1", "<2", false},
	{"2.0c1.post1.dev1", "<2", false},
	{"2.0rc1", "<2", false},
	{"2.0", "<2", false},
	{"2.post1", "<2", false},
	{"2.post1.dev1", "<2", false},
	{"3", "<2", false},
	{"1.7.dev1", "<1.7", false},
	{"1.6.9rc1", "<1.7", true},
	{"1.7rc1", "<1.7", false},
	{"1.6.9.post3", "<1.7", true},
	{"1.6.9+local", "<1.7", true},
	{"1.0.post1.dev0", "<1.0.post1", false},
	{"1.0.post0.dev0", "<1.0.post0", false},
	{"1.0.dev0", "<1.0.post1", true},
	{"1.0a1", "<1.0.post1", true},
	{"1.0rc1", "<1.0.post1", true},
	{"1.0.dev0", "<1.0.post0", true},
	{"1.0rc2", "<1.0.post0", true},
	{"1.0.post0.dev0", "<1.0.post1", true},
	{"1.0.post1.dev0", "<1.0.post2", true},
	{"1.0", "<1.0.post1", true},
	{"1.0.post0", "<1.0.post1", true},
	{"0.9", "<1.0.post1", true},
	{"1.0", "<1.0.post0", true},
	{"1.0.dev0", "<1.0.post10", true},
	{"1.0.post9.dev0", "<1.0.post10", true},
	{"1.0.post9", "<1.0.post10", true},
	{"1.0+local", "<1.0.post1", true},
	{"1.0.post0+local", "<1.0.post1", true},
	{"0.9.dev0", "<1.0.post1", true},
	{"2.0a1+local", "<2.0a2", true},
	{"2.0a2.dev1", "<2.0a2", true},
	{"0", "<0", false},
	{"0.dev0", "<0", false},
	{"0.dev0", "<0.dev1", true},
	// Compatible release.
	{"1", "~=1.0", true},
	{"1.0.1", "~=1.0", true},
	{"1.1", "~=1.0", true},
	{"1.9999999", "~=1.0", true},
	{"1.1", "~=1.0a1", true},
	{"2022.01.01", "~=2022.01.01", true},
	{"2.0", "~=1.0", false},
	{"1.1.0", "~=1.0.0", false},
	{"1.1.post1", "~=1.0.0", false},
	{"1.4.2", "~=1.4.2", true},
	{"1.4.3.dev1", "~=1.4.2", true},
	{"1.4.3a1", "~=1.4.2", true},
	{"1.4.3", "~=1.4.2", true},
	{"1.4.3.post1", "~=1.4.2", true},
	{"1.4.3+local", "~=1.4.2", true},
	{"1.4.1", "~=1.4.2", false},
	{"1.4.1.post1", "~=1.4.2", false},
	{"1.5.0.dev0", "~=1.4.2", false},
	{"1.5.0a1", "~=1.4.2", false},
	{"1.5.0", "~=1.4.2", false},
	{"2.0", "~=1.4.2", false},
	{"2.0+local", "~=1.4.2", false},
	{"1.4.5", "~=1.4.5", true},
	{"1.4.99", "~=1.4.5", true},
	{"1.4.4", "~=1.4.5", false},
	{"1.5", "~=1.4.5", false},
	{"2.2.post3", "~=2.2.post3", true},
	{"2.9", "~=2.2.post3", true},
	{"3.0", "~=2.2.post3", false},
	{"2.2", "~=2.2.post3", false},
	{"1.4.5", "~=1.4.5.0", true},
	{"1.4.5.1", "~=1.4.5.0", true},
	{"1.4.6", "~=1.4.5.0", false},
	// Epochs.
	{"2!1.0", "~=2!1.0", true},
	{"2!1.0", "==2!1.*", true},
	{"2!1.0", "==2!1.0", true},
	{"2!1.0", "!=1.0", true},
	{"2!1.0.0", "==2!1.0.0.0.*", true},
	{"2!1.0.0", "==2!1.0.*", true},
	{"2!1.0.0", "==2!1.*", true},
	{"1.0", "!=2!1.0", true},
	{"1.0", "<=2!0.1", true},
	{"2!1.0", ">=2.0", true},
	{"1.0", "<2!0.1", true},
	{"2!1.0", ">2.0", true},
	{"1.0", "~=2!1.0", false},
	{"2!1.0", "~=1.0", false},
	{"2!1.0", "==1.0", false},
	{"1.0", "==2!1.0", false},
	{"2!1.0", "==1.0.0.*", false},
	{"1.0", "==2!1.0.0.*", false},
	{"2!1.0", "==1.*", false},
	{"1.0", "==2!1.*", false},
	{"2!1.0", "!=2!1.0", false},
	// Normalization inside specifiers.
	{"2.0.5", ">2.0dev", true},
	{"1.0a1", "==1.0alpha1", true},
	{"1.0a1", "==1.0-alpha-1", true},
	{"1.0b2", "==1.0-beta2", true},
	{"1.0rc1", "==1.0preview1", true},
	{"1.0rc1", "==1.0c1", true},
	{"1.0.0rc1", "==1.0.0-RC1", true},
	{"1.0a2", "==1.0alpha1", false},
	{"1.0", "==V1.0", true},
	{"1.0.post1", "==1.0-1", true},
	{"1.0.post1", "==1.0.r1", true},
	// Arbitrary equality compares the normalized form of a Version.
	{"1.0", "===1.0", true},
	{"1.0.dev0", "===1.0.dev0", true},
	{"1.0.0", "===1.0", false},
	{"1.0.dev0", "===1.0", false},
	{"1.0+downstream1", "===1.0", false},
	{"1.0", "===1.0+downstream1", false},
	{"1.0a1", "===1.0A1", true},
	{"1.0.post1", "===1.0.POST1", true},
	{"1.0+LOCAL", "===1.0+local", true},
	{"1.0A1.POST2.DEV3", "===1.0a1.post2.dev3", true},
	{"1.01", "===1.1", true},
	{"1.01", "===1.01", false},
	{"1.a1", "===1a1", true},
	{"1.a1", "===1.a1", false},
	{"0!1.0", "===1.0", true},
	{"1.0-1", "===1.0.post1", true},
}

func TestSpecifierMembership(t *testing.T) {
	for _, tc := range membershipCases {
		t.Run(tc.version+"_in_"+tc.spec, func(t *testing.T) {
			v := MustParse(tc.version)
			sp, err := ParseSpecifier(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := sp.Contains(v, true); got != tc.want {
				t.Errorf("Specifier(%q).Contains(%q, true) = %v, want %v", tc.spec, tc.version, got, tc.want)
			}
			set := MustParseSpecifierSet(tc.spec)
			if got := set.Contains(v, true); got != tc.want {
				t.Errorf("SpecifierSet(%q).Contains(%q, true) = %v, want %v", tc.spec, tc.version, got, tc.want)
			}
			if !strings.HasPrefix(tc.spec, "===") {
				if got := set.ContainsString(tc.version, true); got != tc.want {
					t.Errorf("SpecifierSet(%q).ContainsString(%q, true) = %v, want %v", tc.spec, tc.version, got, tc.want)
				}
			}
		})
	}
}

// TestSpecifierSetMembership covers packaging's "exclusionary bridge" and
// local-version tables for sets (cases with prereleases=None or True).
func TestSpecifierSetMembership(t *testing.T) {
	tests := []specCase{
		{"3.0.dev0", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", true},
		{"3.0a1", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", true},
		{"0.9", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", false},
		{"1.0", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", false},
		{"2.0", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", false},
		{"3.0", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", false},
		{"4.0", ">=1,!=1.*,!=2.*,!=3.0,<=3.0", false},
		{"1.0a1", ">=1.0a1,!=1.*,!=2.*,<3.0", false},
		{"2.0a1", ">=1.0a1,!=1.*,!=2.*,<3.0", false},
		{"3.0a1", ">=1.0a1,!=1.*,!=2.*,<3.0", false},
		{"1.0.dev0", ">=1.0.dev0,!=1.*,!=2.*,<3.0.dev0", false},
		{"2.0.dev0", ">=1.0.dev0,!=1.*,!=2.*,<3.0.dev0", false},
		{"3.0.dev0", ">=1.0.dev0,!=1.*,!=2.*,<3.0.dev0", false},
		{"1.0.post1", ">=1.0,!=1.0,!=1.1,<2.0", true},
		{"1.1.post1", ">=1.0,!=1.0,!=1.1,<2.0", true},
		{"1.0", ">=1.0,!=1.0,!=1.1,<2.0", false},
		{"1.1", ">=1.0,!=1.0,!=1.1,<2.0", false},
		{"2.0", ">=1.0,!=1.0,!=1.1,<2.0", false},
		{"3.0.dev0", ">=1,!=1.*,!=2.*,!=3.0,!=3.1,<4", true},
		{"3.1.dev0", ">=1,!=1.*,!=2.*,!=3.0,!=3.1,<4", true},
		{"0.5", ">=1,!=1.*,!=2.*,!=3.0,!=3.1,<4", false},
		{"3.0", ">=1,!=1.*,!=2.*,!=3.0,!=3.1,<4", false},
		{"5.0", ">=1,!=1.*,!=2.*,!=3.0,!=3.1,<4", false},
		{"1.0a1", ">=1.0a1,!=1.0,<1.1", true},
		{"1.0b1", ">=1.0a1,!=1.0,<1.1", true},
		{"0.9", ">=1.0a1,!=1.0,<1.1", false},
		{"1.0", ">=1.0a1,!=1.0,<1.1", false},
		{"1.1", ">=1.0a1,!=1.0,<1.1", false},
		{"1.1.dev0", ">=1.0a1,!=1.0,<1.1", false},
		{"1.1a1", ">=1.0a1,!=1.0,<1.1", false},
		{"0.9.post1", ">=0.9,!=0.9,<=1.0", true},
		{"1.0", ">=0.9,!=0.9,<=1.0", true},
		{"1.0.dev0", ">=0.9,!=0.9,<=1.0", true},
		{"1.0a1", ">=0.9,!=0.9,<=1.0", true},
		{"1.0.post1", ">=0.9,!=0.9,<=1.0", false},
		{"1!0.5", ">=1!0,!=1!1.*,!=1!2.*,<1!3", true},
		{"1!2.5", ">=1!0,!=1!1.*,!=1!2.*,<1!3", false},
		{"0!5.0", ">=1!0,!=1!1.*,!=1!2.*,<1!3", false},
		{"2!0.0", ">=1!0,!=1!1.*,!=1!2.*,<1!3", false},
		{"1.0.post0", ">1.0.dev1,==1.0.post0", true},
		{"1.0.post1", ">1.0.dev1,==1.0.post1", true},
		{"1.0.post0", ">1.0a1,==1.0.post0", true},
		{"1.0.post0", ">1.0.dev1,<=2.0", true},
		{"1.0", ">1.0.dev1,<=2.0", true},
		{"1.0a1.post0", ">1.0a1,<=2.0", false},
		{"1.0.post0", ">1.0.dev1,<=1.0.post1", true},
		{"1.0.post1", ">1.0.dev1,<=1.0.post1", true},
		{"1.0.post0", ">1.0.dev1,!=1.0,<=2.0", true},
		{"1.0.post1", ">1.0.dev1,!=1.0,!=1.0.post0,<=2.0", true},
		{"1.0.dev0", "==1.0.dev0,<1.0.post1", true},
		{"1.0a1", "==1.0a1,<1.0.post0", true},
		{"1.0.post0.dev0", "==1.0.post0.dev0,<1.0.post1", true},
		{"1.0", ">=1.0,<1.0.post1", true},
		{"1.0.post0", ">=1.0,<1.0.post1", true},
		{"1.0.dev0", ">=1.0,<1.0.post1", false},
		{"1.0.dev0", ">=1.0.dev0,<1.0.post1", true},
		{"1.0.a1", ">=1.0.dev0,<1.0.post1", true},
		{"1.0.post0.dev0", ">=1.0.dev0,<1.0.post1", true},
		{"1.0.dev0", ">=1.0.dev0,<1.0.post1,!=1.0,!=1.0.post0", true},
		{"1.0.post0.dev0", ">=1.0.dev0,<1.0.post1,!=1.0,!=1.0.post0", true},
		{"1.0.post1", ">=1.0.dev0,<1.0.post2,!=1.0,!=1.0.post0", true},
		{"1.0.post0", ">=1.0.dev0,<1.0.post2,!=1.0", true},
		// Local versions are ignored by clauses without a local label.
		{"1.0.0+local", "==1.0.0", true},
		{"1.0.0+local", "!=1.0.0", false},
		{"1.0.0+local", "<=1.0.0", true},
		{"1.0.0+local", ">=1.0.0", true},
		{"1.0.0+local", "<1.0.0", false},
		{"1.0.0+local", ">1.0.0", false},
		// Compatible releases combined.
		{"1.19.5", "~=1.18.0,~=1.18", false},
		{"1.18.0", "~=1.18.0,~=1.18", true},
		{"1.0", "==1.*,>=1.0", true},
		{"1.5", "==1.*,>=1.0", true},
		{"0.9", "==1.*,>=1.0", false},
		{"2.0", "==1.*,>=1.0", false},
		// Typical Requires-Python values.
		{"3.8.0", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, <4", true},
		{"3.1.4", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, <4", false},
		{"2.6.9", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, <4", false},
		{"4.0", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, <4", false},
		{"3.10.2", ">=3.8,!=3.9.*,!=3.10.0,!=3.10.1,~=3.10.2,<3.14", true},
		{"3.10.1", ">=3.8,!=3.9.*,!=3.10.0,!=3.10.1,~=3.10.2,<3.14", false},
		{"3.11.0", ">=3.8,!=3.9.*,!=3.10.0,!=3.10.1,~=3.10.2,<3.14", false},
		// Arbitrary equality with other clauses.
		{"1.5", ">=1.0,===1.5", true},
		{"1.5", ">=2.0,===1.5", false},
		{"2.5", ">=1.0,===2.5", true},
		{"1.5", ">=1.0,!=2.0", true},
		// The empty set matches everything.
		{"1.0", "", true},
		{"1.0a1", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.version+"_in_"+tc.spec, func(t *testing.T) {
			set := MustParseSpecifierSet(tc.spec)
			v := MustParse(tc.version)
			if got := set.Contains(v, true); got != tc.want {
				t.Errorf("SpecifierSet(%q).Contains(%q, true) = %v, want %v", tc.spec, tc.version, got, tc.want)
			}
			if got := set.ContainsString(tc.version, true); got != tc.want {
				t.Errorf("SpecifierSet(%q).ContainsString(%q, true) = %v, want %v", tc.spec, tc.version, got, tc.want)
			}
		})
	}
}

func TestContainsPrereleasePolicy(t *testing.T) {
	tests := []struct {
		spec, version string
		pre, want     bool
	}{
		// Pre-releases are excluded by default ...
		{">=1.0", "2.0.dev1", false, false},
		{">=1.0", "2.0a1", false, false},
		{">1.0", "2.0rc1", false, false},
		{"<=2.0", "1.0.dev1", false, false},
		{"==2.0.*", "2.0a1.dev1", false, false},
		{">=1.0,<2.0", "1.5a1", false, false},
		{"", "1.0.dev1", false, false},
		{"!=2.0", "2.0.dev1", false, false},
		{"~=1.0", "1.1.0.dev1", false, false},
		// ... and included on request ...
		{">=1.0", "2.0.dev1", true, true},
		{">=1.0,<2.0", "1.5a1", true, true},
		{"", "1.0.dev1", true, true},
		{"~=1.0", "1.1.0.dev1", true, true},
		{"==2.0.*", "2.0a1.dev1", true, true},
		// ... or when a clause names a pre-release itself.
		{">=2.0.dev1", "2.0a1", false, true},
		{"<=2.0.dev1", "1.0a1", false, true},
		{"<2.0a2", "2.0a1", false, true},
		{"<1.0.dev1", "0.9.dev1", false, true},
		{">1.0.dev1", "1.1.dev1", false, true},
		{"==1.0alpha1", "1.0a1", false, true},
		{"==1.0-beta2", "1.0b2", false, true},
		{"==1.0preview1", "1.0rc1", false, true},
		{"~=1.0.dev1", "1.1a1", false, true},
		{">=1.0,<=2.0dev", "1.5a1", false, true},
		{"===1.0a1", "1.0a1", false, true},
		// "!=" and wildcard clauses never name a pre-release.
		{"!=2.0a1", "1.0a2", false, false},
		{"!=2.0a1,>=1.0", "1.5a2", false, false},
		// Finals are unaffected by the policy.
		{">=1.0", "2.0", false, true},
		{"<2.0a1", "1.0", false, true},
		// Membership still applies.
		{"<2.0", "2.0a1", true, false},
		{">=2.0", "1.9.0.dev1", true, false},
		{"~=1.0", "3.0.0.dev1", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.version+"_in_"+tc.spec, func(t *testing.T) {
			set := MustParseSpecifierSet(tc.spec)
			v := MustParse(tc.version)
			if got := set.Contains(v, tc.pre); got != tc.want {
				t.Errorf("SpecifierSet(%q).Contains(%q, %v) = %v, want %v", tc.spec, tc.version, tc.pre, got, tc.want)
			}
			if got := set.ContainsString(tc.version, tc.pre); got != tc.want {
				t.Errorf("SpecifierSet(%q).ContainsString(%q, %v) = %v, want %v", tc.spec, tc.version, tc.pre, got, tc.want)
			}
			if set.Len() == 1 {
				if got := set.Specifiers()[0].Contains(v, tc.pre); got != tc.want {
					t.Errorf("Specifier(%q).Contains(%q, %v) = %v, want %v", tc.spec, tc.version, tc.pre, got, tc.want)
				}
			}
		})
	}
}

func TestSpecifierPrereleases(t *testing.T) {
	tests := []struct {
		spec string
		want bool
	}{
		{"==1.0", false},
		{">=1.0", false},
		{"<=1.0", false},
		{"~=1.0", false},
		{"<1.0", false},
		{">1.0", false},
		{"<1.0.dev1", true},
		{">1.0.dev1", true},
		{"!=1.0.dev1", false},
		{"==1.0.*", false},
		{"==1.0.dev1", true},
		{">=1.0.dev1", true},
		{"<=1.0.dev1", true},
		{"~=1.0.dev1", true},
		{"===1.0a1", true},
		{"===foobar", false},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			sp, err := ParseSpecifier(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Prereleases() != tc.want {
				t.Errorf("Prereleases() = %v, want %v", sp.Prereleases(), tc.want)
			}
			if MustParseSpecifierSet(tc.spec).Prereleases() != tc.want {
				t.Errorf("set Prereleases() = %v, want %v", !tc.want, tc.want)
			}
		})
	}
}

func TestContainsString(t *testing.T) {
	tests := []struct {
		spec, version string
		want          bool
	}{
		{"===foobar", "foobar", true},
		{"===foobar", "FooBar", true},
		{"===foobar", "foo", false},
		{"===LoLWaT", "lOlwAt", true},
		{"===invalid", "invalid", true},
		{"===1.0", "1.0", true},
		{"===1.0", "1.0.0", false},
		{"===1.0", "1.0+downstream1", false},
		{"===1.0+downstream1", "1.0", false},
		{"===1.0A1", "1.0a1", true},
		{"===1.1", "1.01", false},
		{"===1.01", "1.1", false},
		{"===1.01", "1.01", true},
		{"===1.a1", "1.a1", true},
		{"===1a1", "1.a1", false},
		{"===0!1.0", "0!1.0", true},
		{"===0!1.0", "1.0", false},
		{"===01.0", "01.0", true},
		{"===1.0-1", "1.0-1", true},
		{"===1.0-1", "1.0.post1", false},
		{"===1.0.dev01", "1.0.dev01", true},
		{"===1.0.dev01", "1.0.dev1", false},
		{">=1.0,===1.01", "1.01", true},
		{">=1.0,===1.1", "1.01", false},
		{"===foobar,!=1.0", "foobar", false},
		{">=1.0,===foobar", "foobar", false},
		{"===foobar,===foobar", "foobar", true},
		{"===foobar,===baz", "foobar", false},
		// Unparsable strings never satisfy a standard clause.
		{"==1.0", "not a valid version", false},
		{"==1.*", "not a valid version", false},
		{">=1.0", "not a valid version", false},
		{">1.0", "not a valid version", false},
		{"<=1.0", "not a valid version", false},
		{"<1.0", "not a valid version", false},
		{"~=1.0", "not a valid version", false},
		{"!=1.0", "not a valid version", false},
		{"!=1.*", "not a valid version", false},
		{"!=1.0,!=2.0", "invalid", false},
		// The empty set accepts anything, as in packaging.
		{"", "not a valid version", true},
		// Valid strings are parsed for standard clauses.
		{">=1.0", " 1.5 ", true},
		{"==1.0", "V1.0.0", true},
	}
	for _, tc := range tests {
		t.Run(tc.version+"_in_"+tc.spec, func(t *testing.T) {
			set := MustParseSpecifierSet(tc.spec)
			for _, pre := range []bool{false, true} {
				if got := set.ContainsString(tc.version, pre); got != tc.want {
					t.Errorf("SpecifierSet(%q).ContainsString(%q, %v) = %v, want %v", tc.spec, tc.version, pre, got, tc.want)
				}
			}
		})
	}
}

func TestFilter(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		spec string
		pre  *bool
		in   []string
		want []string
	}{
		{"", nil, []string{"1.0", "2.0a1"}, []string{"1.0"}},
		{"", nil, []string{"1.0a1"}, []string{"1.0a1"}},
		{"", &no, []string{"1.0a1"}, nil},
		{"", &yes, []string{"1.0", "2.0a1"}, []string{"1.0", "2.0a1"}},
		{">=1.0.dev1", nil, []string{"1.0", "2.0a1"}, []string{"1.0", "2.0a1"}},
		{">=1.0.dev1", &no, []string{"1.0", "2.0a1"}, []string{"1.0"}},
		{">=1.2.3", nil, []string{"1.2", "1.5a1"}, []string{"1.5a1"}},
		{">=1.2.3", nil, []string{"1.3", "1.5a1"}, []string{"1.3"}},
		{">=1.2.3", nil, []string{"1.2", "1.3", "1.4"}, []string{"1.3", "1.4"}},
		{">=1.0", nil, []string{"2.0a1"}, []string{"2.0a1"}},
		{"!=2.0a1", nil, []string{"1.0a2", "1.0", "2.0a1"}, []string{"1.0"}},
		{"==2.0a1", nil, []string{"2.0a1"}, []string{"2.0a1"}},
		{">2.0a1", nil, []string{"2.0a1", "3.0a2", "3.0"}, []string{"3.0a2", "3.0"}},
		{"<2.0a1", nil, []string{"1.0a2", "1.0", "2.0a1"}, []string{"1.0a2", "1.0"}},
		{"~=2.0a1", nil, []string{"1.0", "2.0a1", "3.0a2", "3.0"}, []string{"2.0a1"}},
		{">=1.0", &no, []string{"1.0", "2.0a1"}, []string{"1.0"}},
		{">=1.0", &yes, []string{"1.0", "2.0a1"}, []string{"1.0", "2.0a1"}},
		{">=1.0,<=2.0", nil, []string{"1.0", "1.5a1"}, []string{"1.0"}},
		{">=1.0,<=2.0dev", nil, []string{"1.0", "1.5a1"}, []string{"1.0", "1.5a1"}},
		{">=1.0,<=2.0", &yes, []string{"1.0", "1.5a1"}, []string{"1.0", "1.5a1"}},
		{">=1.0,<=2.0dev", &no, []string{"1.0", "1.5a1"}, []string{"1.0"}},
		{"===1.0", nil, []string{"1.0", "1.0.0", "2.0"}, []string{"1.0"}},
		{"===1.0", nil, []string{"1.0", "1.0+downstream1"}, []string{"1.0"}},
		{">=1.0,===1.5", nil, []string{"1.0", "1.5", "2.0"}, []string{"1.5"}},
		{">=2.0,===1.5", nil, []string{"1.0", "1.5", "2.0"}, nil},
		{"!=1.0", nil, []string{"1.0", "2.0"}, []string{"2.0"}},
		{"!=2.0.*", nil, []string{"1.0", "2.0.0"}, []string{"1.0"}},
		{">=1.0,!=2.0", nil, []string{"1.0", "2.0", "3.0"}, []string{"1.0", "3.0"}},
		{"==1.*,>=1.0", nil, []string{"0.9", "1.0", "1.5", "2.0"}, []string{"1.0", "1.5"}},
		{">=1,!=1.*,!=2.*,!=3.0,<=3.0", nil, []string{"0.9", "3.0.dev0", "3.0a1", "4.0"}, []string{"3.0.dev0", "3.0a1"}},
		{">=1,!=1.*,!=2.*,!=3.0,<=3.0", &no, []string{"0.9", "3.0.dev0", "3.0a1", "4.0"}, nil},
		{">=1.0,!=1.0,!=1.1,<2.0", &no, []string{"0.9", "1.0.post1", "1.1.post1", "2.0"}, []string{"1.0.post1", "1.1.post1"}},
		{">=1.0a1,!=1.0,<1.1", nil, []string{"1.0a1", "1.0b1", "1.1.dev0", "1.1a1"}, []string{"1.0a1", "1.0b1"}},
		{">=1.0a1,!=1.0,<1.1", &no, []string{"0.9", "1.0a1", "1.0b1", "1.1"}, nil},
		{">=0.9,!=0.9,<=1.0", nil, []string{"0.9.post1", "1.0.dev0", "1.0a1", "1.0", "1.0.post1"}, []string{"0.9.post1", "1.0"}},
		{">=0.9,!=0.9,<=1.0", &yes, []string{"0.9.post1", "1.0.dev0", "1.0a1", "1.0", "1.1"}, []string{"0.9.post1", "1.0.dev0", "1.0a1", "1.0"}},
		{">=1!0,!=1!1.*,!=1!2.*,<1!3", nil, []string{"0!5.0", "1!0.5", "1!2.5", "2!0.0"}, []string{"1!0.5"}},
	}
	for _, tc := range tests {
		name := tc.spec
		if tc.pre != nil {
			name += "/pre=" + map[bool]string{true: "true", false: "false"}[*tc.pre]
		}
		t.Run(name, func(t *testing.T) {
			var in []Version
			for _, s := range tc.in {
				in = append(in, MustParse(s))
			}
			orig := slices.Clone(in)
			got := MustParseSpecifierSet(tc.spec).Filter(in, tc.pre)
			var gotS []string
			for _, v := range got {
				gotS = append(gotS, v.String())
			}
			if !slices.Equal(gotS, tc.want) {
				t.Errorf("Filter(%q) = %q, want %q", tc.in, gotS, tc.want)
			}
			if !slices.Equal(in, orig) {
				t.Error("Filter modified its input")
			}
		})
	}
}

// TestUnsatisfiableSets checks, over a broad sample of versions, that sets
// packaging proves unsatisfiable match nothing and that satisfiable ones
// match something.
func TestUnsatisfiableSets(t *testing.T) {
	family := func(base string) []string {
		return []string{
			base + ".dev0", base + ".dev1", base + ".dev0+local", base + "a0",
			base + "a0.post0.dev0", base + "a0.post0", base + "a1.dev1", base + "a1.dev1+local",
			base + "a1", base + "a1+local", base + "b1", base + "b2.post1.dev1", base + "b2.post1",
			base + "rc1.dev1", base + "rc1", base + "rc2", base + "a2.dev0", base, base + ".0",
			base + ".post0.dev0", base + ".post0", base + ".post1.dev0", base + ".post1",
			base + ".post1+local", base + ".post2", base + "+local", base + "+local1",
			base + "+local2", base + "+1", base + "+1.local", base + ".1.dev1", base + ".1a1",
			base + ".1", base + ".1+local", base + ".1.post1",
		}
	}
	var sample []Version
	for _, base := range []string{"0", "0.0", "1.0", "1.1", "1.2", "2.0", "2.1", "3.0", "1.0.1",
		"1.4.2", "2.0.0", "3.10.2", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "10.0",
		"100.0", "1!0.0", "1!1.0", "1!2.0"} {
		for _, s := range family(base) {
			sample = append(sample, MustParse(s))
		}
	}
	sample = append(sample, MustParse("1.01"), MustParse("1.0-1"), MustParse("v1.0"))

	unsatisfiable := []string{
		">=2.0,<1.0", ">=2.0,<2.0", ">2.0,<=2.0", ">2.0,<2.0", "==1.0,!=1.0", "==1.0,>1.0",
		"==1.0,<1.0", "==1.0,>=2.0", "==3.0,<2.0", "==1.*,>=2.0", "==2.*,<2.0.dev0",
		"==3.*,<3.0.dev0", "==1.0.*,!=1.0.*", "==1.0,!=1.*", "~=2.0,<2.0", "~=2.0,>=3.0",
		"~=2.5,<2.5", "~=1.0,>=2.0", "~=1.4.2,<1.4.2", ">=1.0,<=1.0,!=1.0", "==1!1.0,==1.0",
		">=1!1.0,<1.0", ">=1!0.0,<1.0", "<0", "<0.0", "<0.0.dev0", ">=1.0,<0.0.dev0",
		">=1.0a1,<1.0", ">=1.0.dev0,<1.0", ">=1.0rc1,<1.0", ">=1.0.post1,<1.0.post1",
		">=1.0.post1.dev0,<1.0.post1", ">1.0,<1.0.post0", ">1.0,<1.0.post1",
		">1.0.post0,<1.0.post1", ">=1.0.dev5,<1.0.dev3", "==1.0.dev0,>1.0.dev0",
		"==1.0a1,>1.0a1", "==1.0.post1,>1.0.post1", ">1.0a1,<1.0a1.post1", "~=1.0.dev0,>=2.0",
		"~=1.0a1,>=2.0", ">=1.0,<2.0,!=1.*", "~=1.4.2,!=1.4.*", "==1.0+local,!=1.0+local",
		"===a,===b", "===1.0,===2.0", "===1.0,>=2.0", "===1.0,!=1.0", "===1.0,>1.0",
		"===1.01,==1.0", "==1.0.*,==1.1.*", "==1.*,==2.*", "~=1.0,~=2.0", "~=1.4.2,~=1.5.0",
		"==1.0+local1,!=1.0", ">=1.0,<1.1,!=1.0.*", "!=1.*,!=2.*,>=1.0,<3.0", "~=1.0,!=1.*",
		">1.0a1,<1.0a1.post2", ">0.dev0,<0.dev1", "~=1.0a1,<1.0", "~=1.0.dev5,<1.0",
		">1.0.post0.dev0,<1.0.post0", "~=1.2.3.4.5,>=1.2.3.5", "==1.1.dev0,<1.0.post1",
	}
	satisfiable := []string{
		"", ">=1.0", "<2.0", ">1.0", ">=1.0,<2.0", ">=1.0,<=1.0", ">=1.0,<100.0", "~=1.0",
		"~=1.0,<1.5", "~=1.4.2", "==1.0.*", "!=1.0.*", "==1.*,!=1.5", "==1.0.*,==1.*",
		"!=1.*,>=2.0", ">=1.0,<2.0,!=1.5,!=1.6", ">=1.0,<2.0,!=1.0,!=1.1,!=1.2,!=1.3,!=1.4",
		"==1.0", "!=1.0", ">=1.0.dev0,<1.0.dev1", ">=1.0a1,<1.0a2", ">1.0a1,<1.0a2",
		">=1.0a1,<1.0b1", ">=1.0b1,<1.0rc1", ">1.0.post0,<1.0.post2", ">1.0.post0,<1.0.post3",
		">=1.0a1.dev0,<1.0a1", ">=1!1.0,<1!2.0", ">1!1.0,<1!3.0", ">=1.0,<3.0,!=2.*",
		">=3.8,!=3.9.*,!=3.10.0,!=3.10.1,~=3.10.2,<3.14", "<1.0.dev1", ">1!1.0", "<1!2.0",
		">1.0,<3.0", ">1.0,>2.0", "<2.0,<3.0", ">1.0.post0", ">1.0.post1,<2.0",
		"==1.0+local1,>=1.0", "!=1.0+local1,>=1.0", "==1.0,>=0.5", "==1.0,!=0.5", "==1.0,<=2.0",
		"==1.0+local1,!=1.0+local2", "==1.0+local1,==1.0", "==1.0+local1,<=1.0",
		"==1.0+local,>=1.0,<=1.0", "==1.0.post1+local,<=1.0.post1", ">1.0,!=0.5",
		">=1.0,<2.0rc1", ">=0.5,!=1.0.*", "~=1.0,!=1.3", ">=1!0.0,<1!1.0", "===1.0",
		"===1.0a1", "===1.0,==1.0", "===1.0,>=1.0", "===1.0,>=0.5", "===1.0,!=2.0",
		"===1.0.0,>=1.0", ">=1.0,<1.0.post0", ">=1.0,<1.0.post1", ">=0,<1.0.post0,!=1.0",
		"==1.0.dev0,<1.0.post1", "==1.0a1,<1.0.post0", "==1.0rc1,<1.0.post0",
		"==1.0.post0.dev0,<1.0.post1", ">=1.0.dev0,<1.0.post1,!=1.0,!=1.0.post0",
		"==1.0,==1.0.0", "~=1.0.post1,>=1.0", ">=1.0,<1.0.post0.dev1", ">=1.0a1,<1.0a2,!=1.0a1",
		">1.0a1,<1.0b1", "~=1.0,~=1.1", "~=1.0,~=1.0.1", ">=1.0,<2.0,!=1.0.*,!=1.1.*",
		"~=1.0.dev0,<1.0.post0", "~=1.0a1,<1.0.post0",
	}
	yes := true
	for _, spec := range unsatisfiable {
		t.Run("unsatisfiable/"+spec, func(t *testing.T) {
			if got := MustParseSpecifierSet(spec).Filter(sample, &yes); len(got) != 0 {
				t.Errorf("%q matched %v", spec, got)
			}
		})
	}
	for _, spec := range satisfiable {
		t.Run("satisfiable/"+spec, func(t *testing.T) {
			if got := MustParseSpecifierSet(spec).Filter(sample, &yes); len(got) == 0 {
				t.Errorf("%q matched nothing", spec)
			}
		})
	}
}
