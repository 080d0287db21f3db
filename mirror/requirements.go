package mirror

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Requirement is a parsed PEP 508 dependency specifier without a URL:
// `name[extra,...] specifier ; marker`.
//
// https://packaging.python.org/en/latest/specifications/dependency-specifiers/
type Requirement struct {
	Name      string   // PEP 503 normalized
	Extras    []string // normalized, sorted, unique
	Specifier pep440.SpecifierSet
	Marker    *Marker // nil: none
}

// String returns the requirement in canonical form.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	b.WriteString(r.Specifier.String())
	if r.Marker != nil {
		b.WriteString("; " + r.Marker.String())
	}
	return b.String()
}

// ErrUnsupportedRequirement is wrapped by errors for requirements a sync
// cannot follow: URLs, local paths and editables.
var ErrUnsupportedRequirement = errors.New("unsupported requirement")

// ParseRequirement parses one PEP 508 requirement. Direct references
// (`name @ URL`) and bare URLs or paths wrap ErrUnsupportedRequirement: a
// mirror syncs from its upstream index only.
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	var r Requirement
	spec, marker, hasMarker := strings.Cut(s, ";")
	if hasMarker {
		m, err := ParseMarker(marker)
		if err != nil {
			return r, err
		}
		r.Marker = m
	}
	spec = strings.TrimSpace(spec)
	i := 0
	for i < len(spec) && (isIdent(spec[i]) || spec[i] == '-' || spec[i] == '.') {
		i++
	}
	name := spec[:i]
	rest := strings.TrimSpace(spec[i:])
	if strings.Contains(s, "://") || strings.HasPrefix(rest, "@") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return r, fmt.Errorf("%w: %q is a URL or a path; sync takes names from the upstream index (name, extras, versions, markers)", ErrUnsupportedRequirement, s)
	}
	if name == "" || !pep503.Valid(name) {
		return r, fmt.Errorf("invalid requirement %q: no project name", s)
	}
	r.Name = pep503.Normalize(name)
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return r, fmt.Errorf("invalid requirement %q: missing ']'", s)
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			if e = strings.TrimSpace(e); e != "" {
				if !pep503.Valid(e) {
					return r, fmt.Errorf("invalid requirement %q: bad extra %q", s, e)
				}
				r.Extras = append(r.Extras, pep503.Normalize(e))
			}
		}
		slices.Sort(r.Extras)
		r.Extras = slices.Compact(r.Extras)
		rest = strings.TrimSpace(rest[end+1:])
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = rest[1 : len(rest)-1]
	}
	set, err := pep440.ParseSpecifierSet(rest)
	if err != nil {
		return r, fmt.Errorf("invalid requirement %q: %w", s, err)
	}
	r.Specifier = set
	return r, nil
}

// RequirementsFile is what a pip requirements file asks for.
type RequirementsFile struct {
	Requirements []Requirement
	// Constraints come from -c files: they narrow the versions of a
	// project whenever it is synced, and add no project.
	Constraints []Requirement
}

// ParseRequirementsFile reads a pip requirements file: one requirement a
// line, comments, backslash continuations, `-r FILE` includes and `-c
// FILE` constraints (relative to the including file). Per-requirement
// options (--hash) and global options (--index-url, --pre, ...) are
// ignored. Editables (-e), URLs and paths are refused with an error
// wrapping ErrUnsupportedRequirement that names the file and line.
//
// https://pip.pypa.io/en/stable/reference/requirements-file-format/
func ParseRequirementsFile(path string) (*RequirementsFile, error) {
	out := &RequirementsFile{}
	err := parseReqFile(path, out, false, map[string]bool{})
	return out, err
}

func parseReqFile(path string, out *RequirementsFile, constraint bool, seen map[string]bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if seen[abs] {
		return nil // an include cycle
	}
	seen[abs] = true
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		line  strings.Builder
		lineN int
		start int
	)
	flush := func() error {
		text := line.String()
		line.Reset()
		if err := reqLine(path, start, text, out, constraint, seen); err != nil {
			return err
		}
		return nil
	}
	for sc.Scan() {
		lineN++
		t := sc.Text()
		if line.Len() == 0 {
			start = lineN
		}
		if strings.HasSuffix(t, "\\") {
			line.WriteString(strings.TrimSuffix(t, "\\"))
			continue
		}
		line.WriteString(t)
		if err := flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if line.Len() > 0 {
		return flush()
	}
	return nil
}

// reqLine handles one logical line of a requirements file.
func reqLine(path string, n int, text string, out *RequirementsFile, constraint bool, seen map[string]bool) error {
	// A comment starts at "#" at the start or after whitespace.
	if i := strings.Index(text, "#"); i == 0 {
		text = ""
	} else if i := strings.Index(text, " #"); i >= 0 {
		text = text[:i]
	} else if i := strings.Index(text, "\t#"); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	where := fmt.Sprintf("%s:%d", path, n)
	if strings.HasPrefix(text, "-") {
		opt, arg := splitOption(text)
		include := func(c bool) error {
			if arg == "" {
				return fmt.Errorf("%s: %s needs a file", where, opt)
			}
			if strings.Contains(arg, "://") {
				return fmt.Errorf("%s: %w: %s %s is a URL", where, ErrUnsupportedRequirement, opt, arg)
			}
			if !filepath.IsAbs(arg) {
				arg = filepath.Join(filepath.Dir(path), arg)
			}
			return parseReqFile(arg, out, c, seen)
		}
		switch opt {
		case "-r", "--requirement":
			return include(constraint)
		case "-c", "--constraint":
			return include(true)
		case "-e", "--editable":
			return fmt.Errorf("%s: %w: editable %q (a local or VCS checkout) cannot be synced from an index", where, ErrUnsupportedRequirement, arg)
		}
		return nil // --index-url, --pre, --find-links ...: not the sync's business
	}
	// Per-requirement options start at " --" (--hash, --config-settings).
	if i := strings.Index(text, " --"); i >= 0 {
		text = strings.TrimSpace(text[:i])
	}
	r, err := ParseRequirement(text)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if constraint {
		out.Constraints = append(out.Constraints, r)
	} else {
		out.Requirements = append(out.Requirements, r)
	}
	return nil
}

// splitOption splits "-r file", "-rfile", "--requirement=file" and
// "--requirement file".
func splitOption(text string) (string, string) {
	if strings.HasPrefix(text, "--") {
		opt, arg, ok := strings.Cut(text, "=")
		if !ok {
			opt, arg, _ = strings.Cut(text, " ")
		}
		return strings.TrimSpace(opt), strings.TrimSpace(arg)
	}
	if len(text) > 2 && text[2] != ' ' {
		return text[:2], strings.TrimSpace(text[2:])
	}
	opt, arg, _ := strings.Cut(text, " ")
	return opt, strings.TrimSpace(arg)
}
