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
	o := options{toy: true, duration: time.Second, connections: 8, downloadConnections: 2, threads: 1, rounds: 1,
		uploads: 3, out: t.TempDir(), cases: "page20-json-gz,upload-small"}
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"| page20-json-gz", "upload-small: 3 sequential uploads", "server start"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
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
