package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"
)

var lookPath = exec.LookPath

// bench is one run: its folders, its child processes and its results.
type bench struct {
	o      options
	sc     scale
	out    string // working folder
	tmpOut bool   // out was created here (removed unless --keep)
	log    io.Writer

	bin      string // pyindex binary
	py       *pyindexProc
	ngx      *nginxProc
	upstream *upstream
	client   *http.Client // no compression, no redirects

	// The PostgreSQL side: the cluster the bench started (nil with
	// --catalog), the catalog's URL and the replicas serving it, A first.
	pg           *pgCluster
	pgURL        string
	replicas     []*pyindexProc
	replicaStart time.Duration // replica A's start
	copyTime     time.Duration // catalog copy of the seed into PostgreSQL

	// uploadSeq numbers the uploads of the load and throughput cases, so
	// that every one is a new version.
	uploadSeq atomic.Int64

	startTime time.Duration
	seedTime  time.Duration
	seeded    seedInfo
	cases     []*pageCase
	results   []result
	notes     []string
}

func newBench(ctx context.Context, o options, sc scale, log io.Writer) (*bench, error) {
	b := &bench{o: o, sc: sc, log: log, out: o.out}
	if b.out == "" {
		d, err := os.MkdirTemp("", "pyindex-bench-")
		if err != nil {
			return nil, err
		}
		b.out, b.tmpOut = d, true
	} else if err := os.MkdirAll(b.out, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(b.out)
	if err != nil {
		return nil, err
	}
	b.out = abs
	b.client = &http.Client{
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 10 * time.Minute,
	}
	return b, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "# "+format+"\n", args...)
}

// close stops every child process and removes the working folder unless
// --keep was given (or it was given with --out: then only the bulky parts
// go).
func (b *bench) close() error {
	var first error
	if b.ngx != nil {
		if err := b.ngx.stop(); err != nil && first == nil {
			first = err
		}
	}
	if b.py != nil {
		if err := b.py.stop(); err != nil && first == nil {
			first = err
		}
	}
	for _, r := range b.replicas {
		if err := r.stop(); err != nil && first == nil {
			first = err
		}
	}
	if b.pg != nil {
		if err := b.pg.stop(); err != nil && first == nil {
			first = err
		}
	}
	if b.upstream != nil {
		b.upstream.close()
	}
	if b.o.keep {
		b.logf("kept %s", b.out)
		return first
	}
	if b.tmpOut {
		os.RemoveAll(b.out)
	} else {
		for _, p := range []string{"data", "static", "nginx", "huge.whl", "huge-copy.whl", "replica-a", "replica-b", "replica-c"} {
			os.RemoveAll(filepath.Join(b.out, p))
		}
	}
	return first
}

func (b *bench) run(ctx context.Context) error {
	b.logf("working folder %s, scale %s", b.out, b.sc.name)
	if err := b.build(ctx); err != nil {
		return err
	}
	if err := b.seed(ctx); err != nil {
		return err
	}
	// The PostgreSQL catalog is a copy of the seed, made before anything
	// else changes the SQLite one.
	if n := b.o.replicasNeeded(); n > 0 {
		if err := b.setupPostgres(ctx); err != nil {
			return err
		}
	}
	up, err := startUpstream(b.sc)
	if err != nil {
		return err
	}
	b.upstream = up
	if err := b.startPyindex(ctx); err != nil {
		return err
	}
	if err := b.startReplicas(ctx, b.o.replicasNeeded()); err != nil {
		return err
	}
	if err := b.prepareCases(ctx); err != nil {
		return err
	}
	if err := b.startNginx(ctx); err != nil {
		return err
	}
	if err := b.runCases(ctx); err != nil {
		return err
	}
	hwm, rss := b.py.memory()
	b.results = append(b.results, result{name: "pyindex RSS after the page cases", note: fmt.Sprintf("peak %s, now %s", mib(hwm), mib(rss))})
	if len(b.replicas) > 0 {
		hwm, rss := b.replicas[0].memory()
		b.results = append(b.results, result{name: "replica A (PostgreSQL) RSS after the page cases", note: fmt.Sprintf("peak %s, now %s", mib(hwm), mib(rss))})
	}
	if b.o.wanted("upload-small") {
		if err := b.smallUploads(ctx, "upload-small", b.py); err != nil {
			return err
		}
	}
	if b.o.wanted("upload-small@pg") {
		if err := b.smallUploads(ctx, "upload-small@pg", b.replicas[0]); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		name    string
		servers []*pyindexProc
	}{{"upload-throughput", []*pyindexProc{b.py}}, {"upload-throughput@pg", b.replicas[:min(1, len(b.replicas))]}, {"upload-throughput@pg3", b.replicas}} {
		if b.o.wanted(t.name) {
			if err := b.uploadThroughput(ctx, t.name, t.servers); err != nil {
				return err
			}
		}
	}
	if b.o.wanted("propagation@pg") {
		if err := b.propagation(ctx); err != nil {
			return err
		}
	}
	if b.o.wanted("upload-1g") {
		if err := b.hugeUpload(ctx); err != nil {
			return err
		}
	}
	b.report()
	return nil
}

// build compiles pyindex into the working folder unless --pyindex names a
// binary.
func (b *bench) build(ctx context.Context) error {
	if b.o.pyindex != "" {
		b.bin = b.o.pyindex
		return nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	b.bin = filepath.Join(b.out, "pyindex")
	args := []string{"build", "-o", b.bin}
	if b.o.cpuProfile != "" {
		args = append(args, "-tags", "pprof")
	}
	args = append(args, "./cmd/pyindex")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	b.logf("building pyindex: go %v", args)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	return nil
}

// moduleRoot returns the folder of the module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := string(out)
	for len(mod) > 0 && (mod[len(mod)-1] == '\n' || mod[len(mod)-1] == '\r') {
		mod = mod[:len(mod)-1]
	}
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run pyindex-bench from inside the pyindex module, or pass --pyindex")
	}
	return filepath.Dir(mod), nil
}
