package dist

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilename(t *testing.T) {
	tests := []struct {
		fn   string
		want Filename
	}{
		{"pip-24.2-py3-none-any.whl", Filename{Kind: Wheel, Name: "pip", Version: "24.2", PyTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"}, Ext: ".whl"}},
		{"numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", Filename{Kind: Wheel, Name: "numpy", Version: "2.0.0", PyTags: []string{"cp312"}, ABITags: []string{"cp312"}, PlatformTags: []string{"manylinux_2_17_x86_64", "manylinux2014_x86_64"}, Ext: ".whl"}},
		{"six-1.16.0-py2.py3-none-any.whl", Filename{Kind: Wheel, Name: "six", Version: "1.16.0", PyTags: []string{"py2", "py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"}, Ext: ".whl"}},
		{"acme_core-1.0-1-py3-none-any.whl", Filename{Kind: Wheel, Name: "acme_core", Version: "1.0", Build: "1", PyTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"}, Ext: ".whl"}},
		{"acme_core-1.0-2b_x.y-py3-none-any.whl", Filename{Kind: Wheel, Name: "acme_core", Version: "1.0", Build: "2b_x.y", PyTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"}, Ext: ".whl"}},
		{"Acme.Core-1.0rc1-py3-none-any.whl", Filename{Kind: Wheel, Name: "Acme.Core", Version: "1.0rc1", PyTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"}, Ext: ".whl"}},
		{"pkg-1.2.4.dev3+gabc1234-cp311-abi3-win_amd64.whl", Filename{Kind: Wheel, Name: "pkg", Version: "1.2.4.dev3+gabc1234", PyTags: []string{"cp311"}, ABITags: []string{"abi3"}, PlatformTags: []string{"win_amd64"}, Ext: ".whl"}},
		{"acme_core-1.0.tar.gz", Filename{Kind: Sdist, Name: "acme_core", Version: "1.0", Ext: ".tar.gz"}},
		{"acme-core-1.0.tar.gz", Filename{Kind: Sdist, Name: "acme-core", Version: "1.0", Ext: ".tar.gz"}},
		{"Acme.Core-1.0.zip", Filename{Kind: Sdist, Name: "Acme.Core", Version: "1.0", Ext: ".zip"}},
		{"foo_bar-2.0.post1.tar.gz", Filename{Kind: Sdist, Name: "foo_bar", Version: "2.0.post1", Ext: ".tar.gz"}},
		{"foo-1.0-1.tar.gz", Filename{Kind: Sdist, Name: "foo", Version: "1.0-1", Ext: ".tar.gz"}},
		{"foo-bar-1.0-rc1.tar.gz", Filename{Kind: Sdist, Name: "foo-bar", Version: "1.0-rc1", Ext: ".tar.gz"}},
		{"python-3parclient-4.2.0.tar.gz", Filename{Kind: Sdist, Name: "python-3parclient", Version: "4.2.0", Ext: ".tar.gz"}},
		{"3to2-1.1.1.zip", Filename{Kind: Sdist, Name: "3to2", Version: "1.1.1", Ext: ".zip"}},
		{"pkg-1.2.4.dev3+gabc1234.tar.gz", Filename{Kind: Sdist, Name: "pkg", Version: "1.2.4.dev3+gabc1234", Ext: ".tar.gz"}},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			got, err := ParseFilename(tc.fn)
			if err != nil {
				t.Fatalf("ParseFilename(%q): %v", tc.fn, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseFilename(%q)\n got %+v\nwant %+v", tc.fn, got, tc.want)
			}
			if s := got.String(); s != tc.fn {
				t.Errorf("String() = %q, want %q", s, tc.fn)
			}
		})
	}
}

func TestParseFilenameInvalid(t *testing.T) {
	tests := []struct {
		name, fn, reason string // reason: a substring of the error
	}{
		{"empty", "", "empty"},
		{"too long", strings.Repeat("a", 250) + "-1.0.tar.gz", "longer than 255"},
		{"dotdot prefix", "../x-1.0.tar.gz", "path separator"},
		{"dotdot", "x..y-1.0.tar.gz", `".."`},
		{"slash", "a/b-1.0.whl", "path separator"},
		{"backslash", `a\b-1.0.tar.gz`, "path separator"},
		{"nul", "foo\x00-1.0.tar.gz", "control character"},
		{"newline", "foo-1.0.tar.gz\n", "control character"},
		{"escape", "foo\x1b[31m-1.0.tar.gz", "control character"},
		{"del", "foo\x7f-1.0.tar.gz", "control character"},
		{"non-ascii", "fóo-1.0.tar.gz", "non-ASCII"},
		{"space", "foo -1.0.tar.gz", "space"},
		{"leading dot", ".foo-1.0.tar.gz", "starts with '.'"},
		{"exe", "foo-1.0.exe", "Invalid file extension: Use .tar.gz, .whl or .zip extension."},
		{"egg", "foo-1.0-py3.11.egg", "Invalid file extension"},
		{"tar.bz2", "foo-1.0.tar.bz2", "Invalid file extension"},
		{"tgz", "foo-1.0.tgz", "Invalid file extension"},
		{"upper ext", "foo-1.0.WHL", "Invalid file extension"},
		{"bare ext", "whl", "Invalid file extension"},
		{"wheel 3 dashes", "foo-1.0-py3-none.whl", "must have the form"},
		{"wheel 6 dashes", "foo-1.0-1-2-py3-none-any.whl", "must have the form"},
		{"wheel double underscore", "foo__bar-1.0-py3-none-any.whl", "invalid project name"},
		{"wheel name dot end", "foo.-1.0-py3-none-any.whl", "invalid project name"},
		{"wheel empty name", "-1.0-py3-none-any.whl", "invalid project name"},
		{"wheel bad version", "foo-1.0.x-py3-none-any.whl", "invalid version"},
		{"wheel build no digit", "foo-1.0-b1-py3-none-any.whl", "invalid build tag"},
		{"wheel build bad char", "foo-1.0-1+x-py3-none-any.whl", "invalid build tag"},
		{"wheel empty tag", "foo-1.0-py3.-none-any.whl", "invalid python tag"},
		{"wheel python tag digit", "foo-1.0-3-none-any.whl", "invalid python tag"},
		{"wheel bad platform", "foo-1.0-py3-none-any+x.whl", "invalid platform tag"},
		{"wheel empty abi", "foo-1.0-py3--any.whl", "invalid abi tag"},
		{"sdist no dash", "foo.tar.gz", "must have the form"},
		{"sdist bad version", "foo-bar.tar.gz", "must have the form"},
		{"sdist empty", ".tar.gz", "starts with '.'"},
		{"sdist bad name", "foo_-1.0.tar.gz", "must have the form"},
		{"sdist only version", "-1.0.tar.gz", "must have the form"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilename(tc.fn)
			assertInvalid(t, err, "filename", tc.reason)
		})
	}
}

// assertInvalid fails unless err is an *InvalidError for field whose message
// contains reason and fits on one line.
func assertInvalid(t *testing.T, err error, field, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", reason)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *InvalidError", err, err)
	}
	if field != "" && ie.Field != field {
		t.Errorf("Field = %q, want %q (error %v)", ie.Field, field, err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not contain %q", err, reason)
	}
	if strings.ContainsAny(err.Error(), "\n\r\x00\x1b") {
		t.Errorf("error %q is not a single clean line", err)
	}
}

func TestFilenameCheck(t *testing.T) {
	tests := []struct {
		fn, name, version string
		field             string // "" if Check must succeed
	}{
		{"acme_core-1.0-py3-none-any.whl", "acme-core", "1.0", ""},
		{"acme_core-1.0-py3-none-any.whl", "Acme.Core", "1.0.0", ""},
		{"Acme.Core-1.0-py3-none-any.whl", "acme_core", "1", ""},
		{"acme_core-1.0rc1-py3-none-any.whl", "acme-core", "1.0-RC1", ""},
		{"acme_core-1.0-py3-none-any.whl", "acme-util", "1.0", "name"},
		{"acme_core-1.0-py3-none-any.whl", "acme-core", "1.0.1", "version"},
		{"acme_core-1.0-py3-none-any.whl", "acme-core", "1.0+local", "version"},
		{"acme_core-1.0-py3-none-any.whl", "acme core", "1.0", "name"},
		{"acme_core-1.0-py3-none-any.whl", "acme-core", "one", "version"},
		{"acme-core-1.0.tar.gz", "acme_core", "1.0", ""},
		{"Acme.Core-1.0.zip", "acme-core", "1.0", ""},
		{"foo-1.0-1.tar.gz", "foo", "1.0.post1", ""},
		{"foo-1.0-1.tar.gz", "foo-1.0", "1", ""},
		{"foo-1.0-1.tar.gz", "foo", "1.0", "version"},
		{"foo-1-2.tar.gz", "foo-1", "2", ""},
		{"foo-1-2.tar.gz", "foo", "1.post2", ""},
		{"foo-1-2.tar.gz", "bar", "2", "name"},
	}
	for _, tc := range tests {
		t.Run(tc.fn+"/"+tc.name+"/"+tc.version, func(t *testing.T) {
			f, err := ParseFilename(tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Check(tc.name, tc.version)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Check(%q, %q) = %v, want nil", tc.name, tc.version, err)
				}
				return
			}
			assertInvalid(t, err, tc.field, "")
		})
	}
}

func TestFilenameForProject(t *testing.T) {
	tests := []struct {
		fn, project   string
		name, version string
		ok            bool
	}{
		{"foo-1-2.tar.gz", "foo-1", "foo-1", "2", true},
		{"foo-1-2.tar.gz", "foo", "foo", "1-2", true},
		{"acme-core-1.0.tar.gz", "Acme_Core", "acme-core", "1.0", true},
		{"acme-core-1.0.tar.gz", "acme", "", "", false},
		{"acme_core-1.0-py3-none-any.whl", "acme.core", "acme_core", "1.0", true},
		{"acme_core-1.0-py3-none-any.whl", "acme", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.fn+"/"+tc.project, func(t *testing.T) {
			f, err := ParseFilename(tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			g, ok := f.ForProject(tc.project)
			if ok != tc.ok || g.Name != tc.name || g.Version != tc.version {
				t.Errorf("ForProject(%q) = %q %q %v, want %q %q %v", tc.project, g.Name, g.Version, ok, tc.name, tc.version, tc.ok)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Wheel: "bdist_wheel", Sdist: "sdist", 0: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func BenchmarkParseFilename(b *testing.B) {
	names := []string{
		"numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"acme_core-1.0.tar.gz",
		"acme-core-1.0-1.tar.gz",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ParseFilename(names[i%len(names)]); err != nil {
			b.Fatal(err)
		}
	}
}
