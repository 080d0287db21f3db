package simple

import (
	"strconv"
	"strings"
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
	// q[i] is the quality of offer i, spec[i] the specificity of the
	// media range that set it (exact 3 > type/* 2 > */* 1).
	var q [3]float64
	var spec [3]int
	for len(accept) > 0 {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if mt == "" {
			continue
		}
		quality := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					quality = f
				} else {
					quality = 0
				}
			}
		}
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

// acceptsGzip reports whether an Accept-Encoding header allows gzip: an
// explicit gzip (or x-gzip) entry decides, else "*" does (RFC 9110 12.5.3).
func acceptsGzip(ae string) bool {
	gzipQ, starQ := -1.0, -1.0
	for ae != "" {
		var part string
		part, ae, _ = strings.Cut(ae, ",")
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(params, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		if coding == "*" {
			starQ = max(starQ, q)
		} else {
			gzipQ = max(gzipQ, q)
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
