package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/fastlane"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/simple"
)

// laneLookup is the fast lane's scratch for one lookup: the read side's
// request and reply and the route's parameters, pooled so that a lane
// reply allocates nothing for them.
type laneLookup struct {
	req    httpx.Request
	rep    httpx.Reply
	params []string
}

var laneLookups = sync.Pool{New: func() any { return &laneLookup{params: make([]string, 0, 2)} }}

// newLane puts the fast lane in front of m.server. It answers the read
// side's routes (simple pages, hosted and mirrored files) by asking their
// lookups with InMemory set; it resolves credentials with auth.Fast, so a
// request whose credentials need bcrypt, are wrong or come from a blocked
// address goes to echo, which resolves and counts them. The access line,
// metrics and X-Request-Id are the ones echo's middleware gives the
// requests net/http serves.
func (m *Main) newLane(routes []httpx.Route, authSvc *auth.Service, met *serverMetrics) *fastlane.Server {
	rl := m.requestLog()
	trustXFF := m.Config.Server.TrustProxyHeaders
	extract := m.Echo.IPExtractor
	// realIP is echo's c.RealIP() for a lane request.
	realIP := func(req *fastlane.Request) string {
		if trustXFF && req.ForwardedFor != "" {
			return extract(&http.Request{RemoteAddr: req.RemoteAddr,
				Header: http.Header{"X-Forwarded-For": {req.ForwardedFor}}})
		}
		if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
			return host
		}
		return req.RemoteAddr
	}
	return &fastlane.Server{
		Fallback:         m.server,
		WriteIdleTimeout: m.Config.Server.WriteIdleTimeout,
		// Pages the lane has not rendered yet (and requests the lane
		// declines to authenticate) are served by echo in memory and
		// sent from the lane, so a connection stays in it.
		InProcess: func(path string) bool { return strings.HasPrefix(path, simple.RouteRoot) },
		Lookup: func(req *fastlane.Request, rep *fastlane.Reply) bool {
			ll := laneLookups.Get().(*laneLookup)
			defer laneLookups.Put(ll)
			var route *httpx.Route
			for i := range routes {
				var ok bool
				if ll.params, ok = httpx.Match(routes[i].Path, req.Path, ll.params[:0]); ok {
					route = &routes[i]
					break
				}
			}
			if route == nil {
				return false
			}
			ctx := context.Background()
			a := auth.Result{}
			if req.Authorization != "" {
				if a = authSvc.Resolve(ctx, req.Authorization, realIP(req), req.Path, auth.Fast); a.Err != nil {
					return false
				}
			}
			ll.req = httpx.Request{Method: req.Method, Accept: req.Accept, AcceptEncoding: req.AcceptEncoding,
				IfNoneMatch: req.IfNoneMatch, Conditional: req.Conditional, Auth: a, InMemory: true}
			ll.rep.Reset()
			met.inFlight.Inc()
			if err := route.Lookup(ctx, &ll.req, ll.params, &ll.rep); err != nil {
				met.inFlight.Dec()
				if ll.rep.File != nil {
					ll.rep.File.Close()
				}
				if !errors.Is(err, httpx.ErrNotInMemory) {
					m.Log.Warn("fast lane lookup failed", "path", req.Path, "err", err)
				}
				return false
			}
			rep.Status, rep.Route, rep.Body = ll.rep.Status, route.Path, ll.rep.Body
			private := authSvc.PrivateReads()
			for _, f := range ll.rep.Header {
				if private && f.Name == "Cache-Control" {
					rep.Add(f.Name, auth.PrivateCacheControl(f.Values[0]))
					continue
				}
				rep.Add(f.Name, f.Values[0])
			}
			if private {
				rep.Add("Vary", "Cookie") // as auth's privateReply
			}
			if ll.rep.File != nil {
				rep.File, rep.FileSize = ll.rep.File, ll.rep.Size
			}
			return true
		},
		Done: func(req *fastlane.Request, rep *fastlane.Reply, n int64) {
			met.inFlight.Dec()
			met.laneReplies.Inc()
			met.record(rep.Route, req.Method, rep.Status, req.Start, req.Path, n)
			rl.log(context.Background(), req.Method, req.Path, rep.Status, n, req.Start,
				realIP(req), req.RequestID, req.UserAgent)
		},
	}
}
