package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestToyRun runs the tool end to end at a toy scale with one short case
// and a few small uploads, so that the code does not rot. It needs nginx
// and wrk (.ci/run installs them); without them it skips, except in CI
// where a missing tool fails the run.
func TestToyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pyindex and runs nginx and wrk")
	}
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI (.ci/run installs it): %v", tool, err)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := toyOptions(t, "page20-json-gz,upload-small")
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"| page20-json-gz", "upload-small: 3 sequential uploads", "server start"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// toyOptions are the options of a toy run of cases.
func toyOptions(t *testing.T, cases string) options {
	return options{toy: true, duration: time.Second, connections: 8, downloadConnections: 2, threads: 1, rounds: 1,
		uploads: 3, out: t.TempDir(), cases: cases, loadRate: 20, uploadClients: 2, propagations: 5}
}

// TestToyRunPostgres runs the PostgreSQL cases at a toy scale: a cluster
// the bench starts, three replicas, the page, the page under uploads on
// both catalogs, throughput and propagation. Without PostgreSQL (or nginx
// and wrk) it skips, except in CI.
func TestToyRunPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pyindex, starts PostgreSQL and runs nginx and wrk")
	}
	if _, err := pgBin(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI (.ci/run installs it): %v", err)
		}
		t.Skip(err)
	}
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI (.ci/run installs it): %v", tool, err)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := toyOptions(t, "page20-json-gz@pg,page20-under-uploads,page20-under-uploads@pg,upload-throughput@pg,upload-throughput@pg3,propagation@pg")
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"| page20-json-gz@pg ", "| page20-under-uploads ", "| page20-under-uploads@pg ",
		"page20-under-uploads load: uploads to 16 other projects through pyindex", "page20-under-uploads@pg load: uploads to 16 other projects through replica-b",
		"upload-throughput@pg: 3 small uploads, 2 clients at once, to one replica", "upload-throughput@pg3: 3 small uploads, 2 clients at once, to 3 replicas",
		"propagation@pg: 5 uploads through one of 3 replicas", "replica A start on PostgreSQL", "3 replica(s) on PostgreSQL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Every upload of the throughput and propagation cases succeeded.
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "failed, first:") || strings.Contains(line, "never showed") {
			t.Errorf("a case had failures: %s", line)
		}
	}
}

func TestWanted(t *testing.T) {
	var o options
	for name, want := range map[string]bool{"page20-json-gz": true, "page20-json-gz@pg": true, "page20-json@pg": false,
		"propagation@pg": true, "upload-1g": true, "no-such-case": false} {
		if got := o.wanted(name); got != want {
			t.Errorf("default: wanted(%q) = %v, want %v", name, got, want)
		}
	}
	if n := o.replicasNeeded(); n != 3 {
		t.Errorf("default run needs %d replicas, want 3", n)
	}
	o = options{skipPostgres: true, skipBigUpload: true}
	if o.wanted("page20-json-gz@pg") || o.wanted("upload-1g") || !o.wanted("page20-json-gz") || o.replicasNeeded() != 0 {
		t.Error("--skip-postgres --skip-big-upload left a case in or took one out")
	}
	o = options{cases: "page20-json@pg, propagation@pg"}
	if !o.wanted("page20-json@pg") || o.wanted("page20-json-gz") || o.replicasNeeded() != 2 || o.checkCases() != nil {
		t.Error("--cases did not select exactly its cases")
	}
	if err := (options{cases: "page20-json-gz,nope"}).checkCases(); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown case: %v", err)
	}
	for _, c := range allCases {
		if caseHelp[strings.SplitN(c.name, "@", 2)[0]] == "" {
			t.Errorf("case %s has no --help line", c.name)
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:8080/simple/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.11ms    3.02ms  47.93ms   91.07%
    Req/Sec    18.05k     1.91k   21.36k    70.00%
  Latency Distribution
     50%  812.00us
     75%    2.30ms
     90%    5.11ms
     99%   14.70ms
  35921 requests in 1.00s, 59.44MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  35906.27
Transfer/sec:     59.42MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 35906.27 || r.p50 != 812*time.Microsecond || r.p99 != 14700*time.Microsecond || r.requests != 35921 {
		t.Errorf("parsed %+v", r)
	}
	if r.bytesSec != 59.42*(1<<20) || !strings.Contains(r.errors, "Non-2xx") {
		t.Errorf("parsed %+v", r)
	}
	if _, err := parseWrk("garbage"); err == nil {
		t.Error("garbage parsed")
	}
}
