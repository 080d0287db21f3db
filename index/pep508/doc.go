// Package pep508 parses dependency specifiers (PEP 508): requirements
// such as `requests[socks] >=2.30, <3 ; python_version < "3.12"`, and the
// environment markers after their ";", which it evaluates in a partly
// known environment.
//
// https://peps.python.org/pep-0508/
// https://packaging.python.org/en/latest/specifications/dependency-specifiers/
//
// Input is hostile: requirements come from the Requires-Dist of any
// upstream wheel and from files and command lines, so nothing here panics
// on malformed input, and every rejection is an error naming what was
// given. Versions and specifiers are parsed by index/pep440, names and
// extras normalized by index/pep503; the package imports nothing else
// outside the standard library.
//
// The marker grammar nests (parentheses), and its parser is a recursive
// descent (markerParser.or, .and, .expr). Two limits keep hostile input
// from costing more than a real requirement ever needs: a requirement or
// marker is at most MaxLength bytes, and parentheses nest at most
// MaxDepth deep. Input beyond either is refused with an error saying so,
// before it is parsed further; the parser never recurses without bound.
package pep508

// MaxLength is the longest requirement (or marker) the parsers accept, in
// bytes. Real Requires-Dist values are well under a kilobyte, and the
// longest markers in the wild (long platform lists) a few; 64 KiB leaves
// room for any of them and bounds the work, and the size of the trees,
// that one string can cause.
const MaxLength = 64 << 10

// MaxDepth is the deepest nesting of parentheses in a marker. Python's
// packaging, which pip uses, gives up at a few hundred levels (its
// recursion limit); no real marker nests more than two or three.
const MaxDepth = 64
