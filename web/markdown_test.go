package web

import (
	"testing"

	"github.com/pyindex/pyindex/index/cache"
)

// TestRenderCached: the description cache gives what rendering gives,
// keyed by the content and its type (the same text as Markdown and as
// reStructuredText is two entries).
func TestRenderCached(t *testing.T) {
	c := cache.New[[32]byte, description](8)
	md := "# Title\n\n<a id=\"x\" href=\"#x\">self</a> ![b](https://ci.example/b.svg)"
	want := renderDescription(md, "text/markdown")
	for range 2 {
		if got := renderCached(c, md, "text/markdown"); got != want {
			t.Errorf("cached %q, rendered %q", got.HTML, want.HTML)
		}
	}
	if got := renderCached(c, md, "text/x-rst"); got.HTML != "" || got.Text != md {
		t.Errorf("the same text as rst: %+v", got)
	}
	if c.Len() != 2 {
		t.Errorf("%d entries, want 2", c.Len())
	}
	if want.HTML != `<h1 id="readme-title">Title</h1>`+"\n"+`<p><a id="readme-x" href="#readme-x" rel="nofollow">self</a> <img src="https://ci.example/b.svg" alt="b" referrerpolicy="no-referrer" loading="lazy"></p>`+"\n" {
		t.Errorf("rendered %q", want.HTML)
	}
}
