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
// The marker grammar nests (parentheses): its parser is one recursive
// descent (markerParser.or, .and, .expr), the one place where a depth
// limit would go.
package pep508
