package dist

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		check func(t *testing.T, m Metadata)
	}{
		{
			name: "setuptools 2.1 with body",
			raw: "Metadata-Version: 2.1\nName: acme-core\nVersion: 1.0\nSummary: Core of the acme test project.\n" +
				"Author-email: Acme Test <acme@example.com>\nLicense: MIT\nProject-URL: Homepage, https://example.com/acme-core\n" +
				"Classifier: Programming Language :: Python :: 3\nClassifier: License :: OSI Approved :: MIT License\n" +
				"Requires-Python: >=3.8\nDescription-Content-Type: text/markdown\nRequires-Dist: acme-util (>=0.1)\n" +
				"Provides-Extra: extra\nRequires-Dist: acme-future ; (python_version >= \"3.99\") and extra == 'extra'\n" +
				"\n# acme-core\n\nA tiny test distribution.\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "MetadataVersion", m.MetadataVersion, "2.1")
				eq(t, "Name", m.Name, "acme-core")
				eq(t, "Version", m.Version, "1.0")
				eq(t, "Summary", m.Summary, "Core of the acme test project.")
				eq(t, "AuthorEmail", m.AuthorEmail, "Acme Test <acme@example.com>")
				eq(t, "License", m.License, "MIT")
				eq(t, "RequiresPython", m.RequiresPython, ">=3.8")
				eq(t, "DescriptionContentType", m.DescriptionContentType, "text/markdown")
				eq(t, "Description", m.Description, "# acme-core\n\nA tiny test distribution.\n")
				eqs(t, "Classifiers", m.Classifiers, []string{"Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"})
				eqs(t, "RequiresDist", m.RequiresDist, []string{"acme-util (>=0.1)", "acme-future ; (python_version >= \"3.99\") and extra == 'extra'"})
				eqs(t, "ProvidesExtra", m.ProvidesExtra, []string{"extra"})
				eqs(t, "ProjectURLs", m.ProjectURLs, []string{"Homepage, https://example.com/acme-core"})
				eqs(t, "Fields[classifier]", m.Fields["classifier"], m.Classifiers)
			},
		},
		{
			name: "CRLF and continuation lines",
			raw:  "Metadata-Version: 1.2\r\nName: foo\r\nVersion: 2\r\nSummary: a long\r\n  summary\r\n\tfolded\r\nKeywords: a,b, c\r\n\r\nbody\r\nline 2\r\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Summary", m.Summary, "a long summary folded")
				eqs(t, "Fields[summary]", m.Fields["summary"], []string{"a long\n  summary\n\tfolded"})
				eq(t, "Keywords", m.Keywords, "a,b, c")
				eq(t, "Description", m.Description, "body\nline 2\n")
			},
		},
		{
			name: "lone CR line endings",
			raw:  "Metadata-Version: 1.0\rName: foo\rVersion: 1\r\rbody\r",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Name", m.Name, "foo")
				eq(t, "Description", m.Description, "body\n")
			},
		},
		{
			name: "header names are case-insensitive, repeated fields kept in order",
			raw:  "metadata-version: 2.4\nNAME: foo\nversion: 1\nclassifier: A\nCLASSIFIER: B\nClassifier: C\nLicense-Expression: MIT OR Apache-2.0\nLicense-File: LICENSE\nLicense-File: NOTICE\nDynamic: Requires-Dist\nPlatform: UNKNOWN\nPlatform: linux\nX-Custom: one\n",
			check: func(t *testing.T, m Metadata) {
				eqs(t, "Classifiers", m.Classifiers, []string{"A", "B", "C"})
				eq(t, "LicenseExpression", m.LicenseExpression, "MIT OR Apache-2.0")
				eqs(t, "LicenseFiles", m.LicenseFiles, []string{"LICENSE", "NOTICE"})
				eqs(t, "Dynamic", m.Dynamic, []string{"Requires-Dist"})
				eqs(t, "Platforms", m.Platforms, []string{"linux"})
				eqs(t, "Fields[platform]", m.Fields["platform"], []string{"UNKNOWN", "linux"})
				eqs(t, "Fields[x-custom]", m.Fields["x-custom"], []string{"one"})
			},
		},
		{
			name: "distutils UNKNOWN filler",
			raw:  "Metadata-Version: 1.0\nName: old\nVersion: 0.1\nSummary: UNKNOWN\nHome-page: UNKNOWN\nAuthor: UNKNOWN\nLicense: UNKNOWN\nDescription: UNKNOWN\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Summary", m.Summary, "")
				eq(t, "HomePage", m.HomePage, "")
				eq(t, "License", m.License, "")
				eq(t, "Description", m.Description, "")
			},
		},
		{
			name: "Description header with distutils 8-space continuation",
			raw:  "Metadata-Version: 1.1\nName: old\nVersion: 1\nDescription: First line\n        second line\n          indented\n        \n        last\nHome-page: https://example.com\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Description", m.Description, "First line\nsecond line\n  indented\n\nlast")
				eq(t, "HomePage", m.HomePage, "https://example.com")
			},
		},
		{
			name: "Description header with '       |' continuation",
			raw:  "Metadata-Version: 1.2\nName: old\nVersion: 1\nDescription: Title\n       |=====\n       |\n       |    code block\n       |\nAuthor: A\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Description", m.Description, "Title\n=====\n\n    code block\n")
				eq(t, "Author", m.Author, "A")
			},
		},
		{
			name: "Description header wins over body",
			raw:  "Metadata-Version: 2.1\nName: foo\nVersion: 1\nDescription: from header\n\nfrom body\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Description", m.Description, "from header")
			},
		},
		{
			name: "multi-line License keeps its lines",
			raw:  "Metadata-Version: 2.1\nName: foo\nVersion: 1\nLicense: Copyright X\n        \n        Permission is granted\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "License", m.License, "Copyright X\n\nPermission is granted")
			},
		},
		{
			name: "UTF-8 values and invalid bytes",
			raw:  "Metadata-Version: 2.1\nName: foo\nVersion: 1\nAuthor: J\u00fcrgen \u6f22\nMaintainer: J\xfcrgen\n\nb\u00f6dy \xff\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Author", m.Author, "J\u00fcrgen \u6f22")
				eq(t, "Maintainer", m.Maintainer, "J\ufffdrgen")
				eq(t, "Description", m.Description, "b\u00f6dy \ufffd\n")
			},
		},
		{
			name: "a non-header line ends the headers and starts the body",
			raw:  "Metadata-Version: 2.1\nName: foo\nVersion: 1\nthis is not a header\nSummary: in the body\n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Summary", m.Summary, "")
				eq(t, "Description", m.Description, "this is not a header\nSummary: in the body\n")
			},
		},
		{
			name: "no trailing newline, byte-order mark",
			raw:  "\ufeffMetadata-Version: 2.1\nName: foo\nVersion: 1.0.post1",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Version", m.Version, "1.0.post1")
				eq(t, "Description", m.Description, "")
			},
		},
		{
			name: "trailing whitespace trimmed in typed fields",
			raw:  "Metadata-Version: 2.1 \nName:\tfoo  \nVersion:  1.0 \n",
			check: func(t *testing.T, m Metadata) {
				eq(t, "Name", m.Name, "foo")
				eq(t, "Version", m.Version, "1.0")
				eqs(t, "Fields[name]", m.Fields["name"], []string{"foo  "})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMetadata([]byte(tc.raw))
			if err != nil {
				t.Fatalf("ParseMetadata: %v", err)
			}
			if string(m.Raw) != tc.raw {
				t.Errorf("Raw was not kept byte for byte")
			}
			tc.check(t, m)
		})
	}
}

func TestParseMetadataInvalid(t *testing.T) {
	tests := []struct {
		name, raw, reason string
	}{
		{"empty", "", "missing Metadata-Version"},
		{"missing name", "Metadata-Version: 2.1\nVersion: 1.0\n", "missing Name"},
		{"missing version", "Metadata-Version: 2.1\nName: foo\n", "missing Version"},
		{"missing metadata version", "Name: foo\nVersion: 1.0\n", "missing Metadata-Version"},
		{"empty name", "Metadata-Version: 2.1\nName:\nVersion: 1.0\n", "missing Name"},
		{"UNKNOWN name", "Metadata-Version: 2.1\nName: UNKNOWN\nVersion: 1.0\n", "missing Name"},
		{"name after blank line", "Metadata-Version: 2.1\n\nName: foo\nVersion: 1.0\n", "missing Name"},
		{"bad name", "Metadata-Version: 2.1\nName: foo bar\nVersion: 1.0\n", "not a valid project name"},
		{"bad version", "Metadata-Version: 2.1\nName: foo\nVersion: 1.0-beta-gamma\n", "not a valid PEP 440 version"},
		{"two names", "Metadata-Version: 2.1\nName: foo\nName: bar\nVersion: 1.0\n", "Name appears 2 times"},
		{"two versions", "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nversion: 2.0\n", "Version appears 2 times"},
		{"two requires-python", "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nRequires-Python: >=3\nRequires-Python: <3\n", "Requires-Python appears 2 times"},
		{"metadata version 3", "Metadata-Version: 3.0\nName: foo\nVersion: 1.0\n", "unsupported Metadata-Version"},
		{"metadata version junk", "Metadata-Version: two\nName: foo\nVersion: 1.0\n", "invalid Metadata-Version"},
		{"control chars in message", "Metadata-Version: 2.1\nName: foo\x1b[2J\nVersion: 1.0\n", "not a valid project name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMetadata([]byte(tc.raw))
			assertInvalid(t, err, "metadata", tc.reason)
		})
	}
}

func eq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func eqs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestUnescapeMultiline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"one line", "one line"},
		{"a\n  b\n  c", "a\nb\nc"},
		{"a\n    b\n  c", "a\n  b\nc"},
		{"a\n\tb\n\t\tc", "a\nb\n\tc"},
		{"a\n       |b\n       |  c\n       |", "a\nb\n  c\n"},
		{"a\n  \n  b", "a\n\nb"},
	}
	for _, tc := range tests {
		if got := unescapeMultiline(tc.in); got != tc.want {
			t.Errorf("unescapeMultiline(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHeaderTitle(t *testing.T) {
	if got := headerTitle("requires-python"); got != "Requires-Python" {
		t.Errorf("headerTitle = %q", got)
	}
	if got := strings.ToLower(headerTitle("metadata-version")); got != "metadata-version" {
		t.Errorf("headerTitle round trip = %q", got)
	}
}
