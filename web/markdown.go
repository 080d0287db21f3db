package web

import (
	"bytes"
	"crypto/sha256"
	"html/template"
	"mime"
	"slices"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"

	"github.com/pyindex/pyindex/index/cache"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxDescription bounds the description rendered: core metadata is
// bounded on upload, but a page must stay fast whatever was accepted.
const maxDescription = 512 << 10

// markdown renders GitHub-flavoured Markdown. Raw HTML in the source is
// passed through (READMEs use it for badges and alignment) and then
// removed or defused by the sanitizer, never trusted.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// sanitizer keeps the HTML a user-written README may carry (bluemonday's
// policy for user-generated content: no script, no style, no event
// handler attributes, no javascript: or other unsafe URLs, no forms or
// frames), with rel="nofollow noopener" on links.
var sanitizer = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(false)
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code", "pre", "span")
	return p
}()

// description is a release's description, ready for the page: HTML when
// it was Markdown, else the text to show preformatted.
type description struct {
	HTML template.HTML
	Text string
}

// renderDescription renders a description by its Description-Content-Type:
// Markdown (text/markdown) becomes sanitized HTML; reStructuredText, plain
// text and anything else are shown as the text they are.
func renderDescription(body, contentType string) description {
	if len(body) > maxDescription {
		body = body[:maxDescription]
	}
	if strings.TrimSpace(body) == "" || strings.TrimSpace(body) == "UNKNOWN" {
		return description{}
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "text/markdown" {
		return description{Text: body}
	}
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(body), &buf); err != nil {
		return description{Text: body}
	}
	// The sanitizer's output is safe HTML by construction; prefixing its
	// ids only renames attributes.
	return description{HTML: template.HTML(prefixIDs(sanitizer.SanitizeBytes(buf.Bytes())))}
}

// renderCached is renderDescription through a cache keyed by the
// description's content (nil: none): the releases of a project mostly
// carry the same README, so a new release (a CI build every few minutes)
// rarely needs rendering it again.
func renderCached(descriptions *cache.Map[[32]byte, description], body, contentType string) description {
	if descriptions == nil {
		return renderDescription(body, contentType)
	}
	h := sha256.New()
	h.Write([]byte(contentType))
	h.Write([]byte{0})
	h.Write([]byte(body))
	var key [32]byte
	h.Sum(key[:0])
	if d, ok := descriptions.Get(key); ok {
		return d
	}
	d := renderDescription(body, contentType)
	descriptions.Put(key, d)
	return d
}

// idPrefix starts every id of a description, so that none can take the
// id of an element of the page itself (a README's <a id="reason"> would
// otherwise capture the yank form's label or a copy button's target).
const idPrefix = "readme-"

// prefixIDs renames the ids (and name attributes) of a sanitized fragment
// with idPrefix, and the in-page links to them, and makes its images load
// lazily without a referrer (they may come from other sites: badges). It
// rewrites the start tags of the token stream and copies everything else
// as it is (the sanitizer's output is well-formed and escaped); a token
// stream is several times cheaper than parsing a tree and rendering it
// again, and a page renders its README after every new release.
func prefixIDs(fragment []byte) []byte {
	z := xhtml.NewTokenizer(bytes.NewReader(fragment))
	var out bytes.Buffer
	out.Grow(len(fragment) + len(fragment)/8)
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return out.Bytes() // io.EOF: the whole fragment
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			tok := z.Token()
			changed := false
			for i, a := range tok.Attr {
				switch {
				case a.Key == "id" || a.Key == "name":
					tok.Attr[i].Val, changed = idPrefix+a.Val, true
				case a.Key == "href" && strings.HasPrefix(a.Val, "#") && len(a.Val) > 1:
					tok.Attr[i].Val, changed = "#"+idPrefix+a.Val[1:], true
				}
			}
			if tok.DataAtom == atom.Img {
				tok.Attr = slices.DeleteFunc(tok.Attr, func(a xhtml.Attribute) bool { return a.Key == "referrerpolicy" || a.Key == "loading" })
				tok.Attr = append(tok.Attr, xhtml.Attribute{Key: "referrerpolicy", Val: "no-referrer"}, xhtml.Attribute{Key: "loading", Val: "lazy"})
				changed = true
			}
			if !changed {
				out.Write(z.Raw())
				continue
			}
			out.WriteString(tok.String())
		default:
			out.Write(z.Raw())
		}
	}
}
