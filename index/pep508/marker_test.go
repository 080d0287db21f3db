package pep508_test

import (
	"testing"

	"github.com/pyindex/pyindex/index/pep508"
)

// TestMarkers evaluates PEP 508 markers, with unknown variables counting
// as "may hold".
func TestMarkers(t *testing.T) {
	linux311 := pep508.Env{"python_version": "3.11", "python_full_version": "3.11.4", "sys_platform": "linux",
		"platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix", "implementation_name": "cpython",
		"platform_python_implementation": "CPython", "extra": ""}
	for _, tc := range []struct {
		marker string
		env    pep508.Env
		want   bool
	}{
		{`python_version < "3.10"`, linux311, false},
		{`python_version >= "3.8"`, linux311, true},
		{`python_version > "3.9" and python_version < "3.12"`, linux311, true},
		{`python_full_version >= "3.11.5"`, linux311, false},
		{`python_version ~= "3.11"`, linux311, true},
		{`python_version == "3.11.*"`, linux311, true},
		{`sys_platform == "win32" or (os_name == "posix" and platform_machine != "aarch64")`, linux311, true},
		{`"linux" in sys_platform`, linux311, true},
		{`platform_machine not in "x86_64 AMD64"`, linux311, false},
		{`extra == "fancy"`, linux311, false},
		{`extra == "Fancy_Stuff"`, pep508.Env{"extra": "fancy-stuff"}, true},
		{`sys_platform == "win32"`, pep508.Env{"python_version": "3.11"}, true}, // unknown platform: may hold
		{`sys_platform == "win32" and python_version < "3"`, pep508.Env{"python_version": "3.11"}, false},
		{`implementation_name == "pypy"`, linux311, false},
		{`platform_python_implementation == 'CPython'`, linux311, true},
	} {
		m, err := pep508.ParseMarker(tc.marker)
		if err != nil {
			t.Errorf("%s: %v", tc.marker, err)
			continue
		}
		if got := m.Eval(tc.env); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.marker, got, tc.want)
		}
	}
	for _, bad := range []string{`python_version <`, `foo == "1"`, `"a" == "b"`, `(python_version == "3"`, `python_version = "3"`} {
		if _, err := pep508.ParseMarker(bad); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}
