package pep440

import (
	"unicode"
	"unicode/utf8"
)

// parse is a hand-written equivalent of packaging's VERSION_PATTERN (matched
// in full, ignoring case, after surrounding whitespace):
//
//	v?
//	(?:(?P<epoch>[0-9]+)!)?
//	(?P<release>[0-9]+(?:\.[0-9]+)*)
//	(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
//	(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
//	(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
//	(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
//
// Every group in packaging's pattern is possessive (atomic): once a group
// has matched it never gives characters back, and alternatives are tried
// in the order written. A single greedy left-to-right scan therefore
// reproduces the regexp exactly. The normalized form is written into a
// buffer while scanning.
//
// https://packaging.python.org/en/latest/specifications/version-specifiers/#appendix-parsing-version-strings-with-regular-expressions
func parse(in string) (Version, bool) {
	t := trimSpace(in)
	n := len(t)
	var buf [64]byte
	b := buf[:0]
	var (
		epochEnd   int // end of the epoch digits in b; 0 when the epoch is 0
		relStart   int
		relEnd     int
		pre        byte
		preNStart  int
		preNEnd    int
		postStart  int
		postEnd    int
		devStart   int
		devEnd     int
		localStart int
	)

	i := 0
	if i < n && lower(t[i]) == 'v' {
		i++
	}

	// Epoch and the first release component.
	j := scanDigits(t, i)
	if j == i {
		return Version{}, false
	}
	if j < n && t[j] == '!' {
		if e := stripZeros(t[i:j]); e != "0" {
			b = append(b, e...)
			epochEnd = len(b)
			b = append(b, '!')
		}
		i = j + 1
		j = scanDigits(t, i)
		if j == i {
			return Version{}, false
		}
	}
	relStart = len(b)
	comp := stripZeros(t[i:j])
	b = append(b, comp...)
	relKey := packComponent(relKeyValid, 0, comp)
	i = j
	for c := 1; i+1 < n && t[i] == '.' && isDigit(t[i+1]); c++ {
		j = scanDigits(t, i+1)
		comp = stripZeros(t[i+1 : j])
		b = append(b, '.')
		b = append(b, comp...)
		relKey = packComponent(relKey, c, comp)
		i = j
	}
	relEnd = len(b)

	// Pre-release.
	k := skipSep(t, i)
	if kind, l := preLabel(t[k:]); l > 0 {
		k = skipSep(t, k+l)
		j = scanDigits(t, k)
		pre = kind
		switch kind {
		case 'a':
			b = append(b, 'a')
		case 'b':
			b = append(b, 'b')
		default:
			b = append(b, "rc"...)
		}
		preNStart = len(b)
		b = appendNum(b, t[k:j])
		preNEnd = len(b)
		i = j
	}

	// Post-release: the implicit "-N" form is tried first.
	if i+1 < n && t[i] == '-' && isDigit(t[i+1]) {
		j = scanDigits(t, i+1)
		b = append(b, ".post"...)
		postStart = len(b)
		b = appendNum(b, t[i+1:j])
		postEnd = len(b)
		i = j
	} else {
		k = skipSep(t, i)
		if l := postLabel(t[k:]); l > 0 {
			k = skipSep(t, k+l)
			j = scanDigits(t, k)
			b = append(b, ".post"...)
			postStart = len(b)
			b = appendNum(b, t[k:j])
			postEnd = len(b)
			i = j
		}
	}

	// Development release.
	k = skipSep(t, i)
	if hasPrefixFold(t[k:], "dev") {
		k = skipSep(t, k+3)
		j = scanDigits(t, k)
		b = append(b, ".dev"...)
		devStart = len(b)
		b = appendNum(b, t[k:j])
		devEnd = len(b)
		i = j
	}

	// Local version label: alphanumeric segments separated by [-_.], which
	// normalize to '.'; numeric segments lose their leading zeros, because
	// packaging stores them as integers.
	if i < n && t[i] == '+' {
		i++
		b = append(b, '+')
		localStart = len(b)
		for {
			j = scanAlnum(t, i)
			if j == i {
				return Version{}, false
			}
			seg := t[i:j]
			if allDigits(seg) {
				b = append(b, stripZeros(seg)...)
			} else {
				for x := 0; x < len(seg); x++ {
					b = append(b, lower(seg[x]))
				}
			}
			i = j
			if i+1 < n && isSep(t[i]) && isAlnum(t[i+1]) {
				b = append(b, '.')
				i++
				continue
			}
			break
		}
	}
	if i != n {
		return Version{}, false
	}

	// Reuse the input when it already is in normal form.
	var s string
	if string(b) == t {
		s = t
	} else {
		s = string(b)
	}
	v := Version{
		s:       s,
		release: s[relStart:relEnd],
		relKey:  relKey,
		pre:     pre,
	}
	if epochEnd > 0 {
		v.epoch = s[:epochEnd]
	}
	if pre != 0 {
		v.preN = s[preNStart:preNEnd]
	}
	if postEnd > 0 {
		v.post = s[postStart:postEnd]
	}
	if devEnd > 0 {
		v.dev = s[devStart:devEnd]
	}
	if localStart > 0 {
		v.local = s[localStart:]
	}
	return v, true
}

// packComponent stores release component number c (the digits d, without
// leading zeros) into the packed key, or returns 0 (no key) when the
// component does not fit.
func packComponent(key uint64, c int, d string) uint64 {
	if key == 0 || c >= 4 || len(d) > 5 {
		return 0
	}
	n := uint64(0)
	for i := 0; i < len(d); i++ {
		n = n*10 + uint64(d[i]-'0')
	}
	if n >= 1<<15 {
		return 0
	}
	return key | n<<(45-15*c)
}

// preLabel matches a pre-release spelling at the start of s, trying the
// alternatives in packaging's order, and returns the normalized kind ('a',
// 'b' or 'c' for rc) and the length matched.
func preLabel(s string) (byte, int) {
	switch {
	case hasPrefixFold(s, "alpha"):
		return 'a', 5
	case hasPrefixFold(s, "a"):
		return 'a', 1
	case hasPrefixFold(s, "beta"):
		return 'b', 4
	case hasPrefixFold(s, "b"):
		return 'b', 1
	case hasPrefixFold(s, "preview"):
		return 'c', 7
	case hasPrefixFold(s, "pre"):
		return 'c', 3
	case hasPrefixFold(s, "c"):
		return 'c', 1
	case hasPrefixFold(s, "rc"):
		return 'c', 2
	}
	return 0, 0
}

// postLabel matches a post-release spelling (post, rev or r) at the start
// of s and returns the length matched.
func postLabel(s string) int {
	switch {
	case hasPrefixFold(s, "post"):
		return 4
	case hasPrefixFold(s, "rev"):
		return 3
	case hasPrefixFold(s, "r"):
		return 1
	}
	return 0
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w,
// ignoring ASCII case.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lower(s[i]) != w[i] {
			return false
		}
	}
	return true
}

// appendNum appends the digits d without leading zeros, or "0" when d is
// empty (an omitted number means zero).
func appendNum(b []byte, d string) []byte {
	if d == "" {
		return append(b, '0')
	}
	return append(b, stripZeros(d)...)
}

// stripZeros removes leading zeros from a non-empty digit string, keeping at
// least one digit.
func stripZeros(d string) string {
	i := 0
	for i < len(d)-1 && d[i] == '0' {
		i++
	}
	return d[i:]
}

func skipSep(s string, i int) int {
	if i < len(s) && isSep(s[i]) {
		return i + 1
	}
	return i
}

func scanDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func scanAlnum(s string, i int) int {
	for i < len(s) && isAlnum(s[i]) {
		i++
	}
	return i
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSep(c byte) bool { return c == '.' || c == '-' || c == '_' }

func isAlnum(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// lower maps ASCII upper-case letters to lower case and leaves every other
// byte alone.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// trimSpace removes leading and trailing whitespace as Python's str.strip()
// and the regexp \s do: Unicode White_Space plus U+001C..U+001F, which
// Python also counts as space.
func trimSpace(s string) string {
	// Fast path: printable ASCII at both ends.
	if s != "" && s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf {
		return s
	}
	for s != "" {
		r, size := utf8.DecodeRuneInString(s)
		if !isPySpace(r) {
			break
		}
		s = s[size:]
	}
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isPySpace(r) {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

func isPySpace(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	return unicode.IsSpace(r) || (0x1c <= r && r <= 0x1f)
}
