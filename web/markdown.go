package web

import (
	"bytes"
	"html/template"
	"mime"
	"slices"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
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

// idPrefix starts every id of a description, so that none can take the
// id of an element of the page itself (a README's <a id="reason"> would
// otherwise capture the yank form's label or a copy button's target).
const idPrefix = "readme-"

// prefixIDs renames the ids (and name attributes) of a sanitized fragment
// with idPrefix, and the in-page links to them, and makes its images load
// lazily without a referrer (they may come from other sites: badges). A
// fragment that does not parse (it always does: it is the sanitizer's
// output) loses them.
func prefixIDs(fragment []byte) []byte {
	body := &xhtml.Node{Type: xhtml.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := xhtml.ParseFragment(bytes.NewReader(fragment), body)
	if err != nil {
		return nil
	}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		for i, a := range n.Attr {
			switch {
			case a.Key == "id" || a.Key == "name":
				n.Attr[i].Val = idPrefix + a.Val
			case a.Key == "href" && strings.HasPrefix(a.Val, "#") && len(a.Val) > 1:
				n.Attr[i].Val = "#" + idPrefix + a.Val[1:]
			}
		}
		if n.Type == xhtml.ElementNode && n.DataAtom == atom.Img {
			n.Attr = slices.DeleteFunc(n.Attr, func(a xhtml.Attribute) bool { return a.Key == "referrerpolicy" || a.Key == "loading" })
			n.Attr = append(n.Attr, xhtml.Attribute{Key: "referrerpolicy", Val: "no-referrer"}, xhtml.Attribute{Key: "loading", Val: "lazy"})
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	var out bytes.Buffer
	for _, n := range nodes {
		walk(n)
		if err := xhtml.Render(&out, n); err != nil {
			return nil
		}
	}
	return out.Bytes()
}
