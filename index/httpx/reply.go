package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index/auth"
)

// Request is a read request as both transports see it: what the read
// side's lookups decide from.
type Request struct {
	Method         string // GET or HEAD
	Accept         string
	AcceptEncoding string
	IfNoneMatch    string
	Format         string // the ?format= query parameter
	Query          string // the raw query, kept by redirects
	ForceQuery     bool   // the URL ended in "?" with nothing after it
	// Conditional is set when the request has a Range, If-Range,
	// If-Match, If-Modified-Since or If-Unmodified-Since header.
	Conditional bool
	Auth        auth.Result
	// InMemory asks for an answer only when it is at hand: a page
	// already rendered, a row already cached, a stored file without
	// Range or conditions, a 200 or a 304. A lookup that would have to
	// render, fetch from the upstream, redirect or refuse returns
	// ErrNotInMemory instead, and the request is served again without
	// it. The fast lane asks this way.
	InMemory bool
}

// ErrNotInMemory is a lookup's answer to an InMemory request it cannot
// answer from memory.
var ErrNotInMemory = errors.New("not at hand")

// Field is one response header: a canonical name and its values. Values
// slices are shared between replies and never appended to in place.
type Field struct {
	Name   string
	Values []string
}

// Reply is a lookup's answer. Header holds every field in canonical form
// (Content-Length included for a Body); a File reply also carries the
// stored blob to send, which Write passes to http.ServeContent (Range,
// conditionals) and the fast lane sends with sendfile.
type Reply struct {
	Status  int
	Header  []Field
	Body    []byte
	File    io.ReadSeekCloser // closed by whoever writes the reply
	Size    int64             // of File
	ModTime time.Time         // of File
}

// Add appends a header field.
func (r *Reply) Add(name string, values []string) { r.Header = append(r.Header, Field{name, values}) }

// Reset empties r for reuse.
func (r *Reply) Reset() {
	r.Status, r.Body, r.File, r.Size, r.ModTime = 0, nil, nil, 0, time.Time{}
	r.Header = r.Header[:0]
}

// Lookup answers one read request; params are the route's path
// parameters in template order, percent-decoded.
type Lookup func(ctx context.Context, req *Request, params []string, rep *Reply) error

// Route is a GET and HEAD route both transports serve: Path is its echo
// template ("/files/:sha256/:filename"), used to register it, to label
// its metrics and to match it in the fast lane.
type Route struct {
	Path   string
	Lookup Lookup
}

// Match matches path against a route template whose parameters (":name")
// each stand for one non-empty segment, and returns the parameters in
// order. It is the fast lane's router; echo's router matches the same
// templates for echo.
func Match(template, path string, params []string) ([]string, bool) {
	for template != "" {
		i := strings.IndexByte(template, ':')
		if i < 0 {
			return params, template == path
		}
		lit := template[:i]
		if !strings.HasPrefix(path, lit) {
			return params, false
		}
		path, template = path[len(lit):], template[i:]
		end := strings.IndexByte(template, '/')
		if end < 0 {
			end = len(template)
		}
		template = template[end:]
		seg := strings.IndexByte(path, '/')
		if seg < 0 {
			seg = len(path)
		}
		if seg == 0 {
			return params, false
		}
		params = append(params, path[:seg])
		path = path[seg:]
	}
	return params, path == ""
}

// NewRequest builds the Request of an echo request.
func NewRequest(c echo.Context, a auth.Result) Request {
	r := c.Request()
	h := r.Header
	return Request{
		Method:         r.Method,
		Accept:         h.Get(echo.HeaderAccept),
		AcceptEncoding: h.Get(echo.HeaderAcceptEncoding),
		IfNoneMatch:    h.Get("If-None-Match"),
		Format:         c.QueryParam("format"),
		Query:          r.URL.RawQuery,
		ForceQuery:     r.URL.ForceQuery,
		Conditional: h.Get("Range") != "" || h.Get("If-Range") != "" || h.Get("If-Match") != "" ||
			h.Get("If-Modified-Since") != "" || h.Get("If-Unmodified-Since") != "",
		Auth: a,
	}
}

// Handler serves route on echo: it resolves the request's credentials
// with resolve, runs the route's lookup and writes its reply.
func Handler(route Route, resolve func(echo.Context) auth.Result) echo.HandlerFunc {
	names := paramNames(route.Path)
	return func(c echo.Context) error {
		req := NewRequest(c, resolve(c))
		params := make([]string, len(names))
		for i, n := range names {
			params[i] = Param(c, n)
		}
		var rep Reply
		if err := route.Lookup(c.Request().Context(), &req, params, &rep); err != nil {
			return err
		}
		return Write(c, &rep)
	}
}

// paramNames returns the parameter names of a route template, in order.
func paramNames(template string) []string {
	var names []string
	for _, seg := range strings.Split(template, "/") {
		if n, ok := strings.CutPrefix(seg, ":"); ok {
			names = append(names, n)
		}
	}
	return names
}

// Write sends rep on echo's response: a File through http.ServeContent
// (Range, HEAD, If-None-Match, If-Modified-Since, with sendfile), anything
// else as status, headers and Body (none for HEAD, a 304 or a redirect).
func Write(c echo.Context, rep *Reply) error {
	hdr := c.Response().Header()
	// Canonical keys and shared value slices: this runs for every page
	// request, and Header.Set would canonicalize and allocate each time.
	for _, f := range rep.Header {
		hdr[f.Name] = f.Values
	}
	if rep.File != nil {
		defer rep.File.Close()
		http.ServeContent(readFromResponse{c.Response()}, c.Request(), "", rep.ModTime, rep.File)
		return nil
	}
	c.Response().WriteHeader(rep.Status)
	if c.Request().Method == http.MethodHead || rep.Body == nil {
		return nil
	}
	_, err := c.Response().Write(rep.Body)
	return err
}
