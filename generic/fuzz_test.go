package generic

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pyindex/pyindex/index/pep503"
)

// FuzzParsePath checks the path parsing of generic files against hostile
// input: whatever ParsePath accepts is one safe segment each, stays inside
// any folder it were joined to, and survives the round trip through
// URLPath unchanged.
func FuzzParsePath(f *testing.F) {
	for _, s := range [][3]string{
		{"vendor-dlls", "1.4", "vendor-dlls-1.4.zip"}, {"My_App", "v2019.3", "myapp.zip"}, {"x", "1.4.dev7+gabc", "a b (c).tar.gz"},
		{"x", "latest", "a.zip"}, {"x", "1.0", ".."}, {"x", "1.0", "../../etc/passwd"}, {"x", "1.0", `..\..\boot.ini`},
		{"x", "1.0", "a\x00b"}, {"x", "1.0", ".env"}, {"-x", "1.0", "a"}, {"x", "1.0rc1", "ünï/x"}, {"x", "1!2.0.post3", "a%2Fb"},
	} {
		f.Add(s[0], s[1], s[2], true)
	}
	f.Fuzz(func(t *testing.T, name, version, filename string, latest bool) {
		p, err := ParsePath(name, version, filename, latest)
		if err != nil {
			return
		}
		fn := p.Filename
		switch {
		case fn != filename:
			t.Fatalf("filename changed: %q -> %q", filename, fn)
		case fn == "" || len(fn) > 255 || fn[0] == '.' || strings.Contains(fn, ".."):
			t.Fatalf("accepted filename %q", fn)
		case strings.ContainsAny(fn, "/\\\x00") || !utf8.ValidString(fn):
			t.Fatalf("accepted filename %q", fn)
		case !filepath.IsLocal(fn) || filepath.Base(fn) != fn:
			t.Fatalf("filename %q is not one local segment", fn)
		case !pep503.Valid(p.Name) || !pep503.IsNormalized(p.Name):
			t.Fatalf("name %q", p.Name)
		case p.IsLatest() && (!latest || version != Latest):
			t.Fatalf("latest from %q (allowed %v)", version, latest)
		}
		for _, r := range fn {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", fn)
			}
		}
		up := p.URLPath()
		if path.Clean(up) != up || !strings.HasPrefix(up, "/generic/") {
			t.Fatalf("URLPath %q is not clean", up)
		}
		segs := strings.Split(strings.TrimPrefix(up, "/generic/"), "/")
		if len(segs) != 3 {
			t.Fatalf("URLPath %q has %d segments", up, len(segs))
		}
		var dec [3]string
		for i, s := range segs {
			if dec[i], err = url.PathUnescape(s); err != nil {
				t.Fatalf("URLPath %q: %v", up, err)
			}
		}
		q, err := ParsePath(dec[0], dec[1], dec[2], true)
		if err != nil || q.Name != p.Name || q.Version != p.Version || q.Filename != p.Filename {
			t.Fatalf("round trip of %+v through %q: %+v %v", p, up, q, err)
		}
	})
}
