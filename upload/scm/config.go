package scm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Pyproject is what this package reads from a pyproject.toml.
type Pyproject struct {
	// Path is the file that was read.
	Path string
	// Name is [project] name, "" when absent.
	Name string
	// Table is [tool.setuptools_scm]; nil when the file has no such table.
	Table map[string]any
	// BuildRequires is [build-system] requires, as written.
	BuildRequires []string
}

// ReadPyproject reads path. A missing file is returned as an error wrapping
// fs.ErrNotExist; a file that does not parse is ErrConfig.
func ReadPyproject(path string) (*Pyproject, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Project     map[string]any `toml:"project"`
		Tool        map[string]any `toml:"tool"`
		BuildSystem map[string]any `toml:"build-system"`
	}
	if _, err := toml.Decode(string(b), &doc); err != nil {
		return nil, errorf(ErrConfig, "%s: %v", path, err)
	}
	p := &Pyproject{Path: path}
	if name, ok := doc.Project["name"].(string); ok {
		p.Name = name
	}
	if t, ok := doc.Tool["setuptools_scm"].(map[string]any); ok {
		p.Table = t
	}
	if reqs, ok := doc.BuildSystem["requires"].([]any); ok {
		for _, r := range reqs {
			if s, ok := r.(string); ok {
				p.BuildRequires = append(p.BuildRequires, s)
			}
		}
	}
	return p, nil
}

// FindPyproject returns the first pyproject.toml in dir or its parents
// (setuptools_scm's CLI lookup), or "" when there is none.
func FindPyproject(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for _, d := range potentialRoots(abs, true) {
		p := filepath.Join(d, "pyproject.toml")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", nil
}

// Apply sets o from the file: Table through ApplyTable (relative paths
// against the file's directory, Root defaulting to that directory), and
// DistName from [project] name when the table does not set dist_name.
// Call it before applying command-line flags, which win.
func (p *Pyproject) Apply(o *Options) error {
	dir := filepath.Dir(p.Path)
	if p.Table != nil {
		if o.Root == "" {
			o.Root = dir
		}
		if err := ApplyTable(o, p.Table, dir); err != nil {
			return fmt.Errorf("%s: [tool.setuptools_scm]: %w", p.Path, err)
		}
	}
	if o.DistName == "" {
		o.DistName = p.Name
	}
	return nil
}

// ApplyTable sets o's fields from a [tool.setuptools_scm] table (or a
// get_version keyword dict). Keys are setuptools_scm's: version_scheme,
// local_scheme (string or list), tag_regex, git_describe_command (string,
// shell-split, or list), fallback_version, fallback_root, root,
// parentdir_prefix_version, normalize, dist_name,
// search_parent_directories, the 9+ table scm.git (describe_command,
// pre_parse) and the 10.1+ table tag (regex, prefix, strict). Relative root
// and fallback_root are joined to baseDir. Keys that only write files
// (version_file, write_to, …) are accepted and ignored; any other key is
// ErrConfig.
func ApplyTable(o *Options, table map[string]any, baseDir string) error {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if err := applyKey(o, k, table[k], baseDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func applyKey(o *Options, key string, v any, baseDir string) error {
	bad := func(want string) error {
		return errorf(ErrConfig, "%s: want %s, got %T", key, want, v)
	}
	str := func(dst *string) error {
		s, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		*dst = s
		return nil
	}
	boolean := func(dst *bool) error {
		b, ok := v.(bool)
		if !ok {
			return bad("true or false")
		}
		*dst = b
		return nil
	}
	path := func(dst *string) error {
		var s string
		if err := str(&s); err != nil {
			return err
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(baseDir, s)
		}
		*dst = s
		return nil
	}
	switch key {
	case "version_scheme":
		l, err := stringList(v)
		if err != nil {
			return bad("a string or a list of strings")
		}
		o.VersionScheme = l
	case "local_scheme":
		l, err := stringList(v)
		if err != nil {
			return bad("a string or a list of strings")
		}
		o.LocalScheme = l
	case "tag_regex":
		return str(&o.TagRegex)
	case "git_describe_command":
		argv, err := commandList(v)
		if err != nil {
			return errorf(ErrConfig, "%s: %v", key, err)
		}
		o.DescribeCommand = argv
	case "fallback_version":
		return str(&o.FallbackVersion)
	case "fallback_root":
		return path(&o.FallbackRoot)
	case "root":
		return path(&o.Root)
	case "parentdir_prefix_version":
		return str(&o.ParentdirPrefixVersion)
	case "normalize":
		var n bool
		if err := boolean(&n); err != nil {
			return err
		}
		o.NoNormalize = !n
	case "dist_name":
		return str(&o.DistName)
	case "search_parent_directories":
		return boolean(&o.SearchParentDirectories)
	case "scm":
		t, ok := v.(map[string]any)
		if !ok {
			return bad("a table")
		}
		git, ok := t["git"].(map[string]any)
		if !ok {
			return nil
		}
		if dc, ok := git["describe_command"]; ok {
			argv, err := commandList(dc)
			if err != nil {
				return errorf(ErrConfig, "scm.git.describe_command: %v", err)
			}
			o.DescribeCommand = argv
		}
		if pp, ok := git["pre_parse"]; ok {
			s, ok := pp.(string)
			if !ok {
				return errorf(ErrConfig, "scm.git.pre_parse: want a string, got %T", pp)
			}
			o.PreParse = s
		}
	case "tag":
		t, ok := v.(map[string]any)
		if !ok {
			return bad("a table")
		}
		for k, tv := range t {
			switch k {
			case "regex", "prefix":
				s, ok := tv.(string)
				if !ok {
					return errorf(ErrConfig, "tag.%s: want a string, got %T", k, tv)
				}
				if k == "regex" {
					o.TagRegex = s
				} else {
					o.TagPrefix = s
				}
			case "strict":
				b, ok := tv.(bool)
				if !ok {
					return errorf(ErrConfig, "tag.strict: want true or false, got %T", tv)
				}
				o.TagStrict = b
			}
		}
	case "version_file", "version_file_template", "write_to", "write_to_template",
		"relative_to", "version_cls", "parse", "hg_command":
		// They write files or need Python; they do not change the string.
	default:
		return errorf(ErrConfig, "unknown key %s", key)
	}
	return nil
}

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("not a string: %v", x)
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return v, nil
	}
	return nil, fmt.Errorf("not a string or list")
}

func commandList(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		return SplitCommand(s)
	}
	return stringList(v)
}

// SplitCommand splits s like Python's shlex.split (POSIX mode), which is
// how setuptools_scm turns a git_describe_command string into argv:
// whitespace separates words, single quotes are literal, double quotes
// allow \" \\ \$ \` escapes, and a backslash outside quotes escapes the
// next character. Comments are not recognised (shlex.split's default).
func SplitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					cur.WriteByte(s[i])
				}
			}
		case ch == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errorf(ErrConfig, "no closing quotation in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case ch == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errorf(ErrConfig, "no closing quotation in %q", s)
			}
		default:
			inWord = true
			cur.WriteByte(ch)
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// WithSchemes returns a copy of r that formats with other version and
// local schemes (nil keeps the current ones). It runs no git command.
func (r *Result) WithSchemes(versionScheme, localScheme []string) *Result {
	c := *r.c
	if versionScheme != nil {
		c.VersionScheme = versionScheme
	}
	if localScheme != nil {
		c.LocalScheme = localScheme
	}
	cp := *r
	cp.c = &c
	return &cp
}
