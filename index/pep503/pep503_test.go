package pep503

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"friendly-bard", "friendly-bard"},
		{"Friendly-Bard", "friendly-bard"},
		{"FRIENDLY-BARD", "friendly-bard"},
		{"friendly.bard", "friendly-bard"},
		{"friendly_bard", "friendly-bard"},
		{"friendly--bard", "friendly-bard"},
		{"FrIeNdLy-._.-bArD", "friendly-bard"},
		{"a", "a"},
		{"A.B_C-D", "a-b-c-d"},
		{"zope.interface", "zope-interface"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !IsNormalized(tc.want) {
				t.Errorf("IsNormalized(%q) = false", tc.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true}, {"A1", true}, {"acme-core", true}, {"Acme.Core_2", true}, {"a-_.b", true},
		{"", false}, {"-a", false}, {"a-", false}, {".a", false}, {"a_", false}, {"a b", false},
		{"a/b", false}, {"../x", false}, {"caf\u00e9", false}, {"a\x00", false}, {"a\n", false},
	}
	for _, tc := range tests {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestIsNormalized(t *testing.T) {
	for in, want := range map[string]bool{
		"acme-core": true, "a": true, "a1-b2": true,
		"Acme": false, "a--b": false, "-a": false, "a-": false, "a_b": false, "a.b": false, "": false,
	} {
		if got := IsNormalized(in); got != want {
			t.Errorf("IsNormalized(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestWheelName(t *testing.T) {
	if got := WheelName("Acme.Core-Lib"); got != "acme_core_lib" {
		t.Errorf("WheelName = %q", got)
	}
}

func BenchmarkNormalize(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Normalize("Friendly.Bard_Project")
	}
}
