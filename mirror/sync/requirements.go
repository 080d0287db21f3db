package sync

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pyindex/pyindex/index/pep508"
)

// RequirementsFile is what a pip requirements file asks for.
type RequirementsFile struct {
	Requirements []pep508.Requirement
	// Constraints come from -c files: they narrow the versions of a
	// project whenever it is synced, and add no project.
	Constraints []pep508.Requirement
}

// ParseRequirementsFile reads a pip requirements file: one requirement a
// line, comments, backslash continuations, `-r FILE` includes and `-c
// FILE` constraints (relative to the including file). Per-requirement
// options (--hash) and global options (--index-url, --pre, ...) are
// ignored. Editables (-e), URLs and paths are refused with an error
// wrapping pep508.ErrUnsupported that names the file and line.
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
				return fmt.Errorf("%s: %w: %s %s is a URL", where, pep508.ErrUnsupported, opt, arg)
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
			return fmt.Errorf("%s: %w: editable %q (a local or VCS checkout) cannot be synced from an index", where, pep508.ErrUnsupported, arg)
		}
		return nil // --index-url, --pre, --find-links ...: not the sync's business
	}
	// Per-requirement options start at " --" (--hash, --config-settings).
	if i := strings.Index(text, " --"); i >= 0 {
		text = strings.TrimSpace(text[:i])
	}
	r, err := pep508.ParseRequirement(text)
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
