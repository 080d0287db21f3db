package dist

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Metadata is a parsed core-metadata file (a wheel's METADATA or an sdist's
// PKG-INFO).
//
// The typed fields hold cleaned-up values: surrounding whitespace trimmed,
// folded lines of single-line fields joined with a space, and the distutils
// filler value "UNKNOWN" treated as absent (as warehouse does). Description
// and License keep their line breaks. Fields keeps every header as Python's
// email parser would return it.
//
// The JSON form (snake_case names, empty fields left out) is how the catalog
// stores a release's metadata; Raw and Fields are not part of it.
//
// https://packaging.python.org/en/latest/specifications/core-metadata/
type Metadata struct {
	// Raw is the exact bytes of the file, to be served as the PEP 658
	// ".metadata" file.
	Raw []byte `json:"-"`

	MetadataVersion        string   `json:"metadata_version,omitempty"`
	Name                   string   `json:"name,omitempty"`
	Version                string   `json:"version,omitempty"`
	Summary                string   `json:"summary,omitempty"`
	Description            string   `json:"description,omitempty"` // the Description header, else the message body
	DescriptionContentType string   `json:"description_content_type,omitempty"`
	Keywords               string   `json:"keywords,omitempty"` // comma-separated, as in the file
	HomePage               string   `json:"home_page,omitempty"`
	DownloadURL            string   `json:"download_url,omitempty"`
	Author                 string   `json:"author,omitempty"`
	AuthorEmail            string   `json:"author_email,omitempty"`
	Maintainer             string   `json:"maintainer,omitempty"`
	MaintainerEmail        string   `json:"maintainer_email,omitempty"`
	License                string   `json:"license,omitempty"`
	LicenseExpression      string   `json:"license_expression,omitempty"`
	LicenseFiles           []string `json:"license_files,omitempty"`
	RequiresPython         string   `json:"requires_python,omitempty"`
	Classifiers            []string `json:"classifiers,omitempty"`
	RequiresDist           []string `json:"requires_dist,omitempty"`
	ProvidesExtra          []string `json:"provides_extra,omitempty"`
	ProjectURLs            []string `json:"project_urls,omitempty"` // "Label, URL" entries, as in the file
	Platforms              []string `json:"platforms,omitempty"`
	Dynamic                []string `json:"dynamic,omitempty"`

	// Fields maps each header name, lower-cased, to its values in order of
	// appearance. Values are as Python's email.parser (compat32 policy)
	// returns them — the first line with leading blanks removed, continuation
	// lines kept with their indentation — except that line breaks are
	// always "\n" and invalid UTF-8 is replaced with U+FFFD. The message
	// body is not included.
	Fields map[string][]string `json:"-"`
}

// singleFields are the single-use fields whose repetition is refused: a
// second Name or Version could make two tools disagree on what a file is.
var singleFields = []string{"metadata-version", "name", "version", "requires-python"}

// ParseMetadata parses a core-metadata file. The format is that of Python's
// email.parser with the compat32 policy, which packaging.metadata uses:
// "Name: value" headers, continuation lines starting with a space or tab,
// repeated headers for multiple-use fields, and an optional body after a
// blank line that is the description when there is no Description header.
// LF, CRLF and CR line endings are all accepted. MIME headers such as
// Content-Transfer-Encoding are not interpreted.
//
// Metadata-Version, Name and Version are required. Name must be a valid
// project name and Version a valid PEP 440 version, and Metadata-Version must
// have major version 1 or 2. ParseMetadata returns an *InvalidError (Field
// "metadata") if any of these fail or if one of Metadata-Version, Name,
// Version or Requires-Python appears more than once.
//
// https://packaging.python.org/en/latest/specifications/core-metadata/
func ParseMetadata(raw []byte) (Metadata, error) {
	headers, body := parseMessage(raw)
	m := Metadata{Raw: raw, Fields: make(map[string][]string)}
	for _, h := range headers {
		m.Fields[h.name] = append(m.Fields[h.name], h.value)
	}
	for _, k := range singleFields {
		if len(m.Fields[k]) > 1 {
			return Metadata{}, invalid("metadata", fmt.Sprintf("field %s appears %d times", headerTitle(k), len(m.Fields[k])))
		}
	}

	m.MetadataVersion = m.single("metadata-version")
	m.Name = m.single("name")
	m.Version = m.single("version")
	m.Summary = m.single("summary")
	m.DescriptionContentType = m.single("description-content-type")
	m.Keywords = m.single("keywords")
	m.HomePage = m.single("home-page")
	m.DownloadURL = m.single("download-url")
	m.Author = m.single("author")
	m.AuthorEmail = m.single("author-email")
	m.Maintainer = m.single("maintainer")
	m.MaintainerEmail = m.single("maintainer-email")
	m.LicenseExpression = m.single("license-expression")
	m.RequiresPython = m.single("requires-python")
	if v := m.Fields["license"]; len(v) > 0 {
		m.License = unknown(unescapeMultiline(v[0]))
	}
	if v := m.Fields["description"]; len(v) > 0 {
		m.Description = unknown(unescapeMultiline(v[0]))
	} else if body != "" {
		m.Description = body
	}

	m.Classifiers = m.multi("classifier")
	m.RequiresDist = m.multi("requires-dist")
	m.ProvidesExtra = m.multi("provides-extra")
	m.ProjectURLs = m.multi("project-url")
	m.Platforms = m.multi("platform")
	m.Dynamic = m.multi("dynamic")
	m.LicenseFiles = m.multi("license-file")

	if err := m.validate(); err != nil {
		return Metadata{}, err
	}
	return m, nil
}

func (m *Metadata) validate() error {
	switch {
	case m.MetadataVersion == "":
		return invalid("metadata", "missing Metadata-Version field")
	case m.Name == "":
		return invalid("metadata", "missing Name field")
	case m.Version == "":
		return invalid("metadata", "missing Version field")
	}
	major, minor, ok := strings.Cut(m.MetadataVersion, ".")
	if !ok || !allDigits(major) || !allDigits(minor) {
		return invalid("metadata", fmt.Sprintf("invalid Metadata-Version %q", m.MetadataVersion))
	}
	// Consumers MUST fail on a higher major version than they support.
	if strings.TrimLeft(major, "0") != "1" && strings.TrimLeft(major, "0") != "2" {
		return invalid("metadata", fmt.Sprintf("unsupported Metadata-Version %q", m.MetadataVersion))
	}
	if !pep503.Valid(m.Name) {
		return invalid("metadata", fmt.Sprintf("Name %q is not a valid project name", m.Name))
	}
	if _, err := pep440.Parse(m.Version); err != nil {
		return &InvalidError{Field: "metadata", Reason: fmt.Sprintf("Version %q is not a valid PEP 440 version", m.Version), Err: err}
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// single returns the first value of a single-line field, unfolded.
func (m *Metadata) single(key string) string {
	v := m.Fields[key]
	if len(v) == 0 {
		return ""
	}
	return unknown(unfold(v[0]))
}

// multi returns every value of a multiple-use field, unfolded, without empty
// and "UNKNOWN" values.
func (m *Metadata) multi(key string) []string {
	var out []string
	for _, v := range m.Fields[key] {
		if v = unknown(unfold(v)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// unknown maps the distutils filler "UNKNOWN" to "".
func unknown(s string) string {
	if s == "UNKNOWN" {
		return ""
	}
	return s
}

// unfold joins the lines of a folded header value with single spaces.
func unfold(v string) string {
	if !strings.Contains(v, "\n") {
		return strings.TrimSpace(v)
	}
	var parts []string
	for line := range strings.SplitSeq(v, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

// unescapeMultiline undoes the escaping that build tools apply to multi-line
// header values (Description, License): distutils2/distlib prefix
// continuation lines with 7 spaces and '|', distutils with 8 spaces, and
// setuptools (rfc822_unescape) removes the common indentation. Lines with the
// '|' prefix lose those 8 characters; the other continuation lines lose
// their common leading whitespace, as textwrap.dedent does.
func unescapeMultiline(v string) string {
	first, rest, ok := strings.Cut(v, "\n")
	first = strings.TrimLeft(first, " \t")
	if !ok {
		return first
	}
	lines := strings.Split(rest, "\n")
	margin, have := "", false
	for _, l := range lines {
		if strings.HasPrefix(l, "       |") || strings.TrimSpace(l) == "" {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		switch {
		case !have:
			margin, have = indent, true
		default:
			margin = commonPrefix(margin, indent)
		}
	}
	var b strings.Builder
	b.Grow(len(v))
	b.WriteString(first)
	for _, l := range lines {
		b.WriteByte('\n')
		switch {
		case strings.HasPrefix(l, "       |"):
			b.WriteString(l[8:])
		case strings.TrimSpace(l) == "":
		default:
			b.WriteString(l[len(margin):])
		}
	}
	return b.String()
}

func commonPrefix(a, b string) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return a[:i]
		}
	}
	return a[:n]
}

// headerTitle turns "requires-python" into "Requires-Python" for messages.
func headerTitle(k string) string {
	b := []byte(k)
	up := true
	for i, c := range b {
		if up && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}

type header struct{ name, value string }

// parseMessage splits raw into headers and body the way Python's
// email.feedparser does with the compat32 policy:
//
//   - Lines end at "\r\n", "\r" or "\n".
//   - The header block runs until the first line that is empty (it is
//     dropped) or that is neither a continuation line (leading space or tab)
//     nor "field-name:" with field-name made of the printable ASCII
//     characters other than ':' (that line starts the body). A line starting
//     with "From " is an mbox envelope line and is skipped, unless it is the
//     last header line, in which case it starts the body.
//   - A header value is the text after the first ':' with leading spaces and
//     tabs removed, followed by its continuation lines, and no trailing
//     line break. A continuation line before any header, and a line starting
//     with ':', are ignored.
//
// Header names are lower-cased. Values and body have their line endings
// turned into "\n" and invalid UTF-8 replaced with U+FFFD. A leading UTF-8
// byte-order mark is skipped.
//
// https://github.com/python/cpython/blob/main/Lib/email/feedparser.py
func parseMessage(raw []byte) (headers []header, body string) {
	s := string(raw)
	s = strings.TrimPrefix(s, "\ufeff")

	// Collect the header lines, as feedparser._parsegen does.
	type line struct{ text, full string }
	var lines []line
	pos := 0
	bodyStart := len(s)
	for pos < len(s) {
		text, next := cutLine(s, pos)
		if text == "" { // the blank separator line
			bodyStart = next
			break
		}
		if !isHeaderLine(text) {
			bodyStart = pos
			break
		}
		lines = append(lines, line{text, s[pos:next]})
		pos = next
	}

	prefix := "" // an envelope line pushed back into the body
	var cur []string
	flush := func() {
		if cur == nil {
			return
		}
		name, first, _ := strings.Cut(cur[0], ":")
		cur[0] = strings.TrimLeft(first, " \t")
		v := strings.Join(cur, "\n")
		v = strings.TrimRight(v, "\r\n")
		headers = append(headers, header{strings.ToLower(validUTF8(name)), validUTF8(v)})
		cur = nil
	}
	for i, l := range lines {
		if c := l.text[0]; c == ' ' || c == '\t' {
			if cur != nil {
				cur = append(cur, l.text)
			}
			continue
		}
		flush()
		if strings.HasPrefix(l.text, "From ") {
			if i > 0 && i == len(lines)-1 {
				prefix = l.full
			}
			continue
		}
		if l.text[0] == ':' {
			continue
		}
		cur = []string{l.text}
	}
	flush()

	body = prefix + s[bodyStart:]
	if strings.Contains(body, "\r") {
		body = strings.ReplaceAll(body, "\r\n", "\n")
		body = strings.ReplaceAll(body, "\r", "\n")
	}
	return headers, validUTF8(body)
}

// cutLine returns the line starting at pos without its line ending, and the
// position just after that line ending.
func cutLine(s string, pos int) (text string, next int) {
	i := strings.IndexAny(s[pos:], "\r\n")
	if i < 0 {
		return s[pos:], len(s)
	}
	end := pos + i
	next = end + 1
	if s[end] == '\r' && next < len(s) && s[next] == '\n' {
		next++
	}
	return s[pos:end], next
}

// isHeaderLine reports whether a non-empty line matches feedparser's
// headerRE: ^(From |[\041-\071\073-\176]*:|[\t ]).
func isHeaderLine(text string) bool {
	if c := text[0]; c == ' ' || c == '\t' || strings.HasPrefix(text, "From ") {
		return true
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == ':' {
			return true
		}
		if c < 0o41 || c > 0o176 {
			return false
		}
	}
	return false
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
