package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Request headers of the clients the cases imitate.
const (
	// pip 23+ (PEP 691 JSON preferred), through requests.
	acceptPip     = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	acceptHTML    = "text/html"
	encodingGzip  = "gzip, deflate"
	encodingIdent = "identity"
)

// pageCase is one wrk case: the same bytes fetched from pyindex at path
// and from nginx at nginxPath.
type pageCase struct {
	name      string
	desc      string
	path      string // on pyindex
	accept    string
	encoding  string
	download  bool   // a file: more time per request, fewer connections
	nginxPath string // on nginx
	ctype     string // Content-Type pyindex sent (nginx's default_type)
	size      int    // bytes of the representation the client gets
	target    float64

	srv  *pyindexProc // the server measured; nil: the SQLite one
	load *pyindexProc // if set, it gets a steady stream of uploads during every run of the case
	// loadStats is what the load achieved, over all runs.
	loadStats loadStats
}

// server is the pyindex server the case measures.
func (c *pageCase) server(b *bench) *pyindexProc {
	if c.srv != nil {
		return c.srv
	}
	return b.py
}

// staticName is the case's file in nginx's tree (wrk's URL parser
// dislikes '@').
func staticName(name string) string { return strings.ReplaceAll(name, "@", ".") }

func (c *pageCase) headers() []string {
	var h []string
	if c.accept != "" {
		h = append(h, "Accept: "+c.accept)
	}
	if c.encoding != "" {
		h = append(h, "Accept-Encoding: "+c.encoding)
	}
	return h
}

// prepareCases fetches every case's bytes from pyindex into the static
// tree (plus the .gz variant where pyindex compresses), uploading the
// 100 MiB file and warming the mirror first.
func (b *bench) prepareCases(ctx context.Context) error {
	static := filepath.Join(b.out, "static", "c")
	if err := os.MkdirAll(static, 0o755); err != nil {
		return err
	}
	pages := b.pageCases()
	// The upload and the mirror's warm-up change the catalog (and so the
	// root page): they go first, and the pages are fetched last.
	var extra []*pageCase
	if b.o.wanted("download-100m") {
		c, err := b.prepareDownload(ctx, static)
		if err != nil {
			return err
		}
		extra = append(extra, c)
	}
	if b.o.wanted("mirror-page-gz") || b.o.wanted("mirror-file") {
		cs, err := b.prepareMirror(ctx, static)
		if err != nil {
			return err
		}
		extra = append(extra, cs...)
	}
	// The same pages on replica A, on PostgreSQL.
	if len(b.replicas) > 0 {
		for _, c := range b.pageCases() {
			c.name += "@pg"
			c.desc += "; replica on PostgreSQL"
			c.srv = b.replicas[0]
			pages = append(pages, c)
		}
	}
	// The 20-file page while another client uploads to other projects:
	// through the same server on SQLite, through replica B on
	// PostgreSQL (the change reaches A through the catalog).
	// The 2,000-version page likewise (optional cases).
	under := func(name, what, project, desc string, srv, load *pyindexProc) *pageCase {
		return &pageCase{name: name, desc: fmt.Sprintf("%s, JSON (pip), gzip, while %g uploads/s go to other projects %s", what, b.o.loadRate, desc),
			path: "/simple/" + project + "/", accept: acceptPip, encoding: encodingGzip, srv: srv, load: load}
	}
	for _, p := range []struct{ prefix, what, project string }{
		{"page20", "20-file project", projectTwenty}, {"big", "2,000-version project", projectBig},
	} {
		pages = append(pages, under(p.prefix+"-under-uploads", p.what, p.project, "through the same server", nil, b.py))
		if len(b.replicas) > 1 {
			pages = append(pages, under(p.prefix+"-under-uploads@pg", p.what, p.project, "through replica B; pages from replica A", b.replicas[0], b.replicas[1]))
		}
	}
	for _, c := range pages {
		c.target = 0.8
		if !b.o.wanted(c.name) {
			continue
		}
		if err := b.fetchStatic(ctx, c, static); err != nil {
			return err
		}
		b.cases = append(b.cases, c)
	}
	b.cases = append(b.cases, extra...)
	slices.SortStableFunc(b.cases, func(x, y *pageCase) int { return caseOrder(x.name) - caseOrder(y.name) })
	return nil
}

// pageCases returns new copies of the page cases (on the SQLite server).
func (b *bench) pageCases() []*pageCase {
	return []*pageCase{
		{name: "page20-json-gz", desc: "20-file project, JSON (pip), gzip", path: "/simple/" + projectTwenty + "/", accept: acceptPip, encoding: encodingGzip},
		{name: "page20-html-gz", desc: "20-file project, HTML, gzip", path: "/simple/" + projectTwenty + "/", accept: acceptHTML, encoding: encodingGzip},
		{name: "page20-json", desc: "20-file project, JSON (pip), identity", path: "/simple/" + projectTwenty + "/", accept: acceptPip},
		{name: "page20-html", desc: "20-file project, HTML, identity", path: "/simple/" + projectTwenty + "/", accept: acceptHTML},
		{name: "big-json-gz", desc: "2,000-version project, JSON, gzip", path: "/simple/" + projectBig + "/", accept: acceptPip, encoding: encodingGzip},
		{name: "big-html-gz", desc: "2,000-version project, HTML, gzip", path: "/simple/" + projectBig + "/", accept: acceptHTML, encoding: encodingGzip},
		{name: "root-json-gz", desc: fmt.Sprintf("/simple/ (%d projects), JSON, gzip", b.sc.projects), path: "/simple/", accept: acceptPip, encoding: encodingGzip},
		{name: "root-html-gz", desc: fmt.Sprintf("/simple/ (%d projects), HTML, gzip", b.sc.projects), path: "/simple/", accept: acceptHTML, encoding: encodingGzip},
	}
}

// get fetches path from the SQLite server with headers, expecting 200.
func (b *bench) get(ctx context.Context, path string, headers ...string) (*http.Response, []byte, error) {
	return b.getFrom(ctx, b.py, path, headers...)
}

// getFrom fetches path from p with headers, expecting 200.
func (b *bench) getFrom(ctx context.Context, p *pyindexProc, path string, headers ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "pyindex-bench")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
	}
	return resp, body, nil
}

// fetchStatic stores the identity bytes of a page and, when pyindex
// compresses it, the gzip bytes pyindex sends, checking they agree.
func (b *bench) fetchStatic(ctx context.Context, c *pageCase, dir string) error {
	p := c.server(b)
	resp, body, err := b.getFrom(ctx, p, c.path, "Accept: "+c.accept, "Accept-Encoding: identity")
	if err != nil {
		return err
	}
	c.ctype = resp.Header.Get("Content-Type")
	c.nginxPath = "/c/" + staticName(c.name)
	c.size = len(body)
	if err := os.WriteFile(filepath.Join(dir, staticName(c.name)), body, 0o644); err != nil {
		return err
	}
	resp, gz, err := b.getFrom(ctx, p, c.path, "Accept: "+c.accept, "Accept-Encoding: gzip")
	if err != nil {
		return err
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return fmt.Errorf("%s: gzip body: %w", c.name, err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, body) {
		return fmt.Errorf("%s: pyindex's gzip body does not decompress to its identity body (%v)", c.name, err)
	}
	if strings.Contains(c.encoding, "gzip") {
		c.size = len(gz)
	}
	return os.WriteFile(filepath.Join(dir, staticName(c.name)+".gz"), gz, 0o644)
}

// prepareDownload writes a wheel with a 100 MiB payload into the static
// tree and uploads it through the real upload endpoint.
func (b *bench) prepareDownload(ctx context.Context, dir string) (*pageCase, error) {
	path := filepath.Join(dir, "download-100m")
	fn, err := writeWheelFile(path, "bench_download", "1.0", b.sc.bigFiles)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if _, err := b.upload(ctx, fn, "bench-download", "1.0", hex.EncodeToString(sum[:]), bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, fmt.Errorf("upload of the download file: %w", err)
	}
	c := &pageCase{
		name: "download-100m", desc: fmt.Sprintf("download of a %s file", mib(int64(len(data)))),
		path: "/files/" + hex.EncodeToString(sum[:]) + "/" + fn, encoding: encodingIdent,
		download: true, nginxPath: "/c/download-100m", size: len(data), target: 0.9,
	}
	_, got, err := b.get(ctx, c.path, "Accept-Encoding: identity")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, data) {
		return nil, fmt.Errorf("the downloaded file differs from the uploaded one")
	}
	return c, nil
}

// prepareMirror warms the mirror: its page (one upstream request) and its
// file (one upstream download, then served from storage).
func (b *bench) prepareMirror(ctx context.Context, dir string) ([]*pageCase, error) {
	page := &pageCase{name: "mirror-page-gz", desc: "warm mirror page (20 files), JSON, gzip",
		path: "/simple/" + upstreamProject + "/", accept: acceptPip, encoding: encodingGzip, target: 0.8}
	if err := b.fetchStatic(ctx, page, dir); err != nil {
		return nil, err
	}
	_, body, err := b.get(ctx, page.path, "Accept: "+acceptPip)
	if err != nil {
		return nil, err
	}
	var pg struct {
		Files []struct{ Filename, URL string }
	}
	if err := json.Unmarshal(body, &pg); err != nil {
		return nil, fmt.Errorf("mirror page: %w", err)
	}
	var url string
	for _, f := range pg.Files {
		if f.Filename == b.upstream.filename {
			url = f.URL
		}
	}
	if !strings.HasPrefix(url, "/") {
		return nil, fmt.Errorf("mirror page: no local URL for %s (got %q)", b.upstream.filename, url)
	}
	_, data, err := b.get(ctx, url, "Accept-Encoding: identity")
	if err != nil {
		return nil, err
	}
	// The fill is recorded when the response ends; a second GET must
	// come from storage.
	time.Sleep(100 * time.Millisecond)
	if _, again, err := b.get(ctx, url, "Accept-Encoding: identity"); err != nil || !bytes.Equal(again, data) {
		return nil, fmt.Errorf("mirror file second GET: %v", err)
	}
	if n := b.upstream.count("file"); n != 1 {
		b.notes = append(b.notes, fmt.Sprintf("the upstream served the mirrored file %d times during warm-up (want 1)", n))
	}
	if err := os.WriteFile(filepath.Join(dir, "mirror-file"), data, 0o644); err != nil {
		return nil, err
	}
	file := &pageCase{name: "mirror-file", desc: fmt.Sprintf("warm mirror file (%s)", mib(int64(len(data)))),
		path: url, encoding: encodingIdent, nginxPath: "/c/mirror-file", size: len(data), target: 0.9}
	var out []*pageCase
	if b.o.wanted(page.name) {
		out = append(out, page)
	}
	if b.o.wanted(file.name) {
		out = append(out, file)
	}
	return out, nil
}

func mib(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
