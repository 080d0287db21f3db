// Command pyindex-bench measures pyindex against nginx serving the same
// bytes as static files, on this machine, in one run.
//
// It seeds a data folder through the catalog API (index.Catalog.AddFiles),
// builds and starts pyindex on it, fetches the exact bytes pyindex serves
// for each measured page (and their gzip variants) into a static tree,
// starts nginx on that tree, and drives both with wrk, alternately. Then it
// times uploads (small wheels, and a 1 GiB one against cp) and prints a
// table. Everything listens on 127.0.0.1; every child process is stopped
// at the end, and on Ctrl-C.
//
// The cases named ...@pg run on replicas on PostgreSQL: the bench starts a
// throwaway cluster from /usr/lib/postgresql/15/bin (or uses the empty
// database of --catalog), copies the seeded catalog into it with
// `pyindex catalog copy`, and starts up to three replicas on it that share
// the SQLite server's file store. They measure the same pages, the time
// from an upload through one replica to its showing on another, upload
// throughput with one replica and with three, and the 20-file page while
// another client uploads to other projects at a steady rate (also on
// SQLite).
//
//	go run ./cmd/pyindex-bench [--scale default|large] [--duration 10s] [--connections 64] [--cases a,b] [--skip-postgres] [--out DIR] [--keep]
//
// It needs nginx and wrk (Debian packages nginx and wrk) on the PATH, and
// postgresql-15 for the PostgreSQL cases. It is slow and not part of CI;
// `go test ./cmd/pyindex-bench` runs it at a toy scale when they are
// installed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.scale, "scale", "default", "catalog size: default (10k projects, ~200k files), large (100k projects, ~1M files) or toy (20 projects, small files: a smoke test)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of one wrk run")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections for pages")
	flag.IntVar(&o.downloadConnections, "download-connections", 8, "wrk connections for file downloads")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.rounds, "rounds", 2, "runs per server and case (alternating pyindex, nginx, ...); the table shows the mean")
	flag.IntVar(&o.uploads, "uploads", 200, "sequential small uploads timed")
	flag.StringVar(&o.out, "out", "", "working folder (data, static tree, configs, the 1 GiB file); default a temporary folder")
	flag.BoolVar(&o.keep, "keep", false, "keep the working folder afterwards")
	flag.StringVar(&o.pyindex, "pyindex", "", "pyindex binary to run; default: build ./cmd/pyindex into the working folder")
	flag.StringVar(&o.cases, "cases", "", "comma-separated case names to run (default: all but those marked *); see the list below")
	flag.BoolVar(&o.skipBigUpload, "skip-big-upload", false, "skip the 1 GiB upload")
	flag.BoolVar(&o.skipPostgres, "skip-postgres", false, "skip the cases on PostgreSQL (those named ...@pg)")
	flag.StringVar(&o.catalogURL, "catalog", "", "run the PostgreSQL cases on this existing, empty database (postgres://...) instead of a throwaway cluster started from "+pgBinDir)
	flag.Float64Var(&o.loadRate, "load-rate", 20, "uploads per second to other projects during page20-under-uploads")
	flag.IntVar(&o.uploadClients, "upload-clients", 8, "concurrent clients in upload-throughput")
	flag.IntVar(&o.propagations, "propagations", 200, "uploads timed from one replica to another in propagation@pg")
	flag.Usage = usage
	flag.StringVar(&o.cpuProfile, "pprof", "", "write a CPU profile of the server measured (pyindex, or replica A for the @pg cases) during each page and download case to DIR/<case>.pprof (needs a build with the pprof endpoint: see README)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pyindex-bench:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	scale               string
	duration            time.Duration
	connections         int
	downloadConnections int
	threads             int
	rounds              int
	uploads             int
	out                 string
	keep                bool
	pyindex             string
	cases               string
	skipBigUpload       bool
	skipPostgres        bool
	catalogURL          string
	loadRate            float64
	uploadClients       int
	propagations        int
	cpuProfile          string

	// Set by the test: a toy catalog and no 100 MiB or 1 GiB files.
	toy bool
}

// scale is the seeded catalog's shape. Filler projects have versions x 2
// files (a wheel and an sdist); "bench-twenty" has 10 x 2 = 20 files and
// "bench-big" 2,000 versions x 2 files.
type scale struct {
	name      string
	projects  int
	versions  int // per filler project
	bigFiles  int64
	hugeFiles int64
}

func scaleOf(o options) (scale, error) {
	if o.toy || o.scale == "toy" {
		return scale{name: "toy", projects: 20, versions: 2, bigFiles: 1 << 20, hugeFiles: 4 << 20}, nil
	}
	switch o.scale {
	case "default":
		return scale{name: "default", projects: 10_000, versions: 10, bigFiles: 100 << 20, hugeFiles: 1 << 30}, nil
	case "large":
		return scale{name: "large", projects: 100_000, versions: 5, bigFiles: 100 << 20, hugeFiles: 1 << 30}, nil
	}
	return scale{}, fmt.Errorf("unknown --scale %q (want default or large)", o.scale)
}

// caseInfo is one case --cases can name.
type caseInfo struct {
	name string
	// optional cases run only when --cases names them.
	optional bool
	// replicas is how many PostgreSQL replicas the case needs.
	replicas int
}

// allCases lists every case in the order of the report; a case on
// PostgreSQL (name@pg) follows its SQLite twin.
var allCases = []caseInfo{
	{name: "page20-json-gz"}, {name: "page20-json-gz@pg", replicas: 1},
	{name: "page20-html-gz"}, {name: "page20-html-gz@pg", replicas: 1},
	{name: "page20-json"}, {name: "page20-json@pg", replicas: 1, optional: true},
	{name: "page20-html"}, {name: "page20-html@pg", replicas: 1, optional: true},
	{name: "big-json-gz"}, {name: "big-json-gz@pg", replicas: 1},
	{name: "big-html-gz"}, {name: "big-html-gz@pg", replicas: 1, optional: true},
	{name: "root-json-gz"}, {name: "root-json-gz@pg", replicas: 1},
	{name: "root-html-gz"}, {name: "root-html-gz@pg", replicas: 1, optional: true},
	{name: "download-100m"},
	{name: "mirror-page-gz"},
	{name: "mirror-file"},
	{name: "page20-under-uploads"}, {name: "page20-under-uploads@pg", replicas: 2},
	{name: "big-under-uploads", optional: true}, {name: "big-under-uploads@pg", replicas: 2, optional: true},
	{name: "upload-small"}, {name: "upload-small@pg", replicas: 1},
	{name: "upload-throughput"}, {name: "upload-throughput@pg", replicas: 1}, {name: "upload-throughput@pg3", replicas: 3},
	{name: "propagation@pg", replicas: 2},
	{name: "upload-1g"},
}

func caseByName(name string) (caseInfo, bool) {
	for _, c := range allCases {
		if c.name == name {
			return c, true
		}
	}
	return caseInfo{}, false
}

// caseOrder is the position of name in the report.
func caseOrder(name string) int {
	for i, c := range allCases {
		if c.name == name {
			return i
		}
	}
	return len(allCases)
}

// checkCases reports names in --cases that are no case.
func (o options) checkCases() error {
	if o.cases == "" {
		return nil
	}
	var bad []string
	for c := range strings.SplitSeq(o.cases, ",") {
		if _, ok := caseByName(strings.TrimSpace(c)); !ok {
			bad = append(bad, strings.TrimSpace(c))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("unknown --cases %s (see --help for the list)", strings.Join(bad, ", "))
	}
	return nil
}

// wanted reports whether case name runs: named in --cases or, without
// --cases, a default case that the skip flags leave in.
func (o options) wanted(name string) bool {
	if o.cases == "" {
		c, ok := caseByName(name)
		switch {
		case !ok || c.optional:
			return false
		case o.skipPostgres && c.replicas > 0:
			return false
		case o.skipBigUpload && name == "upload-1g":
			return false
		}
		return true
	}
	for c := range strings.SplitSeq(o.cases, ",") {
		if strings.TrimSpace(c) == name {
			return true
		}
	}
	return false
}

// replicasNeeded is how many PostgreSQL replicas the wanted cases need.
func (o options) replicasNeeded() int {
	n := 0
	for _, c := range allCases {
		if o.wanted(c.name) {
			n = max(n, c.replicas)
		}
	}
	return n
}

// usage prints the flags and the cases.
func usage() {
	w := flag.CommandLine.Output()
	fmt.Fprintf(w, "Usage: pyindex-bench [flags]\n\nMeasures pyindex against nginx serving the same bytes, on SQLite and on PostgreSQL replicas.\n\nFlags:\n")
	flag.PrintDefaults()
	fmt.Fprintf(w, "\nCases (--cases; * only when named):\n")
	for _, c := range allCases {
		mark := " "
		if c.optional {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %-24s %s\n", mark, c.name, caseHelp[strings.SplitN(c.name, "@", 2)[0]]+onWhat(c))
	}
}

// onWhat says where a case runs, for --help.
func onWhat(c caseInfo) string {
	switch {
	case strings.HasSuffix(c.name, "-under-uploads@pg"):
		return " (pages from replica A on PostgreSQL, uploads through replica B)"
	case strings.HasSuffix(c.name, "-under-uploads"):
		return " (pages and uploads on the SQLite server)"
	case c.replicas == 1:
		return " (a replica on PostgreSQL)"
	case c.replicas > 1:
		return fmt.Sprintf(" (%d replicas on PostgreSQL)", c.replicas)
	}
	return ""
}

// caseHelp describes each case for --help.
var caseHelp = map[string]string{
	"page20-json-gz":       "20-file project page, JSON (pip), gzip",
	"page20-html-gz":       "20-file project page, HTML, gzip",
	"page20-json":          "20-file project page, JSON, identity",
	"page20-html":          "20-file project page, HTML, identity",
	"big-json-gz":          "2,000-version project page, JSON, gzip",
	"big-html-gz":          "2,000-version project page, HTML, gzip",
	"root-json-gz":         "/simple/, JSON, gzip",
	"root-html-gz":         "/simple/, HTML, gzip",
	"download-100m":        "download of a 100 MiB file",
	"mirror-page-gz":       "warm mirror page, JSON, gzip",
	"mirror-file":          "warm mirror file (1 MiB)",
	"page20-under-uploads": "page20-json-gz while another client uploads to other projects at --load-rate files/s",
	"big-under-uploads":    "big-json-gz while another client uploads to other projects at --load-rate files/s",
	"upload-small":         "--uploads sequential uploads of a small wheel (latency)",
	"upload-throughput":    "--uploads small uploads by --upload-clients clients at once (files/s), round-robin over the replicas",
	"propagation":          "--propagations uploads through one replica, each polled on another until it shows",
	"upload-1g":            "upload of a 1 GiB wheel against cp",
}

func run(ctx context.Context, o options, stdout io.Writer) (err error) {
	sc, err := scaleOf(o)
	if err != nil {
		return err
	}
	if o.rounds < 1 || o.connections < 1 || o.downloadConnections < 1 || o.threads < 1 || o.duration <= 0 {
		return errors.New("--rounds, --connections, --download-connections, --threads and --duration must be positive")
	}
	if o.loadRate <= 0 || o.uploadClients < 1 || o.propagations < 1 {
		return errors.New("--load-rate, --upload-clients and --propagations must be positive")
	}
	if err := o.checkCases(); err != nil {
		return err
	}
	if o.catalogURL != "" && !strings.HasPrefix(o.catalogURL, "postgres://") && !strings.HasPrefix(o.catalogURL, "postgresql://") {
		return fmt.Errorf("--catalog: want a postgres:// URL, got %q", o.catalogURL)
	}
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := lookPath(tool); err != nil {
			return fmt.Errorf("%s not found (apt-get install -y nginx wrk): %w", tool, err)
		}
	}
	b, err := newBench(ctx, o, sc, stdout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.close(); err == nil {
			err = cerr
		}
	}()
	return b.run(ctx)
}
