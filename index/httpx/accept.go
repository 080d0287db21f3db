package httpx

import (
	"iter"
	"strconv"
	"strings"
)

// Qualities yields each entry of a comma-separated header with q-values
// (Accept, Accept-Encoding): the lower-cased value (a media range or a
// content coding) and its quality, 1 unless a q parameter says otherwise.
// A q that is not a number from 0 to 1 counts as 0: such an entry accepts
// nothing. Empty entries are skipped.
//
// https://www.rfc-editor.org/rfc/rfc9110#section-12.4.2
func Qualities(header string) iter.Seq2[string, float64] {
	return func(yield func(string, float64) bool) {
		for header != "" {
			var part string
			part, header, _ = strings.Cut(header, ",")
			value, params, _ := strings.Cut(part, ";")
			value = strings.ToLower(strings.TrimSpace(value))
			if value == "" {
				continue
			}
			q := 1.0
			for params != "" {
				var p string
				p, params, _ = strings.Cut(params, ";")
				if k, v, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), "q") {
					q = parseQ(v)
				}
			}
			if !yield(value, q) {
				return
			}
		}
	}
}

func parseQ(v string) float64 {
	q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || q < 0 || q > 1 {
		return 0
	}
	return q
}

// AcceptsGzip reports whether an Accept-Encoding header allows gzip: an
// explicit gzip (or x-gzip) entry decides, else "*" does (RFC 9110 12.5.3).
func AcceptsGzip(acceptEncoding string) bool { return acceptsGzip.Get(acceptEncoding) }

var acceptsGzip = NewHeaderMemo(func(acceptEncoding string) bool {
	gzipQ, starQ := -1.0, -1.0
	for coding, q := range Qualities(acceptEncoding) {
		switch coding {
		case "gzip", "x-gzip":
			gzipQ = max(gzipQ, q)
		case "*":
			starQ = max(starQ, q)
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
})

// PrefersJSON reports whether an Accept header ranks application/json above
// text/plain (uv sends "application/json;q=0.9, text/plain;q=0.8, ...").
func PrefersJSON(accept string) bool {
	var qj, qt float64 = -1, -1
	for mt, q := range Qualities(accept) {
		switch mt {
		case "application/json":
			qj = q
		case "text/plain":
			qt = q
		}
	}
	return qj > 0 && qj > qt
}
