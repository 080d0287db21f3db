package pep508

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Marker is a parsed PEP 508 environment marker, such as
// `python_version < "3.11" and sys_platform == "linux"`.
//
// https://peps.python.org/pep-0508/#environment-markers
type Marker struct {
	root node
	src  string
}

// String returns the marker as written.
func (m *Marker) String() string { return m.src }

// Env is the environment a marker is evaluated in: variable name to value.
// A variable that is absent is unknown: a comparison involving it may be
// true or false, and Eval says "maybe" (a mirror keeps what might be
// needed).
type Env map[string]string

// markerVars are the variables of PEP 508 (and the legacy dotted names
// packaging still accepts).
//
// https://peps.python.org/pep-0508/#environment-markers
var markerVars = map[string]string{
	"python_version": "python_version", "python_full_version": "python_full_version",
	"os_name": "os_name", "sys_platform": "sys_platform", "platform_release": "platform_release",
	"platform_system": "platform_system", "platform_version": "platform_version",
	"platform_machine": "platform_machine", "platform_python_implementation": "platform_python_implementation",
	"implementation_name": "implementation_name", "implementation_version": "implementation_version",
	"extra": "extra", "extras": "extras", "dependency_groups": "dependency_groups",
	"os.name": "os_name", "sys.platform": "sys_platform", "platform.version": "platform_version",
	"platform.machine": "platform_machine", "platform.python_implementation": "platform_python_implementation",
	"python_implementation": "platform_python_implementation",
}

// versionVars are compared as PEP 440 versions when both sides parse.
var versionVars = map[string]bool{"python_version": true, "python_full_version": true,
	"implementation_version": true, "platform_release": true}

// tri is a three-valued truth: false, true or unknown.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triMaybe
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

type node interface {
	eval(Env) tri
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

func (n andNode) eval(e Env) tri {
	l := n.l.eval(e)
	if l == triFalse {
		return triFalse
	}
	r := n.r.eval(e)
	switch {
	case r == triFalse:
		return triFalse
	case l == triTrue && r == triTrue:
		return triTrue
	}
	return triMaybe
}

func (n orNode) eval(e Env) tri {
	l := n.l.eval(e)
	if l == triTrue {
		return triTrue
	}
	r := n.r.eval(e)
	switch {
	case r == triTrue:
		return triTrue
	case l == triFalse && r == triFalse:
		return triFalse
	}
	return triMaybe
}

// operand is a variable (name set) or a string literal.
type operand struct {
	name string
	lit  string
}

type cmpNode struct {
	l, r operand
	op   string
}

func (n cmpNode) eval(e Env) tri {
	l, lok := n.l.value(e)
	r, rok := n.r.value(e)
	if !lok || !rok {
		return triMaybe
	}
	name := n.l.name
	if name == "" {
		name = n.r.name
	}
	if name == "extra" {
		// Extras compare normalized (PEP 685).
		l, r = pep503.Normalize(l), pep503.Normalize(r)
	}
	if versionVars[name] {
		switch n.op {
		case "==", "!=", "<", "<=", ">", ">=", "~=", "===":
			if set, err := pep440.ParseSpecifierSet(n.op + r); err == nil {
				if _, err := pep440.Parse(l); err == nil || n.op == "===" {
					return triOf(set.ContainsString(l, true))
				}
			}
		}
	}
	switch n.op {
	case "==", "===":
		return triOf(l == r)
	case "!=":
		return triOf(l != r)
	case "<":
		return triOf(l < r)
	case "<=":
		return triOf(l <= r)
	case ">":
		return triOf(l > r)
	case ">=":
		return triOf(l >= r)
	case "in":
		return triOf(strings.Contains(r, l))
	case "not in":
		return triOf(!strings.Contains(r, l))
	}
	return triMaybe // ~= on strings: packaging raises; do not drop the requirement
}

func (o operand) value(e Env) (string, bool) {
	if o.name == "" {
		return o.lit, true
	}
	v, ok := e[o.name]
	return v, ok
}

// ParseMarker parses a PEP 508 marker expression (the part of a
// requirement after ";"). A marker longer than MaxLength bytes, or with
// parentheses nested deeper than MaxDepth, is refused with an error that
// says so.
//
// https://peps.python.org/pep-0508/#grammar
func ParseMarker(s string) (*Marker, error) {
	if err := checkLength("marker", s); err != nil {
		return nil, err
	}
	p := &markerParser{s: s}
	n, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("invalid marker %s: %w", quote(s), err)
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("invalid marker %s: unexpected %s", quote(s), quote(p.s[p.i:]))
	}
	return &Marker{root: n, src: strings.TrimSpace(s)}, nil
}

// checkLength refuses a requirement or marker longer than MaxLength. The
// message gives the length, not the text.
func checkLength(what, s string) error {
	if len(s) > MaxLength {
		return fmt.Errorf("invalid %s: %d bytes long, more than the limit of %d KiB", what, len(s), MaxLength>>10)
	}
	return nil
}

// quote quotes s for an error message, shortened to its first 80 bytes:
// the text of a refused requirement can be as long as MaxLength.
func quote(s string) string {
	const n = 80
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}

// Eval reports whether the marker holds in env: true when it does or may
// (a variable absent from env is unknown), false only when it cannot.
func (m *Marker) Eval(env Env) bool {
	if m == nil {
		return true
	}
	return m.root.eval(env) != triFalse
}

type markerParser struct {
	s     string
	i     int
	depth int // parentheses open
}

func (p *markerParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// word reports whether the keyword kw (and, or, in, not) comes next.
func (p *markerParser) word(kw string) bool {
	p.space()
	if !strings.HasPrefix(p.s[p.i:], kw) {
		return false
	}
	end := p.i + len(kw)
	if end < len(p.s) && (isIdent(p.s[end]) || p.s[end] == '.') {
		return false
	}
	p.i = end
	return true
}

func isIdent(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (p *markerParser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.word("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *markerParser) and() (node, error) {
	l, err := p.expr()
	if err != nil {
		return nil, err
	}
	for p.word("and") {
		r, err := p.expr()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *markerParser) expr() (node, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if p.depth++; p.depth > MaxDepth {
			return nil, fmt.Errorf("parentheses nested more than %d deep", MaxDepth)
		}
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("missing ')'")
		}
		p.i++
		p.depth--
		return n, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	op, err := p.op()
	if err != nil {
		return nil, err
	}
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	if l.name == "" && r.name == "" {
		return nil, fmt.Errorf("comparison of two strings")
	}
	return cmpNode{l: l, r: r, op: op}, nil
}

func (p *markerParser) operand() (operand, error) {
	p.space()
	if p.i >= len(p.s) {
		return operand{}, fmt.Errorf("unexpected end")
	}
	if q := p.s[p.i]; q == '"' || q == '\'' {
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return operand{}, fmt.Errorf("unterminated string")
		}
		lit := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		return operand{lit: lit}, nil
	}
	start := p.i
	for p.i < len(p.s) && (isIdent(p.s[p.i]) || p.s[p.i] == '.') {
		p.i++
	}
	name, ok := markerVars[p.s[start:p.i]]
	if !ok {
		return operand{}, fmt.Errorf("unknown variable %s", quote(p.s[start:p.i]))
	}
	return operand{name: name}, nil
}

func (p *markerParser) op() (string, error) {
	p.space()
	for _, op := range []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"} {
		if strings.HasPrefix(p.s[p.i:], op) {
			p.i += len(op)
			return op, nil
		}
	}
	if p.word("in") {
		return "in", nil
	}
	if p.word("not") {
		if p.word("in") {
			return "not in", nil
		}
		return "", fmt.Errorf("'not' without 'in'")
	}
	return "", fmt.Errorf("expected an operator at %s", quote(p.s[p.i:]))
}
