package simple

import (
	"strings"

	"github.com/pyindex/pyindex/index/httpx"
)

// Format is a negotiated representation of a simple-API page.
type Format int

// The three content types of the simple repository API, in PyPI's offer
// order (which breaks ties between equally preferred types).
const (
	FormatHTML   Format = iota // text/html (legacy PEP 503)
	FormatV1HTML               // application/vnd.pypi.simple.v1+html
	FormatV1JSON               // application/vnd.pypi.simple.v1+json
)

// Content types of the simple repository API.
const (
	ContentTypeHTML   = "text/html"
	ContentTypeV1HTML = "application/vnd.pypi.simple.v1+html"
	ContentTypeV1JSON = "application/vnd.pypi.simple.v1+json"
)

// ContentType returns the exact Content-Type to send for f.
func (f Format) ContentType() string {
	switch f {
	case FormatV1HTML:
		return ContentTypeV1HTML
	case FormatV1JSON:
		return ContentTypeV1JSON
	}
	return ContentTypeHTML
}

// JSON reports whether f is the JSON serialization.
func (f Format) JSON() bool { return f == FormatV1JSON }

// formatParam maps the values accepted in ?format= (the five PyPI's CDN
// honours) to a format.
var formatParam = map[string]Format{
	"text/html":                               FormatHTML,
	"application/vnd.pypi.simple.v1+html":     FormatV1HTML,
	"application/vnd.pypi.simple.v1+json":     FormatV1JSON,
	"application/vnd.pypi.simple.latest+html": FormatV1HTML,
	"application/vnd.pypi.simple.latest+json": FormatV1JSON,
}

// Negotiate picks the representation of a simple-API page from the ?format=
// parameter (when it names one of the API's types, it wins) or else the
// Accept header with q-values. Ties go to PyPI's offer order (text/html,
// v1+html, v1+json); an absent or unsatisfiable Accept gets text/html, as
// on PyPI, because pip skips an index that answers 406.
//
// https://packaging.python.org/en/latest/specifications/simple-repository-api/#version-format-selection
func Negotiate(accept, format string) Format {
	if format != "" {
		if f, ok := formatParam[strings.ToLower(strings.TrimSpace(format))]; ok {
			return f
		}
	}
	if accept == "" {
		return FormatHTML
	}
	return negotiated.Get(accept)
}

// negotiated is negotiate's answers for the Accept headers seen.
var negotiated = httpx.NewHeaderMemo(negotiate)

// negotiate picks the format an Accept header prefers.
func negotiate(accept string) Format {
	// q[i] is the quality of offer i, spec[i] the specificity of the
	// media range that set it (exact 3 > type/* 2 > */* 1).
	var q [3]float64
	var spec [3]int
	for mt, quality := range httpx.Qualities(accept) {
		for i := FormatHTML; i <= FormatV1JSON; i++ {
			s := matchSpecificity(mt, i)
			if s > spec[i] {
				spec[i], q[i] = s, quality
			}
		}
	}
	best, bestQ := FormatHTML, 0.0
	for i := FormatHTML; i <= FormatV1JSON; i++ {
		if spec[i] > 0 && q[i] > bestQ {
			best, bestQ = i, q[i]
		}
	}
	return best
}

func matchSpecificity(mediaRange string, f Format) int {
	switch mediaRange {
	case "*/*":
		return 1
	case "text/*":
		if f == FormatHTML {
			return 2
		}
	case "application/*":
		if f != FormatHTML {
			return 2
		}
	case ContentTypeHTML:
		if f == FormatHTML {
			return 3
		}
	case ContentTypeV1HTML, "application/vnd.pypi.simple.latest+html":
		if f == FormatV1HTML {
			return 3
		}
	case ContentTypeV1JSON, "application/vnd.pypi.simple.latest+json":
		if f == FormatV1JSON {
			return 3
		}
	}
	return 0
}
