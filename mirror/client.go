package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
)

// pageAccept asks for PEP 691 JSON first, then HTML (PEP 503 servers ignore
// it and send HTML anyway).
const pageAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

// maxPageSize bounds an upstream page; PyPI's largest are tens of MB.
const maxPageSize = 256 << 20

// client talks to the upstream index.
type client struct {
	base       *url.URL // simple root, trailing slash, no user information
	user, pass string
	ua         string
	http       *http.Client
	m          *metrics
	health     *health // every answer and failure is recorded (health.go)
}

func newClient(cfg Config, hc *http.Client, m *metrics, h *health) (*client, error) {
	upstream := strings.TrimSpace(cfg.Upstream)
	if upstream == "" && cfg.Offline {
		upstream = "http://offline.invalid/simple/" // never asked: offline mirrors fetch nothing
	}
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mirror: upstream %q is not an absolute http(s) URL", redact(cfg.Upstream))
	}
	c := &client{user: cfg.Username, pass: cfg.Password, ua: cfg.UserAgent, m: m, health: h}
	if u.User != nil && c.user == "" {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	u.User = nil
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	c.base = u
	if c.ua == "" {
		c.ua = "pyindex-mirror/1 (+https://github.com/pyindex/pyindex)"
	}
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = http.ProxyFromEnvironment // HTTPS_PROXY, HTTP_PROXY, NO_PROXY
		t.ResponseHeaderTimeout = cfg.Timeout
		t.MaxIdleConnsPerHost = 16
		hc = &http.Client{Transport: t}
	}
	c.http = hc
	return c, nil
}

// projectURL is the upstream page of a normalized name, always with the
// trailing slash (PyPI's CDN answers slash-less URLs with redirects, or 406
// for unknown user agents).
func (c *client) projectURL(name string) string {
	return c.base.JoinPath(name).String() + "/"
}

func (c *client) newRequest(ctx context.Context, rawURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.ua)
	// Credentials go to the upstream's host only (as pip does: file hosts
	// such as files.pythonhosted.org get none); redirects to another host
	// drop them too (net/http).
	if c.user != "" && strings.EqualFold(req.URL.Host, c.base.Host) {
		req.SetBasicAuth(c.user, c.pass)
	}
	return req, nil
}

// pageResult is an upstream answer for a project page.
type pageResult struct {
	status       int // 200, 304 or 404
	page         *parsedPage
	etag         string
	lastModified string
	serial       int64 // X-PyPI-Last-Serial (or the JSON meta); 0 unknown
	finalURL     string
}

// page fetches the page of name, conditionally when etag or lastModified
// is set. Errors are *index.UpstreamError.
func (c *client) page(ctx context.Context, name, etag, lastModified string) (*pageResult, error) {
	req, err := c.newRequest(ctx, c.projectURL(name))
	if err != nil {
		return nil, &index.UpstreamError{Status: http.StatusBadGateway, Msg: "bad upstream URL", Err: err}
	}
	req.Header.Set("Accept", pageAccept)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.m.upstream(kindPage, "error", start)
		c.health.observe(0, err)
		return nil, transportError(ctx, "page", err)
	}
	defer resp.Body.Close()
	c.health.observe(resp.StatusCode, nil)
	res := &pageResult{status: resp.StatusCode, finalURL: resp.Request.URL.String(),
		etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	if s, err := strconv.ParseInt(resp.Header.Get("X-PyPI-Last-Serial"), 10, 64); err == nil {
		res.serial = s
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		c.m.upstream(kindPage, "304", start)
		return res, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		c.m.upstream(kindPage, "404", start)
		res.status = http.StatusNotFound
		return res, nil
	case resp.StatusCode != http.StatusOK:
		c.m.upstream(kindPage, statusClass(resp.StatusCode), start)
		return nil, statusError("page", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageSize+1))
	c.m.upstream(kindPage, "200", start)
	if err != nil {
		c.health.observe(0, err)
		return nil, transportError(ctx, "page", err)
	}
	if len(body) > maxPageSize {
		return nil, &index.UpstreamError{Status: http.StatusBadGateway, Msg: "upstream page too large"}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var serial int64
	if strings.HasSuffix(mt, "json") {
		res.page, serial, err = parseJSON(body, resp.Request.URL)
	} else {
		res.page, err = parseHTML(body, resp.Request.URL)
	}
	if err != nil {
		return nil, &index.UpstreamError{Status: http.StatusBadGateway, Msg: "the upstream sent an invalid page", Err: errInvalid{err}}
	}
	if res.serial == 0 {
		res.serial = serial
	}
	return res, nil
}

// errInvalid marks an upstream answer that could not be used.
type errInvalid struct{ error }

func (e errInvalid) Unwrap() error { return e.error }

// file starts a download of an upstream file. The caller closes the body.
func (c *client) file(ctx context.Context, kind, rawURL string) (*http.Response, error) {
	req, err := c.newRequest(ctx, rawURL)
	if err != nil {
		return nil, &index.UpstreamError{Status: http.StatusBadGateway, Msg: "bad upstream file URL", Err: err}
	}
	// Bytes as stored: never let a server (or net/http) gzip an archive.
	req.Header.Set("Accept-Encoding", "identity")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.m.upstream(kind, "error", start)
		c.health.observe(0, err)
		return nil, transportError(ctx, kind, err)
	}
	c.m.upstream(kind, statusClass(resp.StatusCode), start)
	c.health.observe(resp.StatusCode, nil)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, statusError(kind, resp.StatusCode)
	}
	return resp, nil
}

func statusClass(code int) string {
	switch {
	case code == 200, code == 304, code == 404:
		return strconv.Itoa(code)
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	}
	return "other"
}

// transportError classifies a failed request: 504 for a timeout, 502
// otherwise (refused, reset, DNS, TLS).
func transportError(ctx context.Context, what string, err error) *index.UpstreamError {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &index.UpstreamError{Status: http.StatusGatewayTimeout, Msg: "the upstream index timed out (" + what + ")", Err: err}
	}
	return &index.UpstreamError{Status: http.StatusBadGateway, Msg: "the upstream index cannot be reached (" + what + ")", Err: err}
}

// statusError maps an upstream error status: 503 for 429 and 503 (try
// later), 502 for everything else.
func statusError(what string, code int) *index.UpstreamError {
	msg := fmt.Sprintf("the upstream index answered %d %s (%s)", code, http.StatusText(code), what)
	if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
		return &index.UpstreamError{Status: http.StatusServiceUnavailable, Msg: msg}
	}
	return &index.UpstreamError{Status: http.StatusBadGateway, Msg: msg}
}
