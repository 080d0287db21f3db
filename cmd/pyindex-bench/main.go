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
//	go run ./cmd/pyindex-bench [--scale default|large] [--duration 10s] [--connections 64] [--out DIR] [--keep]
//
// It needs nginx and wrk (Debian packages nginx and wrk) on the PATH. It is
// slow and not part of CI; `go test ./cmd/pyindex-bench` runs it at a toy
// scale when both are installed.
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
	flag.StringVar(&o.cases, "cases", "", "comma-separated case names to run (default: all); see the table's first column")
	flag.BoolVar(&o.skipBigUpload, "skip-big-upload", false, "skip the 1 GiB upload")
	flag.StringVar(&o.cpuProfile, "pprof", "", "write a CPU profile of pyindex during each page and download case to DIR/<case>.pprof (needs a build with the pprof endpoint: see README)")
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

// wanted reports whether case name was selected with --cases.
func (o options) wanted(name string) bool {
	if o.cases == "" {
		return true
	}
	for c := range strings.SplitSeq(o.cases, ",") {
		if strings.TrimSpace(c) == name {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o options, stdout io.Writer) (err error) {
	sc, err := scaleOf(o)
	if err != nil {
		return err
	}
	if o.rounds < 1 || o.connections < 1 || o.downloadConnections < 1 || o.threads < 1 || o.duration <= 0 {
		return errors.New("--rounds, --connections, --download-connections, --threads and --duration must be positive")
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
