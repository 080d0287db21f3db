package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/pyindex/pyindex/index"
)

// TestLabels: on every page, as an admin sees it (who is offered every
// form), each field has a label (a <label for> naming it, or
// aria-label) and each button a name (its text or aria-label), for
// screen readers and keyboard users; and every page has one h1 and a
// language.
func TestLabels(t *testing.T) {
	en := manageEnv(t)
	sum := strings.Repeat("d", 64)
	if _, _, err := en.cat.AddGenericFile(context.Background(), index.NewGenericFile{Name: "tool", Version: "1.0", Filename: "tool.zip",
		Size: 1, SHA256: sum, BlobKey: "sha256/" + sum, UploadedBy: "root"}); err != nil {
		t.Fatal(err)
	}
	anon := en.browser()
	root := en.browser()
	root.login("root", "root-password")
	for _, tc := range []struct {
		b    *browser
		path string
	}{
		{anon, "/projects/"}, {anon, "/login"}, {anon, "/project/alpha/"}, {anon, "/project/nope/"},
		{root, "/projects/"}, {root, "/project/alpha/"}, {root, "/project/alpha/1.0/"}, {root, "/project/alpha/1.0/delete"},
		{root, "/project/alpha/1.0/delete?file=alpha-1.0-py3-none-any.whl"}, {root, "/packages/generic/tool/"},
		{root, "/packages/generic/tool/1.0/delete"}, {root, "/manage/prune"}, {root, "/manage/prune?project=alpha&keep_dev=1"},
		{root, "/manage/audit"}, {root, "/manage/users"}, {root, "/manage/tokens"},
	} {
		r := tc.b.get(tc.path)
		if r.code != http.StatusOK && r.code != http.StatusNotFound {
			t.Fatalf("%s: %d %s", tc.path, r.code, r.body)
		}
		for _, bad := range unlabelled(t, r.body) {
			t.Errorf("%s: %s", tc.path, bad)
		}
	}
}

// unlabelled lists the fields without a label and the buttons without a
// name of a page, and a missing lang or h1.
func unlabelled(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	var fields, buttons []*html.Node
	h1s, lang := 0, false
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "html":
				lang = attr(n, "lang") != ""
			case "h1":
				h1s++
			case "label":
				labels[attr(n, "for")] = true
			case "input":
				if typ := attr(n, "type"); typ != "hidden" && typ != "submit" {
					fields = append(fields, n)
				}
			case "select", "textarea":
				fields = append(fields, n)
			case "button":
				buttons = append(buttons, n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var bad []string
	for _, f := range fields {
		if id := attr(f, "id"); (id == "" || !labels[id]) && attr(f, "aria-label") == "" {
			bad = append(bad, "a "+f.Data+" named "+attr(f, "name")+" has no label")
		}
	}
	for _, b := range buttons {
		if strings.TrimSpace(text(b)) == "" && attr(b, "aria-label") == "" {
			bad = append(bad, "a button has no name")
		}
	}
	if h1s != 1 {
		bad = append(bad, "not one h1")
	}
	if !lang {
		bad = append(bad, "no lang on html")
	}
	return bad
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}
