package scm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAutoCompat(t *testing.T) {
	for _, tc := range []struct {
		requires []string
		want     Compat
		from     string // a part of the reason
	}{
		{[]string{"setuptools>=61", "setuptools_scm==7.1.0"}, 7, "requires setuptools_scm==7.1.0"},
		{[]string{"setuptools-scm>=8,<9"}, 8, "requires setuptools-scm>=8,<9"},
		{[]string{"setuptools_scm[toml]~=7.0"}, 7, "setuptools_scm[toml]~=7.0"},
		{[]string{"setuptools_scm[toml]>=6.2"}, 10, ""},
		{[]string{"setuptools_scm<8"}, 7, "requires setuptools_scm<8"},
		{[]string{"setuptools_scm <= 8.0"}, 8, ""},
		{[]string{"setuptools_scm<8.0.1"}, 8, ""},
		{[]string{"setuptools_scm<9.0.0a1"}, 8, ""},
		{[]string{"Setuptools.SCM == 9.2.2"}, 9, ""},
		{[]string{"setuptools_scm===8.3.1"}, 8, ""},
		{[]string{"setuptools_scm==8.*"}, 8, ""},
		{[]string{"setuptools_scm>=7,!=8.*,!=9.*,<10"}, 7, ""},
		{[]string{"setuptools_scm~=8.2.0"}, 8, ""},
		{[]string{"setuptools_scm>8.2,<9"}, 8, ""},
		{[]string{"setuptools_scm>=9.2.3,<10"}, 9, ""},
		{[]string{"setuptools_scm!=10.0.0"}, 10, ""},
		{[]string{"setuptools_scm>=10"}, 10, ""},
		{[]string{"setuptools_scm>=8.1,<9; python_version >= '3.8'", "setuptools_scm<8; python_version < '3.8'"}, 8, ">=8.1,<9"},
		{[]string{"setuptools_scm"}, 10, "no version: the newest"},
		{[]string{"setuptools_scm<7"}, 7, "only releases before 7"},
		{[]string{"setuptools_scm==6.4.2"}, 7, "only releases before 7"},
		{[]string{"setuptools_scm>=11"}, 10, "only 11.x or later"},
		{[]string{"vcs-versioning>=2"}, 10, "vcs-versioning"},
		{[]string{"hatchling", "hatch-vcs"}, 10, "requires no setuptools_scm"},
		{nil, 10, "requires no setuptools_scm"},
	} {
		c, from, err := AutoCompat(&Pyproject{Path: "pyproject.toml", BuildRequires: tc.requires})
		if err != nil || c != tc.want || !strings.Contains(from, tc.from) || !strings.HasPrefix(from, "pyproject.toml") && !strings.HasPrefix(from, "newest") {
			t.Errorf("%q: compat %d (%q), %v; want %d (%q)", tc.requires, c, from, err, tc.want, tc.from)
		}
	}
	if c, from, _ := AutoCompat(nil); c != DefaultCompat || from != "newest (no pyproject.toml)" {
		t.Errorf("no pyproject: %d %q", c, from)
	}
	if _, _, err := AutoCompat(&Pyproject{Path: "p.toml", BuildRequires: []string{"setuptools_scm>=>7"}}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad requirement: %v", err)
	}
}

func TestReadPyprojectBuildRequires(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pyproject.toml")
	if err := os.WriteFile(p, []byte("[build-system]\nrequires = [\"setuptools>=61\", \"setuptools_scm[toml]~=7.0\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pp, err := ReadPyproject(p)
	if err != nil {
		t.Fatal(err)
	}
	if c, from, err := AutoCompat(pp); err != nil || c != Compat7 || from != "pyproject.toml build-system requires setuptools_scm[toml]~=7.0" {
		t.Errorf("got %d %q %v", c, from, err)
	}
}
