package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
)

func TestProjectList(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	en.release("acme-core", "1.0", dist.Metadata{Summary: "The core of the Acme rocket"}, "alice")
	en.release("zeta-tools", "0.1", dist.Metadata{Summary: "Tools for gardening"}, "alice")
	en.release("Beta_Lib", "2.0", dist.Metadata{Summary: "A library"}, "alice")
	ctx := context.Background()
	if _, _, err := en.cat.PutMirrorPage(ctx, &index.MirrorProject{Name: "requests", FetchedAt: time.Now(), Versions: []string{"2.0"},
		Files: []index.MirrorFile{{Filename: "requests-2.0-py3-none-any.whl", URL: "https://files.example/requests-2.0-py3-none-any.whl",
			Hashes: map[string]string{"sha256": strings.Repeat("a", 64)}, FirstSeen: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	b := en.browser()

	r := b.get("/projects/")
	if r.code != http.StatusOK {
		t.Fatalf("GET /projects/: %d %s", r.code, r.body)
	}
	mustContain(t, "the list", r.body, `href="/project/acme-core/"`, "The core of the Acme rocket", ">Beta_Lib<",
		`href="/project/requests/"`, `badge mirrored`, `<label for="q">Search</label>`, "4 projects")
	if strings.Index(r.body, "acme-core") > strings.Index(r.body, "beta-lib") || strings.Index(r.body, "beta-lib") > strings.Index(r.body, "requests") {
		t.Errorf("not sorted by name:\n%s", r.body)
	}

	r = b.get("/projects/?q=gardening")
	mustContain(t, "a search by a summary word", r.body, "zeta-tools", "1 project matching")
	mustNotContain(t, "a search by a summary word", r.body, "acme-core/", "requests/")
	r = b.get("/projects/?q=Acme_Core")
	mustContain(t, "a search by a name spelled otherwise", r.body, "acme-core")

	// By last upload: the newest first.
	en.release("acme-core", "1.1", dist.Metadata{Summary: "The core of the Acme rocket"}, "alice")
	r = b.get("/projects/?sort=upload")
	if i, j := strings.Index(r.body, `/project/acme-core/`), strings.Index(r.body, `/project/zeta-tools/`); i < 0 || j < 0 || i > j {
		t.Errorf("by upload, acme-core (newest) comes after zeta-tools:\n%s", r.body)
	}
	mustContain(t, "the list after an upload", b.get("/projects/").body, "acme-core</a> <span class=\"muted\">1.1</span>")

	// The list follows deletions and new projects, in both orders.
	if _, err := en.cat.DeleteProjectRows(ctx, "zeta-tools", index.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	en.release("aaa-new", "0.1", dist.Metadata{Summary: "Brand new"}, "alice")
	for _, order := range []string{"", "?sort=upload"} {
		r := b.get("/projects/" + order)
		mustContain(t, "the list after changes", r.body, "/project/aaa-new/", "/project/acme-core/", "/project/beta-lib/", "/project/requests/", "4 projects")
		mustNotContain(t, "the list after changes", r.body, "zeta-tools")
	}
	r = b.get("/projects/?sort=upload")
	if i, j := strings.Index(r.body, `/project/aaa-new/`), strings.Index(r.body, `/project/acme-core/`); i > j {
		t.Errorf("by upload, the newest project is not first:\n%s", r.body)
	}
	r = b.get("/projects/")
	if i, j := strings.Index(r.body, `/project/aaa-new/`), strings.Index(r.body, `/project/acme-core/`); i > j {
		t.Errorf("by name, aaa-new is not first:\n%s", r.body)
	}

	if r := b.get("/projects/?page=x"); r.code != http.StatusBadRequest {
		t.Errorf("page=x: %d", r.code)
	}
	if r := b.get("/projects/?q=" + strings.Repeat("a", 300)); r.code != http.StatusBadRequest {
		t.Errorf("a 300-character search: %d", r.code)
	}
	if r := b.get("/projects"); r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != "/projects/" {
		t.Errorf("/projects: %d %v", r.code, r.hdr)
	}
}

func TestProjectListPages(t *testing.T) {
	en := newEnv(t, publicEnvAuth(), func(c *Config) { c.PageSize = 2 })
	for i := range 5 {
		en.release(fmt.Sprintf("p%d", i), "1.0", dist.Metadata{}, "")
	}
	b := en.browser()
	r := b.get("/projects/")
	mustContain(t, "page 1", r.body, "p0", "p1", "Page 1 of 3", `href="/projects/?page=2"`)
	mustNotContain(t, "page 1", r.body, "/project/p2/", "Previous")
	r = b.get("/projects/?page=3")
	mustContain(t, "page 3", r.body, "/project/p4/", `href="/projects/?page=2" rel="prev"`)
	mustNotContain(t, "page 3", r.body, "/project/p3/", "Next")
	r = b.get("/projects/?page=99")
	mustContain(t, "a page past the end", r.body, "/project/p4/")
}

func TestProjectPage(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	readme := "# Acme core\n\nThe **core** of it.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
	for _, v := range []string{"1.0", "1.10", "1.2", "2.0rc1", "2.0.dev3", "1.2.post1"} {
		en.release("acme-core", v, dist.Metadata{Summary: "Core " + v, Description: readme, DescriptionContentType: "text/markdown; charset=UTF-8",
			RequiresPython: ">=3.9", License: "MIT", Author: "Ada", AuthorEmail: "ada@example.com",
			ProjectURLs:  []string{"Source, https://git.example/acme", "Docs, https://docs.example/acme"},
			RequiresDist: []string{"acme-util>=1.0", "numpy; extra == 'fast'"}}, "alice")
	}
	en.release("acme-util", "1.0", dist.Metadata{Summary: "Utilities"}, "alice")
	if _, err := en.cat.Yank(context.Background(), "acme-core", "1.2", "broken <build>", index.Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	b := en.browser()
	r := b.get("/project/acme-core/")
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	// The latest is the newest final release: 1.10 (not 2.0rc1, nor a dev build).
	mustContain(t, "the project page", r.body,
		`<h1>acme-core <span class="muted">1.10</span>`, "Core 1.10", `<h1 id="readme-acme-core">Acme core</h1>`, "<strong>core</strong>", "<table>",
		"&gt;=3.9", "MIT", "Ada", "ada@example.com", `<a href="https://git.example/acme" rel="nofollow noopener">`,
		`<a href="/project/acme-util/">acme-util&gt;=1.0</a>`, "<li>numpy; extra == &#39;fast&#39;</li>",
		"pip install --index-url http://example.com/simple/ --trusted-host example.com acme-core",
		"uv pip install --index-url http://example.com/simple/ acme-core",
		"poetry source add --priority=primary pyindex http://example.com/simple/",
		`data-copy="cmd-pip"`, "dev build", "pre-release", `yanked-version`, "broken &lt;build&gt;", "<li>alice</li>")
	history := regexp.MustCompile(`class="version[^"]*" href="/project/acme-core/([^/]+)/"`).FindAllStringSubmatch(r.body, -1)
	var got []string
	for _, m := range history {
		got = append(got, m[1])
	}
	if want := "2.0rc1 2.0.dev3 1.10 1.2.post1 1.2 1.0"; strings.Join(got, " ") != want {
		t.Errorf("release history %q, want %q (PEP 440, newest first)", strings.Join(got, " "), want)
	}
	mustNotContain(t, "an anonymous visitor's page", r.body, "Yank", "Delete")

	if r := b.get("/project/Acme_Core/"); r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != "/project/acme-core/" {
		t.Errorf("a name spelled otherwise: %d %v", r.code, r.hdr)
	}
	if r := b.get("/project/acme-core"); r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != "/project/acme-core/" {
		t.Errorf("no trailing slash: %d %v", r.code, r.hdr)
	}
	if r := b.get("/project/nope/"); r.code != http.StatusNotFound || !strings.Contains(r.body, "No project named") {
		t.Errorf("an unknown project: %d %s", r.code, r.body)
	}
	if r := b.get("/project/-bad-/"); r.code != http.StatusNotFound {
		t.Errorf("an invalid name: %d", r.code)
	}

	// Only pre-releases: the newest of them is the latest.
	en.release("early", "0.1a1", dist.Metadata{}, "alice")
	en.release("early", "0.1a2", dist.Metadata{}, "alice")
	mustContain(t, "a project of pre-releases", b.get("/project/early/").body, `<h1>early <span class="muted">0.1a2</span>`)

	// rst and plain text are shown as they are.
	en.release("rsty", "1.0", dist.Metadata{Description: "Title\n=====\n\n*not markdown*", DescriptionContentType: "text/x-rst"}, "alice")
	mustContain(t, "an rst description", b.get("/project/rsty/").body, "<pre class=\"text readme\">Title\n=====\n\n*not markdown*</pre>")
}

// TestHistoryPages: a long release history is shown a page of 100
// releases at a time, newest first, with links to older and newer pages
// and to all of it; the pages follow a change to the project.
func TestHistoryPages(t *testing.T) {
	en := publicEnv(t)
	files := make([]index.NewFile, 0, 250)
	for i := range 250 {
		v := fmt.Sprintf("1.%d", i)
		sum := strings.Repeat("0", 60) + fmt.Sprintf("%04d", i)
		files = append(files, index.NewFile{Project: "big", Version: v, Filename: "big-" + v + ".tar.gz", PackageType: "sdist",
			Size: 1, SHA256: sum, MD5: "x", Blake2b256: "x", BlobKey: "sha256/" + sum, Metadata: dist.Metadata{Name: "big", Version: v}})
	}
	if err := en.cat.AddFiles(context.Background(), files, nil); err != nil {
		t.Fatal(err)
	}
	b := en.browser()
	versions := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`class="version[^"]*" href="/project/big/([^/]+)/"`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	check := func(target string, n int, first, last string, links ...string) string {
		t.Helper()
		r := b.get(target)
		if r.code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, r.code, r.body)
		}
		vs := versions(r.body)
		if len(vs) != n || vs[0] != first || vs[len(vs)-1] != last {
			t.Errorf("%s: %d releases %s..%s, want %d %s..%s", target, len(vs), vs[0], vs[len(vs)-1], n, first, last)
		}
		mustContain(t, target, r.body, links...)
		return r.body
	}
	body := check("/project/big/", 100, "1.249", "1.150", `href="/project/big/?page=2#history" rel="next">Older releases`,
		`href="/project/big/?page=all#history">Show all 250 releases`, "page 1 of 3")
	mustNotContain(t, "the first page", body, "Newer releases")
	check("/project/big/?page=2", 100, "1.149", "1.50", `href="/project/big/#history" rel="prev">`, `href="/project/big/?page=3#history" rel="next">`)
	body = check("/project/big/?page=3", 50, "1.49", "1.0", `href="/project/big/?page=2#history" rel="prev">`)
	mustNotContain(t, "the last page", body, "Older releases")
	check("/project/big/?page=9", 50, "1.49", "1.0") // past the end: the last page
	body = check("/project/big/?page=all", 250, "1.249", "1.0", `href="/project/big/#history">Show the newest only`)
	mustNotContain(t, "all of it", body, "Older releases", "Newer releases")
	for _, bad := range []string{"0", "-1", "x", "1e3"} {
		if r := b.get("/project/big/?page=" + bad); r.code != http.StatusBadRequest {
			t.Errorf("page=%s: %d", bad, r.code)
		}
	}
	// A new release moves every page by one.
	en.release("big", "2.0", dist.Metadata{}, "")
	check("/project/big/", 100, "2.0", "1.151")
	check("/project/big/?page=3", 51, "1.50", "1.0")
	// A short history has no pages.
	en.release("small", "1.0", dist.Metadata{}, "")
	mustNotContain(t, "a short history", b.get("/project/small/").body, "Older releases", "Show all", "page 1 of")
}

func TestReleasePage(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	f := en.release("acme-core", "1.0.dev4", dist.Metadata{Summary: "Dev", RequiresDist: []string{"acme-util"}}, "alice")
	ctx := context.Background()
	b := en.browser()
	r := b.get("/project/acme-core/1.0.dev4/")
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	mustContain(t, "the release page", r.body, f.Filename, `href="/files/`+f.SHA256+"/"+f.Filename+`"`, f.SHA256,
		"wheel", "py3", "1.2 KiB", "by alice", "dev build", "acme-core==1.0.dev4", "<li>acme-util</li>")
	mustNotContain(t, "the release page", r.body, ".metadata\"")

	// Another spelling of the version finds the release.
	if r := b.get("/project/acme-core/1.0dev4/"); r.code != http.StatusOK {
		t.Errorf("1.0dev4: %d", r.code)
	}
	if r := b.get("/project/acme-core/9.9/"); r.code != http.StatusNotFound {
		t.Errorf("an unknown version: %d", r.code)
	}
	if r := b.get("/project/acme-core/not-a-version/"); r.code != http.StatusNotFound {
		t.Errorf("a malformed version: %d", r.code)
	}

	// A dev build's commit and branch, and its PEP 658 metadata.
	_, _, err := en.cat.AddFile(ctx, index.NewFile{Project: "acme-core", Version: "1.0.dev5", Filename: "acme_core-1.0.dev5.tar.gz",
		PackageType: "sdist", PythonVersion: "source", Size: 10, SHA256: strings.Repeat("b", 64), MD5: "x", Blake2b256: "x",
		BlobKey: "k", MetadataKey: "mk", MetadataSHA256: "ms", CommitSHA: "0123456789abcdef0123456789abcdef01234567", Branch: "feature/x"})
	if err != nil {
		t.Fatal(err)
	}
	r = b.get("/project/acme-core/1.0.dev5/")
	mustContain(t, "a dev build with its commit", r.body, "0123456789abcdef0123456789abcdef01234567", "feature/x", "sdist", "source",
		`href="/files/`+strings.Repeat("b", 64)+`/acme_core-1.0.dev5.tar.gz.metadata"`)
}

func TestMirroredProjectPage(t *testing.T) {
	en := publicEnv(t)
	ctx := context.Background()
	fetched := time.Date(2026, 11, 3, 4, 5, 0, 0, time.UTC)
	if _, _, err := en.cat.PutMirrorPage(ctx, &index.MirrorProject{Name: "requests", FetchedAt: fetched, Versions: []string{"2.0"},
		Files: []index.MirrorFile{
			{Filename: "requests-2.0-py3-none-any.whl", URL: "https://files.example/a.whl", Hashes: map[string]string{"sha256": strings.Repeat("a", 64)}, FirstSeen: fetched},
			{Filename: "requests-2.0.tar.gz", URL: "https://files.example/a.tgz", Hashes: map[string]string{"sha256": strings.Repeat("c", 64)}, FirstSeen: fetched},
		}}); err != nil {
		t.Fatal(err)
	}
	r := en.browser().get("/project/requests/")
	mustContain(t, "a mirrored page", r.body, "badge mirrored", "last refreshed", "2026-11-03 04:05 UTC", "requests-2.0-py3-none-any.whl",
		"not yet", "/files/"+strings.Repeat("a", 64)+"/requests-2.0-py3-none-any.whl")
}

// TestHostileMetadata: a package whose metadata carries script, event
// handlers, javascript: links and raw HTML injects none of them.
func TestHostileMetadata(t *testing.T) {
	en := publicEnv(t)
	evil := `<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a><iframe src="https://evil.example"></iframe><b onmouseover=alert(4)>b</b><style>body{display:none}</style><form action="https://evil.example"><input name=q></form>`
	md := dist.Metadata{
		Summary:                evil,
		Description:            "# Hi\n\n[top](#hi) <a id=\"reason\" name=\"csrf\">clobber</a>\n\n" + evil + "\n\n[click](javascript:alert(5)) ![i](javascript:alert(6)) <a href=\"data:text/html,<script>alert(7)</script>\">d</a>\n\n<div onclick=\"alert(8)\">raw</div>",
		DescriptionContentType: "text/markdown",
		Author:                 evil,
		AuthorEmail:            `"><script>alert(9)</script>`,
		License:                evil,
		HomePage:               "javascript:alert(10)",
		ProjectURLs:            []string{`Evil, javascript:alert(11)`, `Quote, https://ok.example/"><script>alert(12)</script>`},
		Classifiers:            []string{evil},
		RequiresDist:           []string{evil},
		Keywords:               evil,
	}
	en.release("evil-pkg", "1.0", md, "")
	b := en.browser()
	for _, path := range []string{"/project/evil-pkg/", "/project/evil-pkg/1.0/", "/projects/", "/projects/?q=alert"} {
		r := b.get(path)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d", path, r.code)
		}
		for _, bad := range unsafeMarkup(t, r.body) {
			t.Errorf("%s: %s", path, bad)
		}
		if !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") && path != "/project/evil-pkg/1.0/" {
			t.Errorf("%s does not show the summary as text", path)
		}
	}
	mustContain(t, "the hostile page", b.get("/project/evil-pkg/").body, `<a href="#readme-hi" rel="nofollow">top</a>`, `<a id="readme-reason">clobber</a>`, "<h1 id=\"readme-hi\">Hi</h1>", "raw", "javascript:alert(11)</li>")
}

// TestSecurityHeaders: every page, error pages and the assets included,
// carries the CSP, frame-ancestors 'none' and nosniff.
func TestSecurityHeaders(t *testing.T) {
	en := publicEnv(t)
	en.release("acme", "1.0", dist.Metadata{}, "")
	b := en.browser()
	for _, path := range []string{"/projects/", "/project/acme/", "/project/acme/1.0/", "/login", "/project/nope/", "/assets/style.css", "/assets/web.js", "/manage/users"} {
		r := b.get(path)
		csp := r.hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if r.hdr.Get("X-Content-Type-Options") != "nosniff" || r.hdr.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, r.hdr)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") {
			t.Errorf("%s has an inline script or style", path)
		}
	}
	if r := b.get("/assets/nope.js"); r.code != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", r.code)
	}
	r := b.get("/assets/style.css")
	if r.hdr.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(r.hdr.Get("Cache-Control"), "max-age") {
		t.Errorf("style.css: %v", r.hdr)
	}
}

// TestReadmeImages: a README's badges from https URLs are shown (the
// CSP allows https images and nothing else from elsewhere), load without
// a referrer, and carry nothing the sanitizer removes.
func TestReadmeImages(t *testing.T) {
	en := publicEnv(t)
	en.release("badged", "1.0", dist.Metadata{DescriptionContentType: "text/markdown",
		Description: "[![CI](https://ci.example/badge.svg)](https://ci.example/)\n\n" +
			`<img src="https://cov.example/c.svg" alt="coverage" onerror="alert(1)" referrerpolicy="unsafe-url" loading="eager">` + "\n\n" +
			"![local](javascript:alert(2))"}, "")
	r := en.browser().get("/project/badged/")
	mustContain(t, "a README with badges", r.body,
		`<img src="https://ci.example/badge.svg" alt="CI" referrerpolicy="no-referrer" loading="lazy"`,
		`<img src="https://cov.example/c.svg" alt="coverage" referrerpolicy="no-referrer" loading="lazy"`)
	mustNotContain(t, "a README with badges", r.body, "onerror", "unsafe-url", "eager", "javascript:alert(2)")
	for _, bad := range unsafeMarkup(t, r.body) {
		t.Error(bad)
	}
	csp := r.hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: https:;") || !strings.Contains(csp, "default-src 'none'") || r.hdr.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("CSP %q, referrer policy %q", csp, r.hdr.Get("Referrer-Policy"))
	}
}

// TestHead: every page answers HEAD with the GET's status and headers and
// no body, through a real server.
func TestHead(t *testing.T) {
	en := publicEnv(t)
	en.user("alice", false)
	en.release("acme", "1.0", dist.Metadata{Summary: "A"}, "alice")
	srv := httptest.NewServer(en.e)
	defer srv.Close()
	for _, path := range []string{"/projects/", "/projects/?q=acme", "/project/acme/", "/project/acme/1.0/", "/packages/generic/nope/",
		"/login", "/assets/style.css", "/project/nope/", "/project/Acme/", "/manage/users"} {
		var heads [2]*http.Response
		var bodies [2]string
		for i, m := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(m, srv.URL+path, nil)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			heads[i], bodies[i] = res, string(b)
		}
		get, head := heads[0], heads[1]
		if head.StatusCode != get.StatusCode || head.StatusCode == http.StatusMethodNotAllowed || bodies[1] != "" ||
			head.Header.Get("Content-Type") != get.Header.Get("Content-Type") ||
			head.Header.Get("Content-Security-Policy") == "" || head.Header.Get("Location") != get.Header.Get("Location") {
			t.Errorf("HEAD %s: %d %v %q; GET: %d %v", path, head.StatusCode, head.Header, bodies[1], get.StatusCode, get.Header)
		}
	}
}

// unsafeMarkup parses a page and lists what in it could run script or
// reach elsewhere: script elements but the page's own asset, event
// handler attributes, javascript: or data: URLs, frames, objects, style
// elements and attributes, and forms that post elsewhere.
func unsafeMarkup(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				if src := attr(n, "src"); !strings.HasPrefix(src, "/assets/web.js?v=") {
					bad = append(bad, "a script element")
				}
			case "iframe", "frame", "object", "embed", "style", "base", "meta", "link":
				if n.Data == "meta" && (attr(n, "charset") != "" || attr(n, "name") == "viewport") ||
					n.Data == "link" && strings.HasPrefix(attr(n, "href"), "/assets/style.css?v=") {
					break
				}
				bad = append(bad, "a "+n.Data+" element")
			case "form":
				if a := attr(n, "action"); !strings.HasPrefix(a, "/") || strings.HasPrefix(a, "//") {
					bad = append(bad, "a form posting to "+a)
				}
			}
			for _, a := range n.Attr {
				k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(k, "on") || k == "style" || k == "srcdoc" || k == "formaction" {
					bad = append(bad, "an attribute "+a.Key+" on "+n.Data)
				}
				if (k == "href" || k == "src" || k == "action") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "vbscript:")) {
					bad = append(bad, n.Data+" "+a.Key+"="+a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return bad
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
