package pep508_test

import (
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/pep508"
)

// TestMarkerDepth: parentheses nest at most MaxDepth deep; deeper input
// is an error (never a stack overflow), and so is input past MaxLength,
// such as the 2.5 million "(" of issue 17 that crashed the server.
func TestMarkerDepth(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("(", n) + `python_version < "3"` + strings.Repeat(")", n)
	}
	if _, err := pep508.ParseMarker(nest(pep508.MaxDepth)); err != nil {
		t.Errorf("%d levels: %v", pep508.MaxDepth, err)
	}
	if _, err := pep508.ParseRequirement("x ; " + nest(pep508.MaxDepth)); err != nil {
		t.Errorf("requirement with %d levels: %v", pep508.MaxDepth, err)
	}
	for _, tc := range []struct {
		name, s, want string
	}{
		{"one level too deep", "x ; " + nest(pep508.MaxDepth+1), "parentheses nested more than 64 deep"},
		{"deep within the length limit", "x ; " + strings.Repeat("(", pep508.MaxLength-10), "parentheses nested more than 64 deep"},
		{"unclosed, deep", "x;" + strings.Repeat("(", 1000) + `os_name == "nt"`, "parentheses nested more than 64 deep"},
		{"2.5 million", "x ; " + strings.Repeat("(", 2_500_000), "bytes long, more than the limit of 64 KiB"},
		{"long but flat", "x ; " + strings.Repeat(`os_name == "nt" and `, 4000) + `os_name == "nt"`, "more than the limit of 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for fn, parse := range map[string]func(string) error{
				"ParseRequirement": func(s string) error { _, err := pep508.ParseRequirement(s); return err },
				"Check":            pep508.Check,
				"ParseMarker":      func(s string) error { _, err := pep508.ParseMarker(s[strings.IndexByte(s, ';')+1:]); return err },
			} {
				err := parse(tc.s)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want an error saying %q", fn, err, tc.want)
					continue
				}
				if len(err.Error()) > 300 {
					t.Errorf("%s: error of %d bytes: the message must not repeat the input", fn, len(err.Error()))
				}
			}
		})
	}
}

// TestLongFlatMarker: a marker just within MaxLength, a long chain of
// "and", parses and evaluates (its tree is deep but bounded by the length).
func TestLongFlatMarker(t *testing.T) {
	var b strings.Builder
	b.WriteString(`os_name == "nt"`)
	for b.Len() < pep508.MaxLength-40 {
		b.WriteString(` and os_name == "nt"`)
	}
	m, err := pep508.ParseMarker(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if m.Eval(pep508.Env{"os_name": "posix"}) || !m.Eval(pep508.Env{"os_name": "nt"}) {
		t.Error("wrong value")
	}
}

// TestCheck: Check accepts what tools reading core metadata accept,
// direct references included, and refuses the rest.
func TestCheck(t *testing.T) {
	for _, s := range []string{
		"requests",
		"six (>=1.4.0)",
		`PySocks!=1.5.7,>=1.5.6; extra == "socks"`,
		`importlib-metadata; python_version < "3.8"`,
		`pywin32 >=1.0 ; sys_platform == "win32"`,
		`chardet<6,>=3.0.2; extra == 'use_chardet_on_py3'`,
		`colorama ; platform_system == "Windows" and (python_version >= "3.7" or implementation_name == "pypy")`,
		"acme-util @ https://git.example.com/acme-util.whl",
		"acme-util[x,y] @ https://example.com/a.whl ; python_version >= '3.8'",
		"acme @ git+https://example.com/acme.git@v1.0#egg=acme",
		"acme @ file:///srv/wheels/acme-1.0-py3-none-any.whl",
		"acme @ https://example.com/p;v=1",
	} {
		if err := pep508.Check(s); err != nil {
			t.Errorf("Check(%q) = %v", s, err)
		}
	}
	for _, s := range []string{
		"",
		"https://example.com/acme.whl",
		"./acme",
		"/srv/acme",
		"acme @",
		"acme @ https://example.com/a.whl junk",
		"acme @ https://example.com/a.whl ; os_name ==",
		"acme @ ;0",
		"acme @ example.com/acme.whl",
		"acme @ https:/acme.whl",
		"-acme",
		"acme >=",
		"acme (>=1.0",
		"acme[x",
		"acme[-x]",
		"acme ; (os_name == 'nt'",
		"acme ; foo == 'x'",
		`acme ; "a" == "b"`,
	} {
		if err := pep508.Check(s); err == nil {
			t.Errorf("Check(%q) = nil, want an error", s)
		}
	}
}

// TestShortErrors: however long the input (up to MaxLength), an error
// quotes only its start.
func TestShortErrors(t *testing.T) {
	for _, s := range []string{
		"x " + strings.Repeat("<", 60000),
		"x >=1, " + strings.Repeat("1", 60000),
		"x[" + strings.Repeat("a", 60000),
		"x ; os_name == '" + strings.Repeat("a", 60000),
		"x ; " + strings.Repeat("a", 60000) + " == 'nt'",
		"x ; os_name " + strings.Repeat("~", 60000),
		"x @ https://example.com/ " + strings.Repeat("j", 60000),
	} {
		err := pep508.Check(s)
		if err == nil {
			t.Errorf("%.40q...: no error", s)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("%.40q...: error of %d bytes", s, len(err.Error()))
		}
	}
}
