package dist

import (
	"fmt"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// MaxFilenameLen is the longest distribution filename accepted, in bytes.
const MaxFilenameLen = 255

// The file extensions accepted for uploads.
const (
	ExtWheel = ".whl"
	ExtTarGz = ".tar.gz"
	ExtZip   = ".zip"
)

// Filename is a parsed distribution filename. Name and Version are the raw
// parts as they appear in the filename; use pep503.Normalize and pep440.Parse
// to compare them.
type Filename struct {
	Kind    Kind
	Name    string // raw project-name part, e.g. "acme_core" or "Acme.Core"
	Version string // raw version part, e.g. "1.0" or "1.0-1"
	// Build is the wheel build tag ("" if none). It starts with a digit.
	Build string
	// PyTags, ABITags and PlatformTags are the wheel's compatibility tags,
	// with compressed tag sets ("py2.py3") expanded. They are nil for sdists.
	PyTags, ABITags, PlatformTags []string
	Ext                           string // ExtWheel, ExtTarGz or ExtZip
}

// errExtension is PyPI's message for an unsupported extension.
const errExtension = "Invalid file extension: Use .tar.gz, .whl or .zip extension."

// ParseFilename parses the filename of an uploaded distribution: a wheel
// (PEP 427 / binary-distribution-format), or an sdist named
// "{name}-{version}.tar.gz" or "{name}-{version}.zip". Besides the PEP 625
// form it accepts legacy sdist names such as "acme-core-1.0.tar.gz" and
// "Acme.Core-1.0.zip", and post-release versions spelt with a dash
// ("foo-1.0-1.tar.gz").
//
// It first applies generic checks, a little stricter than PyPI's: the name
// must be non-empty, at most MaxFilenameLen bytes of printable ASCII with no
// space, slash, backslash, "..", or leading '.', and must end in .whl,
// .tar.gz or .zip (lower case).
//
// It returns an *InvalidError (Field "filename") when fn is not acceptable.
//
// https://packaging.python.org/en/latest/specifications/binary-distribution-format/#file-name-convention
// https://packaging.python.org/en/latest/specifications/source-distribution-format/#source-distribution-file-name
func ParseFilename(fn string) (Filename, error) {
	if err := checkGeneric(fn); err != nil {
		return Filename{}, err
	}
	switch {
	case strings.HasSuffix(fn, ExtWheel):
		return parseWheel(fn)
	case strings.HasSuffix(fn, ExtTarGz):
		return parseSdist(fn, ExtTarGz)
	case strings.HasSuffix(fn, ExtZip):
		return parseSdist(fn, ExtZip)
	}
	return Filename{}, invalid("filename", errExtension)
}

// checkGeneric applies the checks that do not depend on the kind of file.
//
// https://github.com/pypi/warehouse/blob/main/warehouse/forklift/legacy.py (_validate_filename)
func checkGeneric(fn string) error {
	switch {
	case fn == "":
		return invalid("filename", "empty filename")
	case len(fn) > MaxFilenameLen:
		return invalid("filename", fmt.Sprintf("filename is longer than %d bytes", MaxFilenameLen))
	}
	for i := 0; i < len(fn); i++ {
		c := fn[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return invalid("filename", fmt.Sprintf("filename %q contains a control character", fn))
		case c >= 0x80:
			return invalid("filename", fmt.Sprintf("filename %q contains a non-ASCII character", fn))
		case c == '/' || c == '\\':
			return invalid("filename", fmt.Sprintf("filename %q contains a path separator", fn))
		case c == ' ':
			return invalid("filename", fmt.Sprintf("filename %q contains a space", fn))
		}
	}
	if fn[0] == '.' {
		return invalid("filename", fmt.Sprintf("filename %q starts with '.'", fn))
	}
	if strings.Contains(fn, "..") {
		return invalid("filename", fmt.Sprintf("filename %q contains \"..\"", fn))
	}
	return nil
}

// parseWheel follows packaging.utils.parse_wheel_filename, but requires the
// name part to be an ASCII project name and the build tag to be made of
// letters, digits, '_' and '.'.
//
// https://packaging.python.org/en/latest/specifications/binary-distribution-format/#file-name-convention
func parseWheel(fn string) (Filename, error) {
	stem := strings.TrimSuffix(fn, ExtWheel)
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return Filename{}, invalid("filename", fmt.Sprintf("wheel filename %q must have the form {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl", fn))
	}
	f := Filename{Kind: Wheel, Name: parts[0], Version: parts[1], Ext: ExtWheel}
	if !pep503.Valid(f.Name) || strings.Contains(f.Name, "__") {
		return Filename{}, invalid("filename", fmt.Sprintf("wheel filename %q has an invalid project name %q", fn, f.Name))
	}
	if _, err := pep440.Parse(f.Version); err != nil {
		return Filename{}, &InvalidError{Field: "filename", Reason: fmt.Sprintf("wheel filename %q has an invalid version %q", fn, f.Version), Err: err}
	}
	if len(parts) == 6 {
		f.Build = parts[2]
		if !validBuildTag(f.Build) {
			return Filename{}, invalid("filename", fmt.Sprintf("wheel filename %q has an invalid build tag %q (it must start with a digit)", fn, f.Build))
		}
	}
	n := len(parts)
	var ok bool
	if f.PyTags, ok = splitTags(parts[n-3], true); !ok {
		return Filename{}, invalid("filename", fmt.Sprintf("wheel filename %q has an invalid python tag %q", fn, parts[n-3]))
	}
	if f.ABITags, ok = splitTags(parts[n-2], false); !ok {
		return Filename{}, invalid("filename", fmt.Sprintf("wheel filename %q has an invalid abi tag %q", fn, parts[n-2]))
	}
	if f.PlatformTags, ok = splitTags(parts[n-1], false); !ok {
		return Filename{}, invalid("filename", fmt.Sprintf("wheel filename %q has an invalid platform tag %q", fn, parts[n-1]))
	}
	return f, nil
}

// validBuildTag reports whether s matches ^[0-9][A-Za-z0-9_.]*$.
func validBuildTag(s string) bool {
	if s == "" || !isDigit(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isTagChar(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// splitTags expands a compressed tag set ("py2.py3") and checks each tag is
// a non-empty run of letters, digits and '_'. Python tags must also not start
// with a digit (packaging requires an identifier).
//
// https://packaging.python.org/en/latest/specifications/platform-compatibility-tags/#compressed-tag-sets
func splitTags(s string, python bool) ([]string, bool) {
	tags := strings.Split(s, ".")
	for _, t := range tags {
		if t == "" || (python && isDigit(t[0])) {
			return nil, false
		}
		for i := 0; i < len(t); i++ {
			if !isTagChar(t[i]) {
				return nil, false
			}
		}
	}
	return tags, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isTagChar(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_'
}

// parseSdist splits "{name}-{version}{ext}". Because legacy names may contain
// '-' and legacy versions may too ("1.0-1" is 1.0.post1), every '-' is a
// candidate split point; see sdistSplits for which one is chosen.
//
// https://packaging.python.org/en/latest/specifications/source-distribution-format/#source-distribution-file-name
func parseSdist(fn, ext string) (Filename, error) {
	stem := strings.TrimSuffix(fn, ext)
	splits := sdistSplits(stem)
	if len(splits) == 0 {
		return Filename{}, invalid("filename", fmt.Sprintf("sdist filename %q must have the form {name}-{version}%s with a valid project name and PEP 440 version", fn, ext))
	}
	i := preferredSplit(stem, splits)
	return Filename{Kind: Sdist, Name: stem[:i], Version: stem[i+1:], Ext: ext}, nil
}

// sdistSplits returns, from right to left, the positions of every '-' in stem
// whose left side is a valid project name and whose right side is a valid
// PEP 440 version.
func sdistSplits(stem string) []int {
	var splits []int
	for i := strings.LastIndexByte(stem, '-'); i > 0; i = strings.LastIndexByte(stem[:i], '-') {
		if !pep503.Valid(stem[:i]) {
			continue
		}
		if _, err := pep440.Parse(stem[i+1:]); err != nil {
			continue
		}
		splits = append(splits, i)
	}
	return splits
}

// preferredSplit picks among sdistSplits. Like packaging and warehouse it
// prefers the last '-', except that it skips a split whose name part would end
// in a dash-separated segment starting with a digit, when another split
// avoids that: "foo-1.0-1" is foo 1.0.post1, not "foo-1.0" version 1. When
// the filename is truly ambiguous, Check still accepts any valid reading.
func preferredSplit(stem string, splits []int) int {
	for _, i := range splits {
		name := stem[:i]
		last := name[strings.LastIndexByte(name, '-')+1:]
		if !isDigit(last[0]) {
			return i
		}
	}
	return splits[0]
}

// Project returns the normalized project name of f.
//
// https://packaging.python.org/en/latest/specifications/name-normalization/
func (f Filename) Project() string { return pep503.Normalize(f.Name) }

// String returns the filename f was parsed from.
func (f Filename) String() string {
	if f.Kind != Wheel {
		return f.Name + "-" + f.Version + f.Ext
	}
	parts := []string{f.Name, f.Version}
	if f.Build != "" {
		parts = append(parts, f.Build)
	}
	parts = append(parts, strings.Join(f.PyTags, "."), strings.Join(f.ABITags, "."), strings.Join(f.PlatformTags, "."))
	return strings.Join(parts, "-") + f.Ext
}

// Check reports whether the project name and version in f agree with name
// (compared after PEP 503 normalization) and version (compared with PEP 440
// equality, so "1.0" equals "1.0.0"). For an sdist filename that can be split
// in more than one way, any valid split agreeing with both is accepted.
//
// It returns nil, or an *InvalidError with Field "name" or "version".
func (f Filename) Check(name, version string) error {
	if !pep503.Valid(name) {
		return invalid("name", fmt.Sprintf("%q is not a valid project name", name))
	}
	want, err := pep440.Parse(version)
	if err != nil {
		return &InvalidError{Field: "version", Reason: fmt.Sprintf("%q is not a valid PEP 440 version", version), Err: err}
	}
	if f.Kind == Sdist {
		stem := f.Name + "-" + f.Version
		for _, i := range sdistSplits(stem) {
			g := f
			g.Name, g.Version = stem[:i], stem[i+1:]
			if g.agrees(name, want) == nil {
				return nil
			}
		}
	}
	return f.agrees(name, want)
}

// ForProject returns f with its name and version parts re-split so that the
// name normalizes to the same as project, and reports whether that was
// possible. It lets a caller that knows the project (the mirror, for one)
// resolve legacy sdist names such as "foo-1-2.tar.gz", which could be
// project foo version 1.post2 or project foo-1 version 2. For wheels it
// returns f unchanged if the name matches.
func (f Filename) ForProject(project string) (Filename, bool) {
	want := pep503.Normalize(project)
	if pep503.Normalize(f.Name) == want {
		return f, true
	}
	if f.Kind != Sdist {
		return Filename{}, false
	}
	stem := f.Name + "-" + f.Version
	for _, i := range sdistSplits(stem) {
		if pep503.Normalize(stem[:i]) == want {
			f.Name, f.Version = stem[:i], stem[i+1:]
			return f, true
		}
	}
	return Filename{}, false
}

func (f Filename) agrees(name string, want pep440.Version) error {
	if pep503.Normalize(f.Name) != pep503.Normalize(name) {
		return invalid("name", fmt.Sprintf("filename is for project %q, not %q", pep503.Normalize(f.Name), pep503.Normalize(name)))
	}
	got, err := pep440.Parse(f.Version)
	if err != nil {
		return &InvalidError{Field: "version", Reason: fmt.Sprintf("filename version %q is not a valid PEP 440 version", f.Version), Err: err}
	}
	if !got.Equal(want) {
		return invalid("version", fmt.Sprintf("version in filename is %q, not %q", got.String(), want.String()))
	}
	return nil
}
