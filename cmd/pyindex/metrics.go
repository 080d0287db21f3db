package main

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pyindex/pyindex/generic"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/mirror"
)

// The server's own metrics. Components register theirs on Main.Registry
// too (storage.WithMetrics, the mirror, retention). Every label is bounded:
// routes are echo's route templates ("/simple/:project/"), never the request
// path, and no label ever holds a project or file name.

// Route templates whose successful GETs are downloads.
const (
	routeHostedFile = simple.RouteFile
	routeMirrorFile = mirror.RouteFile
	routeGeneric    = generic.RouteFile
)

// serverMetrics are the HTTP, upload and download metrics.
type serverMetrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	downloadFiles *prometheus.CounterVec
	downloadBytes *prometheus.CounterVec
	uploadFiles   *prometheus.CounterVec
	uploadBytes   prometheus.Counter
	laneReplies   prometheus.Counter
	series        sync.Map // routeKey -> *routeSeries
}

// newServerMetrics registers the server's metrics on reg: HTTP requests,
// uploads and downloads, the catalog gauges (queried at scrape time), the
// build info, and the Go and process collectors.
func newServerMetrics(reg prometheus.Registerer, cat *index.Catalog, log *slog.Logger) *serverMetrics {
	sm := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "pyindex", Subsystem: "http", Name: "request_duration_seconds",
			Help: "Time from routing to the end of the handler (downloads: until the body is sent), by route template.",
			// 1ms (a cached page) to ~5min (a large upload on a slow link).
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 12),
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pyindex", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		downloadFiles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Name: "download_files_total",
			Help: "Successful GETs of files, by source (hosted, mirror, generic) and kind (dist, metadata: PEP 658 files; file: generic files).",
		}, []string{"source", "kind"}),
		downloadBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Name: "download_bytes_total",
			Help: "Response body bytes of file downloads, by source and kind.",
		}, []string{"source", "kind"}),
		uploadFiles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Name: "upload_files_total",
			Help: "Accepted uploads: result stored (a new file) or identical (a retried upload of a file already stored).",
		}, []string{"result"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pyindex", Name: "upload_bytes_total",
			Help: "Bytes of newly stored uploaded files (identical retries are not counted).",
		}),
		laneReplies: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "http", Name: "fast_lane_replies_total",
			Help: "Requests answered by the fast lane ([server] fast_lane): rendered pages and stored files; they are counted in requests_total too.",
		}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pyindex", Name: "build_info",
		Help: "Always 1; the labels give this build's version (as pyindex version and /api/v1/version print it) and Go version.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(Version(), runtime.Version()).Set(1)
	reg.MustRegister(sm.requests, sm.duration, sm.inFlight, sm.downloadFiles, sm.downloadBytes,
		sm.uploadFiles, sm.uploadBytes, sm.laneReplies, buildInfo,
		newCatalogCollector(cat, log), index.NewPoolCollector(cat),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pc := index.NewChangeCollector(cat); pc != nil {
		reg.MustRegister(pc) // pyindex_catalog_change_propagation_seconds
	}
	return sm
}

// upload counts an accepted upload (upload.Deps.OnUpload).
func (sm *serverMetrics) upload(size int64, identical bool) {
	if identical {
		sm.uploadFiles.WithLabelValues("identical").Inc()
		return
	}
	sm.uploadFiles.WithLabelValues("stored").Inc()
	sm.uploadBytes.Add(float64(size))
}

// middleware counts and times every request by route template. It renders
// a handler's error itself (as accessLog does) so that the status it
// records is the one the client gets. A panic is counted as a 500 and
// passed on to the Recover middleware.
func (sm *serverMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		sm.inFlight.Inc()
		defer sm.inFlight.Dec()
		defer func() {
			if r := recover(); r != nil {
				sm.observe(c, start, http.StatusInternalServerError)
				panic(r)
			}
		}()
		if err := next(c); err != nil {
			c.Error(err)
		}
		sm.observe(c, start, c.Response().Status)
		return nil
	}
}

// observe records one finished request with status code.
func (sm *serverMetrics) observe(c echo.Context, start time.Time, code int) {
	route := c.Path()
	if route == "" {
		route = "unmatched"
	}
	filename := ""
	if route == routeHostedFile || route == routeMirrorFile {
		filename = c.Param("filename")
	} else if route == routeGeneric {
		filename = c.Param("file")
	}
	sm.record(route, c.Request().Method, code, start, filename, c.Response().Size)
}

// record counts and times one request by route template; a successful
// GET of a file route (filename set) is also a download of size bytes.
func (sm *serverMetrics) record(route, method string, code int, start time.Time, filename string, size int64) {
	rm := sm.routeMetrics(route, methodLabel(method), code)
	rm.requests.Inc()
	rm.duration.Observe(time.Since(start).Seconds())
	if method == http.MethodGet && (code == http.StatusOK || code == http.StatusPartialContent) {
		var source string
		switch route {
		case routeHostedFile:
			source = "hosted"
		case routeMirrorFile:
			source = "mirror"
		case routeGeneric:
			source = "generic"
		}
		if source != "" {
			kind := "dist"
			if source == "generic" {
				kind = "file"
			} else if strings.HasSuffix(filename, ".metadata") {
				kind = "metadata"
			}
			sm.downloadFiles.WithLabelValues(source, kind).Inc()
			sm.downloadBytes.WithLabelValues(source, kind).Add(float64(size))
		}
	}
}

// routeKey names one series of the request metrics.
type routeKey struct {
	route, method string
	code          int
}

// routeSeries are the request metrics' children for one routeKey.
type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// routeMetrics returns the series of one route, method and code,
// remembered so that a request does not hash its label values again. The
// keys are bounded as the labels are.
func (sm *serverMetrics) routeMetrics(route, method string, code int) *routeSeries {
	k := routeKey{route, method, code}
	if v, ok := sm.series.Load(k); ok {
		return v.(*routeSeries)
	}
	v, _ := sm.series.LoadOrStore(k, &routeSeries{
		requests: sm.requests.WithLabelValues(route, method, strconv.Itoa(code)),
		duration: sm.duration.WithLabelValues(route),
	})
	return v.(*routeSeries)
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// catalogCollector reports the catalog's counts, queried at scrape time so
// that changes made by other processes (the CLI, another replica) show.
type catalogCollector struct {
	cat *index.Catalog
	log *slog.Logger

	up, serial, projects, releases, files, bytes *prometheus.Desc
}

func newCatalogCollector(cat *index.Catalog, log *slog.Logger) *catalogCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("pyindex_catalog_"+name, help, labels, nil)
	}
	return &catalogCollector{
		cat:      cat,
		log:      log,
		up:       d("up", "1 when the catalog answered the scrape's query, else 0 (and no other catalog series)."),
		serial:   d("serial", "The catalog's global change serial (X-PyPI-Last-Serial)."),
		projects: d("projects", "Projects: hosted, or mirror (upstream projects with a cached page).", "source"),
		releases: d("releases", "Hosted releases."),
		files:    d("files", "Files: hosted, or mirror (cached upstream files).", "source"),
		bytes:    d("bytes", "Total size of the files counted by pyindex_catalog_files.", "source"),
	}
}

// Describe implements prometheus.Collector.
func (cc *catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cc.up, cc.serial, cc.projects, cc.releases, cc.files, cc.bytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (cc *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := cc.cat.Stats(ctx)
	if err != nil {
		cc.log.Warn("metrics: catalog stats", "err", err)
		ch <- prometheus.MustNewConstMetric(cc.up, prometheus.GaugeValue, 0)
		return
	}
	g := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	g(cc.up, 1)
	g(cc.serial, s.Serial)
	g(cc.projects, s.Projects, "hosted")
	g(cc.projects, s.MirrorProjects, "mirror")
	g(cc.releases, s.Releases)
	g(cc.files, s.Files, "hosted")
	g(cc.files, s.MirrorFiles, "mirror")
	g(cc.bytes, s.Bytes, "hosted")
	g(cc.bytes, s.MirrorBytes, "mirror")
}

// metricsHandler serves the registry in the Prometheus exposition format.
// Unless auth.metrics_anonymous is set it needs an admin credential.
func (m *Main) metricsHandler() echo.HandlerFunc {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.Registry,
	})
	return func(c echo.Context) error {
		if !m.Config.Auth.MetricsAnonymous {
			if _, err := m.Auth.Require(c, index.ScopeAdmin); err != nil {
				return err
			}
		}
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
