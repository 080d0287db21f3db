// Package pep503 implements project-name validation and normalization.
//
// https://packaging.python.org/en/latest/specifications/name-normalization/
package pep503

import "strings"

// Valid reports whether name is a valid project name: ASCII letters and
// digits, with '.', '_' and '-' allowed between them.
//
// https://packaging.python.org/en/latest/specifications/name-normalization/#name-format
func Valid(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isAlnum(c):
		case c == '.' || c == '_' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Normalize lowercases name and replaces every run of '-', '_' and '.' with
// a single '-'. It does not validate name.
//
// https://packaging.python.org/en/latest/specifications/name-normalization/#name-normalization
func Normalize(name string) string {
	if IsNormalized(name) {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// IsNormalized reports whether name is already in normalized form
// (^[a-z0-9]+(-[a-z0-9]+)*$).
func IsNormalized(name string) bool {
	if name == "" {
		return false
	}
	prevDash := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case ('a' <= c && c <= 'z') || ('0' <= c && c <= '9'):
			prevDash = false
		case c == '-':
			if prevDash {
				return false
			}
			prevDash = true
		default:
			return false
		}
	}
	return !prevDash
}

// WheelName returns the form of name used in wheel and sdist filenames:
// normalized, with '-' replaced by '_'.
func WheelName(name string) string {
	return strings.ReplaceAll(Normalize(name), "-", "_")
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
