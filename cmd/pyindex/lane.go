package main

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/fastlane"
	"github.com/pyindex/pyindex/mirror"
)

// newLane puts the fast lane in front of m.server: cached simple pages
// (readSide.FastPage) and stored files (readSide.FastFile, mir.FastFile)
// are answered there, with the same authentication (auth.FastPrincipal),
// access line, metrics and X-Request-Id as echo's middleware gives the
// requests net/http serves. mir may be nil.
func (m *Main) newLane(readSide *index.Handler, auth *index.Auth, mir *mirror.Mirror, met *serverMetrics) *fastlane.Server {
	h := m.Log.Handler()
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
		Fallback: m.server,
		// Pages the lane has not rendered yet (and requests the lane
		// declines to authenticate) are served by echo in memory and
		// sent from the lane, so a connection stays in it.
		InProcess: func(path string) bool { return strings.HasPrefix(path, "/simple/") },
		Lookup: func(req *fastlane.Request, rep *fastlane.Reply) bool {
			var lookup func(*fastlane.Request, *fastlane.Reply, index.Principal) bool
			switch {
			case strings.HasPrefix(req.Path, "/simple/"):
				lookup = readSide.FastPage
			case strings.HasPrefix(req.Path, "/files/"):
				lookup = readSide.FastFile
			case mir != nil && strings.HasPrefix(req.Path, "/mirror/files/"):
				lookup = mir.FastFile
			default:
				return false
			}
			p := index.Anonymous
			if req.Authorization != "" {
				var ok bool
				if p, ok = auth.FastPrincipal(context.Background(), req.Authorization, realIP(req)); !ok {
					return false
				}
			}
			met.inFlight.Inc()
			if !lookup(req, rep, p) {
				met.inFlight.Dec()
				return false
			}
			return true
		},
		Done: func(req *fastlane.Request, rep *fastlane.Reply, n int64) {
			met.inFlight.Dec()
			met.laneReplies.Inc()
			met.record(rep.Route, req.Method, rep.Status, req.Start, req.Path, n)
			logRequest(h, context.Background(), req.Method, req.Path, rep.Status, n, req.Start,
				realIP(req), req.RequestID, req.UserAgent)
		},
	}
}
