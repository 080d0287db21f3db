package simple

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"
	"strconv"

	"github.com/pyindex/pyindex/index"
)

// APIVersion is the simple repository API version this server speaks. 1.1
// (PEP 700) made versions and size mandatory; everything after it is
// optional, so like PyPI we can say 1.4. The HTML form is frozen at 1.4.
const APIVersion = "1.4"

// APIVersionWithoutSize is the api-version of a JSON page that lacks the
// size of a file (unknown): 1.0, before PEP 700 made size mandatory.
const APIVersionWithoutSize = "1.0"

// RootEntry is one project in the root index.
type RootEntry struct {
	Name       string // normalized (used in the href)
	Display    string // shown as the link text
	LastSerial int64
	// Mirrored marks a project served from the mirror's cache: HTML gives
	// its link data-mirrored="true", JSON "_mirrored": true (a private key,
	// PEP 691).
	Mirrored bool
}

// renderProjectHTML writes a PEP 503 page in PyPI's shape.
//
// https://packaging.python.org/en/latest/specifications/simple-repository-api/#project-detail
func renderProjectHTML(p *index.Page) []byte {
	var b bytes.Buffer
	b.Grow(512 + len(p.Files)*300)
	name := html.EscapeString(p.Name)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"")
	b.WriteString(APIVersion)
	b.WriteString("\">\n    <title>Links for ")
	b.WriteString(name)
	b.WriteString("</title>\n  </head>\n  <body>\n    <h1>Links for ")
	b.WriteString(name)
	b.WriteString("</h1>\n")
	for i := range p.Files {
		f := &p.Files[i]
		b.WriteString(`    <a href="`)
		b.WriteString(html.EscapeString(f.URL))
		if h, name := preferredHash(f.Hashes); h != "" {
			b.WriteString("#" + name + "=" + h)
		}
		b.WriteByte('"')
		if f.RequiresPython != "" {
			b.WriteString(` data-requires-python="`)
			b.WriteString(html.EscapeString(f.RequiresPython))
			b.WriteByte('"')
		}
		if f.Yanked {
			b.WriteString(` data-yanked="`)
			b.WriteString(html.EscapeString(f.YankedReason))
			b.WriteByte('"')
		}
		if f.CoreMetadata != "" {
			// PEP 714: the new name, plus the old one with the same value
			// for pip versions that only know data-dist-info-metadata.
			b.WriteString(` data-dist-info-metadata="sha256=` + f.CoreMetadata + `" data-core-metadata="sha256=` + f.CoreMetadata + `"`)
		}
		b.WriteByte('>')
		b.WriteString(html.EscapeString(f.Filename))
		b.WriteString("</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n<!--SERIAL ")
	b.WriteString(strconv.FormatInt(p.Serial, 10))
	b.WriteString("-->\n")
	return b.Bytes()
}

func preferredHash(h map[string]string) (hex, name string) {
	for _, n := range []string{"sha256", "sha512", "sha384", "sha224", "sha1", "md5"} {
		if v := h[n]; v != "" {
			return v, n
		}
	}
	return "", ""
}

type jsonMeta struct {
	APIVersion string `json:"api-version"`
	LastSerial int64  `json:"_last-serial"`
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython *string           `json:"requires-python"`
	Size           *int64            `json:"size,omitempty"` // nil: unknown (see renderProjectJSON)
	UploadTime     *string           `json:"upload-time,omitempty"`
	Yanked         any               `json:"yanked"`
	CoreMetadata   any               `json:"core-metadata"`
}

type jsonStatus struct {
	Status string `json:"status"`
}

type jsonProject struct {
	Meta          jsonMeta   `json:"meta"`
	Name          string     `json:"name"`
	Files         []jsonFile `json:"files"`
	Versions      []string   `json:"versions"`
	ProjectStatus jsonStatus `json:"project-status"`
}

// UploadTimeFormat is PEP 700's upload-time format (UTC, microseconds).
const UploadTimeFormat = "2006-01-02T15:04:05.000000Z"

// renderProjectJSON writes a PEP 691 page with the PEP 700 additions. It
// never emits the "dist-info-metadata" key, which breaks pip 22.3 to 23.1
// (PEP 714).
//
// A file whose size is unknown (a mirrored file of an HTML-only upstream,
// not cached yet) gets no "size" key rather than a false 0, and the page
// then says api-version 1.0: PEP 700 made size mandatory from 1.1 on, and
// 1.0 clients (pip reads no size; uv's is optional) take the page as it
// is. Everything else stays (unknown keys are ignored).
func renderProjectJSON(p *index.Page) []byte {
	out := jsonProject{
		Meta:          jsonMeta{APIVersion: APIVersion, LastSerial: p.Serial},
		Name:          p.Name,
		Files:         make([]jsonFile, len(p.Files)),
		Versions:      p.Versions,
		ProjectStatus: jsonStatus{Status: "active"},
	}
	if out.Versions == nil {
		out.Versions = []string{}
	}
	for i := range p.Files {
		f := &p.Files[i]
		jf := jsonFile{Filename: f.Filename, URL: f.URL, Hashes: f.Hashes, Yanked: false, CoreMetadata: false}
		if f.Size >= 0 {
			jf.Size = &p.Files[i].Size
		} else {
			out.Meta.APIVersion = APIVersionWithoutSize
		}
		if jf.Hashes == nil {
			jf.Hashes = map[string]string{}
		}
		if f.RequiresPython != "" {
			rp := f.RequiresPython
			jf.RequiresPython = &rp
		}
		if !f.UploadTime.IsZero() {
			t := f.UploadTime.UTC().Format(UploadTimeFormat)
			jf.UploadTime = &t
		}
		if f.Yanked {
			if f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			} else {
				jf.Yanked = true
			}
		}
		if f.CoreMetadata != "" {
			jf.CoreMetadata = map[string]string{"sha256": f.CoreMetadata}
		}
		out.Files[i] = jf
	}
	b, _ := json.Marshal(out)
	return append(b, '\n')
}

// renderRootHTML writes the root project list.
func renderRootHTML(prefix string, entries []RootEntry, serial int64) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(entries)*64)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"")
	b.WriteString(APIVersion)
	b.WriteString("\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, e := range entries {
		b.WriteString(`    <a href="`)
		b.WriteString(html.EscapeString(prefix + "/simple/" + url.PathEscape(e.Name) + "/"))
		if e.Mirrored {
			b.WriteString(`" data-mirrored="true`)
		}
		b.WriteString(`">`)
		b.WriteString(html.EscapeString(e.Display))
		b.WriteString("</a>\n")
	}
	b.WriteString("  </body>\n</html>\n<!--SERIAL ")
	b.WriteString(strconv.FormatInt(serial, 10))
	b.WriteString("-->\n")
	return b.Bytes()
}

type jsonRootProject struct {
	Name       string `json:"name"`
	LastSerial int64  `json:"_last-serial"`
	Mirrored   bool   `json:"_mirrored,omitempty"`
}

type jsonRoot struct {
	Meta     jsonMeta          `json:"meta"`
	Projects []jsonRootProject `json:"projects"`
}

func renderRootJSON(entries []RootEntry, serial int64) []byte {
	out := jsonRoot{Meta: jsonMeta{APIVersion: APIVersion, LastSerial: serial}, Projects: make([]jsonRootProject, len(entries))}
	for i, e := range entries {
		out.Projects[i] = jsonRootProject{Name: e.Display, LastSerial: e.LastSerial, Mirrored: e.Mirrored}
	}
	b, _ := json.Marshal(out)
	return append(b, '\n')
}
