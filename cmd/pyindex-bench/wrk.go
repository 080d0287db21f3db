package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkResult is one wrk run's summary.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	bytesSec float64
	requests int64
	errors   string // non-2xx responses or socket errors, if any
}

// runWrk runs wrk against url and parses its summary.
func (b *bench) runWrk(ctx context.Context, c *pageCase, url string) (wrkResult, error) {
	conns, timeout := b.o.connections, "10s"
	if c.download {
		conns, timeout = b.o.downloadConnections, "60s"
	}
	args := []string{"-t", strconv.Itoa(min(b.o.threads, conns)), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", max(1, int(b.o.duration.Round(time.Second).Seconds()))), "--timeout", timeout, "--latency"}
	for _, h := range c.headers() {
		args = append(args, "-H", h)
	}
	args = append(args, url)
	cmd := exec.CommandContext(ctx, "wrk", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %v: %w\n%s", args, err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %v: %w\n%s", args, err, out)
	}
	return r, nil
}

// parseWrk reads wrk --latency output.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var errs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	inDist := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case line == "Latency Distribution":
			inDist = true
		case inDist && len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			switch f[0] {
			case "50%", "50.000%":
				r.p50 = d
			case "99%", "99.000%":
				r.p99 = d
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			inDist = false
			r.requests, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case strings.HasPrefix(line, "Transfer/sec:") && len(f) == 2:
			r.bytesSec = parseWrkBytes(f[1])
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"), strings.HasPrefix(line, "Socket errors:"):
			errs = append(errs, line)
		}
	}
	if r.rps == 0 || r.p50 == 0 {
		return r, fmt.Errorf("could not parse wrk's output")
	}
	r.errors = strings.Join(errs, "; ")
	return r, nil
}

func parseWrkDuration(s string) (time.Duration, error) {
	// wrk prints "812.00us", "1.23ms", "2.01s", "1.50m".
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("latency %q: %w", s, err)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("latency %q: unknown unit", s)
}

func parseWrkBytes(s string) float64 {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f * mult
}

// runCases runs every case on both servers, alternating, rounds times.
// A case with a load has it running during every run, nginx's included,
// so that both servers share the machine with the uploads.
func (b *bench) runCases(ctx context.Context) error {
	for _, c := range b.cases {
		p := c.server(b)
		var py, ngx []wrkResult
		for rnd := range b.o.rounds {
			for _, srv := range []string{p.name, "nginx"} {
				url := p.url + c.path
				if srv == "nginx" {
					url = b.ngx.url + c.nginxPath
				}
				var prof chan error
				if srv != "nginx" && rnd == 0 && p.pprof != "" {
					prof = b.profile(ctx, p, c.name)
				}
				stopLoad := func() {}
				if c.load != nil {
					stopLoad = b.startLoad(ctx, c.load, b.o.loadRate, &c.loadStats)
				}
				r, err := b.runWrk(ctx, c, url)
				stopLoad()
				if prof != nil {
					if perr := <-prof; perr != nil {
						b.logf("profile %s: %v", c.name, perr)
					}
				}
				if err != nil {
					return err
				}
				for _, s := range []*pyindexProc{p, c.load} {
					if s != nil && s.exited() {
						return fmt.Errorf("%s exited during %s:\n%s", s.name, c.name, s.out)
					}
				}
				b.logf("%-24s %-9s round %d: %9.0f req/s  p50 %-9s p99 %-9s %s", c.name, srv, rnd+1,
					r.rps, round(r.p50), round(r.p99), r.errors)
				if srv == "nginx" {
					ngx = append(ngx, r)
				} else {
					py = append(py, r)
				}
			}
		}
		b.results = append(b.results, result{name: c.name, desc: c.desc, size: c.size, py: mean(py), ngx: mean(ngx), target: c.target, wrk: true})
		if c.load != nil {
			note, met := c.loadStats.summary(b.o.loadRate)
			b.results = append(b.results, result{name: c.name + " load", desc: fmt.Sprintf("uploads to %d other projects through %s during its runs", loadProjects, c.load.name),
				note: note, goal: fmt.Sprintf("%g/s, none failed", b.o.loadRate), met: &met})
		}
	}
	return nil
}

// profile takes a CPU profile of p for the length of one wrk run.
func (b *bench) profile(ctx context.Context, p *pyindexProc, name string) chan error {
	done := make(chan error, 1)
	go func() {
		secs := max(1, int(b.o.duration.Seconds())-1)
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, secs)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if err := os.MkdirAll(b.o.cpuProfile, 0o755); err != nil {
			done <- err
			return
		}
		f, err := os.Create(filepath.Join(b.o.cpuProfile, name+".pprof"))
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return done
}

func mean(rs []wrkResult) wrkResult {
	var m wrkResult
	var errs []string
	for _, r := range rs {
		m.rps += r.rps / float64(len(rs))
		m.bytesSec += r.bytesSec / float64(len(rs))
		m.p50 += r.p50 / time.Duration(len(rs))
		m.p99 += r.p99 / time.Duration(len(rs))
		m.requests += r.requests
		if r.errors != "" {
			errs = append(errs, r.errors)
		}
	}
	m.errors = strings.Join(errs, "; ")
	return m
}
