package pep440

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchStrings is a mix of normalized and unnormalized versions as they
// appear on real project pages.
var benchStrings = []string{
	"1.0", "2.31.0", "1.26.4", "0.9.8rc1", "3.0.0a2.dev1", "2024.1.15", "1.0.post1",
	"v1.2.3", "1.0.0-RC1", "2!1.0", "1.0+ubuntu-1", "4.0.0.dev20240101", "0.0.1b3",
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range benchStrings {
			if _, err := Parse(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	vs := make([]Version, len(benchStrings))
	for i, s := range benchStrings {
		vs[i] = MustParse(s)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range vs {
			Compare(vs[i], vs[(i+1)%len(vs)])
		}
	}
}

// mixedVersions returns n distinct-ish versions of every kind, shuffled
// deterministically.
func mixedVersions(n int) []Version {
	r := rand.New(rand.NewPCG(4, 40))
	suffixes := []string{"", "", "", "", "a1", "b2", "rc1", ".post1", ".dev3", "rc2.dev1", "+local.7", ".post2.dev1"}
	vs := make([]Version, 0, n)
	for len(vs) < n {
		s := fmt.Sprintf("%d.%d.%d%s", r.IntN(5), r.IntN(30), r.IntN(20), suffixes[r.IntN(len(suffixes))])
		if r.IntN(50) == 0 {
			s = "1!" + s
		}
		vs = append(vs, MustParse(s))
	}
	return vs
}

func BenchmarkSort2000(b *testing.B) {
	master := mixedVersions(2000)
	vs := make([]Version, len(master))
	b.ReportAllocs()
	for b.Loop() {
		copy(vs, master)
		Sort(vs)
	}
	if !slices.IsSortedFunc(vs, Compare) {
		b.Fatal("not sorted")
	}
}

func BenchmarkSpecifierSetContains(b *testing.B) {
	set := MustParseSpecifierSet(">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, <4")
	vs := mixedVersions(100)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vs {
			set.Contains(v, false)
		}
	}
}
