package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/fastlane"
)

// newLane puts the fast lane in front of m.server: cached simple pages are
// answered by readSide.FastPage, with the same access line, metrics and
// X-Request-Id as echo's middleware gives the requests net/http serves.
func (m *Main) newLane(readSide *index.Handler, met *serverMetrics) *fastlane.Server {
	h := m.Log.Handler()
	trustXFF := m.Config.Server.TrustProxyHeaders
	extract := m.Echo.IPExtractor
	return &fastlane.Server{
		Fallback: m.server,
		// Pages the lane has not rendered yet are rendered by echo and
		// sent from the lane, so a connection stays in it.
		InProcess: func(path string) bool { return strings.HasPrefix(path, "/simple/") },
		Lookup: func(req *fastlane.Request, rep *fastlane.Reply) bool {
			met.inFlight.Inc()
			if !readSide.FastPage(req, rep) {
				met.inFlight.Dec()
				return false
			}
			return true
		},
		Done: func(req *fastlane.Request, rep *fastlane.Reply, n int64) {
			met.inFlight.Dec()
			met.laneReplies.Inc()
			rm := met.routeMetrics(rep.Route, req.Method, rep.Status)
			rm.requests.Inc()
			rm.duration.Observe(time.Since(req.Start).Seconds())
			remote := req.RemoteAddr
			if trustXFF && req.ForwardedFor != "" {
				remote = extract(&http.Request{RemoteAddr: req.RemoteAddr,
					Header: http.Header{"X-Forwarded-For": {req.ForwardedFor}}})
			} else if host, _, err := net.SplitHostPort(remote); err == nil {
				remote = host
			}
			logRequest(h, context.Background(), req.Method, req.Path, rep.Status, n, req.Start,
				remote, req.RequestID, req.UserAgent)
		},
	}
}
