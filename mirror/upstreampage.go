package mirror

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
)

// parsedPage is an upstream project page, source format aside.
type parsedPage struct {
	versions []string
	files    []index.MirrorFile
}

// hashLengths are the hash algorithms kept from upstream pages (those
// hashlib guarantees, which pip accepts) with their hex lengths.
var hashLengths = map[string]int{"sha256": 64, "sha512": 128, "sha384": 96, "sha224": 56, "sha1": 40, "md5": 32}

// cleanHash returns the lower-case hex digest, or "" if the algorithm is
// unknown or the value is not a digest of its length.
func cleanHash(alg, v string) (string, string) {
	alg = strings.ToLower(alg)
	n, ok := hashLengths[alg]
	if !ok || len(v) != n {
		return "", ""
	}
	if _, err := hex.DecodeString(v); err != nil {
		return "", ""
	}
	return alg, strings.ToLower(v)
}

// resolveFile turns a link into an absolute http(s) URL without fragment,
// and returns the fragment's hash if any.
func resolveFile(base *url.URL, href string) (string, string, string, error) {
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", "", "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", "", "", fmt.Errorf("not an http(s) URL: %q", href)
	}
	var alg, sum string
	if k, v, ok := strings.Cut(u.Fragment, "="); ok {
		alg, sum = cleanHash(k, v)
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), alg, sum, nil
}

// ValidFilename reports whether fn can be the filename of a mirrored file:
// a path segment of this server's /mirror/files/ URLs.
func ValidFilename(fn string) bool {
	return fn != "" && fn != "." && fn != ".." && len(fn) <= 255 && !strings.ContainsAny(fn, "/\\\x00\r\n")
}

// parseJSON parses a PEP 691 project page (with the PEP 700 and 714
// additions), resolving file URLs against base.
//
// https://packaging.python.org/en/latest/specifications/simple-repository-api/#json-serialization
func parseJSON(body []byte, base *url.URL) (*parsedPage, int64, error) {
	var doc struct {
		Meta struct {
			APIVersion string `json:"api-version"`
			LastSerial int64  `json:"_last-serial"`
		} `json:"meta"`
		Versions []string `json:"versions"`
		Files    []struct {
			Filename       string            `json:"filename"`
			URL            string            `json:"url"`
			Hashes         map[string]string `json:"hashes"`
			RequiresPython *string           `json:"requires-python"`
			Size           *int64            `json:"size"`
			UploadTime     *string           `json:"upload-time"`
			Yanked         json.RawMessage   `json:"yanked"`
			CoreMetadata   json.RawMessage   `json:"core-metadata"`
			DistInfo       json.RawMessage   `json:"dist-info-metadata"`
			DataDistInfo   json.RawMessage   `json:"data-dist-info-metadata"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("invalid JSON page: %w", err)
	}
	if major, _, _ := strings.Cut(doc.Meta.APIVersion, "."); major != "1" {
		return nil, 0, fmt.Errorf("unsupported api-version %q", doc.Meta.APIVersion)
	}
	p := &parsedPage{}
	for _, jf := range doc.Files {
		if !ValidFilename(jf.Filename) {
			continue
		}
		u, alg, sum, err := resolveFile(base, jf.URL)
		if err != nil {
			continue
		}
		f := index.MirrorFile{Filename: jf.Filename, URL: u, Hashes: map[string]string{}}
		for k, v := range jf.Hashes {
			if k, v := cleanHash(k, v); k != "" {
				f.Hashes[k] = v
			}
		}
		if alg != "" && f.Hashes[alg] == "" {
			f.Hashes[alg] = sum
		}
		if jf.RequiresPython != nil {
			f.RequiresPython = strings.TrimSpace(*jf.RequiresPython)
		}
		if jf.Size != nil && *jf.Size > 0 {
			f.Size = *jf.Size
		}
		if jf.UploadTime != nil {
			if t, err := time.Parse(time.RFC3339Nano, *jf.UploadTime); err == nil {
				f.UploadTime = t.UTC()
			}
		}
		f.Yanked, f.YankedReason = parseYanked(jf.Yanked)
		for _, m := range []json.RawMessage{jf.CoreMetadata, jf.DistInfo, jf.DataDistInfo} {
			if f.UpstreamMetadata = metadataHash(m); f.UpstreamMetadata != "" {
				break
			}
		}
		p.files = append(p.files, f)
	}
	p.versions = versions(doc.Versions, p.files)
	return p, doc.Meta.LastSerial, nil
}

func parseYanked(raw json.RawMessage) (bool, string) {
	if len(raw) == 0 {
		return false, ""
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

// metadataHash returns the sha256 of a PEP 658 core-metadata value given
// as a hash dictionary; true without hashes, false or absent give "".
func metadataHash(raw json.RawMessage) string {
	var m map[string]string
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return ""
	}
	_, sum := cleanHash("sha256", m["sha256"])
	return sum
}

// parseHTML parses a PEP 503 project page: every <a> is a file, with the
// PEP 592, 503 and 658/714 data attributes. Relative links are resolved
// against base, or against a <base href> if the page has one.
//
// https://packaging.python.org/en/latest/specifications/simple-repository-api/#project-detail
func parseHTML(body []byte, base *url.URL) (*parsedPage, error) {
	z := html.NewTokenizer(bytes.NewReader(body))
	p := &parsedPage{}
	var cur *index.MirrorFile
	var text strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != nil && err.Error() != "EOF" {
				return nil, fmt.Errorf("invalid HTML page: %w", err)
			}
			p.versions = versions(nil, p.files)
			return p, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.DataAtom {
			case atom.Base:
				for _, a := range tok.Attr {
					if a.Key == "href" {
						if b, err := base.Parse(a.Val); err == nil {
							base = b
						}
					}
				}
			case atom.A:
				f := index.MirrorFile{Hashes: map[string]string{}}
				ok := false
				for _, a := range tok.Attr {
					switch a.Key {
					case "href":
						u, alg, sum, err := resolveFile(base, a.Val)
						if err == nil {
							ok = true
							f.URL = u
							if alg != "" {
								f.Hashes[alg] = sum
							}
						}
					case "data-requires-python":
						f.RequiresPython = strings.TrimSpace(a.Val)
					case "data-yanked":
						f.Yanked, f.YankedReason = true, a.Val
					case "data-core-metadata", "data-dist-info-metadata":
						if f.UpstreamMetadata == "" {
							if k, v, found := strings.Cut(a.Val, "="); found {
								if alg, sum := cleanHash(k, v); alg == "sha256" {
									f.UpstreamMetadata = sum
								}
							}
						}
					}
				}
				if ok && tt == html.StartTagToken {
					cur = &f
					text.Reset()
				}
			}
		case html.TextToken:
			if cur != nil {
				text.Write(z.Text())
			}
		case html.EndTagToken:
			if cur != nil && z.Token().DataAtom == atom.A {
				cur.Filename = strings.TrimSpace(text.String())
				if !ValidFilename(cur.Filename) {
					// PEP 503 says the text is the filename; fall back to
					// the URL's last segment as pip does.
					if u, err := url.Parse(cur.URL); err == nil {
						cur.Filename = path.Base(u.Path)
					}
				}
				if ValidFilename(cur.Filename) {
					p.files = append(p.files, *cur)
				}
				cur = nil
			}
		}
	}
}

// versions returns the page's versions sorted by PEP 440: the upstream's
// list (PEP 700) when it gave one, plus the versions of the files' names.
// Names that do not parse add nothing; legacy versions sort first.
func versions(given []string, files []index.MirrorFile) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if pv, err := pep440.Parse(v); err == nil {
			v = pv.String()
		}
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, v := range given {
		add(v)
	}
	for _, f := range files {
		if v := fileVersion(f.Filename); v != "" {
			add(v)
		}
	}
	SortVersions(out)
	return out
}

// fileVersion returns the normalized version of a distribution filename,
// or "" if the name does not parse.
func fileVersion(fn string) string {
	f, err := dist.ParseFilename(fn)
	if err != nil {
		return ""
	}
	if v, err := pep440.Parse(f.Version); err == nil {
		return v.String()
	}
	return f.Version
}

// SortVersions sorts the versions of a page by PEP 440, legacy versions
// (which do not parse) first, in string order.
func SortVersions(vs []string) {
	slices.SortStableFunc(vs, func(a, b string) int {
		va, ea := pep440.Parse(a)
		vb, eb := pep440.Parse(b)
		switch {
		case ea != nil && eb != nil:
			return strings.Compare(a, b)
		case ea != nil:
			return -1
		case eb != nil:
			return 1
		}
		return pep440.Compare(va, vb)
	})
}
