package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one row of the report: a wrk case (both servers), or a single
// measurement with a note.
type result struct {
	name, desc string
	size       int
	wrk        bool
	py, ngx    wrkResult
	target     float64 // minimum pyindex/nginx req/s ratio

	note string
	goal string
	met  *bool
}

// report prints the table (Markdown, so it can be pasted into the README).
func (b *bench) report() {
	w := b.log
	fmt.Fprintf(w, "\npyindex-bench: scale %s (%d projects, %d files seeded in %s), wrk %d threads, %d connections (downloads %d), %s x %d rounds per server, alternating\n",
		b.sc.name, b.seeded.projects, b.seeded.files, b.seedTime.Round(100*time.Millisecond), b.o.threads, b.o.connections,
		b.o.downloadConnections, b.o.duration, b.o.rounds)
	fmt.Fprintf(w, "machine: %s, %d cores, %s RAM; %s; nginx %s\n", cpuModel(), runtime.NumCPU(), memTotal(), runtime.Version(), b.ngxVersion())
	if len(b.replicas) > 0 {
		where := "a throwaway cluster started by the bench (fsync off)"
		if b.pg == nil {
			where = "the --catalog database"
		}
		fmt.Fprintf(w, "cases named @pg: %d replica(s) on PostgreSQL %s, %s, sharing one fs store; the catalog copied from the seed\n",
			len(b.replicas), pgVersion(context.Background(), b.pgURL), where)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	if slices.ContainsFunc(b.results, func(r result) bool { return r.wrk }) {
		fmt.Fprintln(tw, "| case\t size\t pyindex req/s\t p50\t p99\t nginx req/s\t p50\t p99\t ratio\t target\t met\t")
		fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
		for _, r := range b.results {
			if !r.wrk {
				continue
			}
			ratio := r.py.rps / r.ngx.rps
			met := ratio >= r.target
			goal := fmt.Sprintf(">=%.1fx", r.target)
			if r.target == 0.8 { // pages: p99 <= 2x nginx's too
				met = met && r.py.p99 <= 2*r.ngx.p99
				goal += ", p99<=2x"
			}
			rps := func(x wrkResult) string {
				if x.bytesSec > 50<<20 {
					return fmt.Sprintf("%.0f (%.0f MiB/s)", x.rps, x.bytesSec/(1<<20))
				}
				return fmt.Sprintf("%.0f", x.rps)
			}
			fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t %s\t %s\t %s\t %s\t %.2f\t %s\t %s\t\n", r.name, mib(int64(r.size)),
				rps(r.py), round(r.py.p50), round(r.py.p99), rps(r.ngx), round(r.ngx.p50), round(r.ngx.p99), ratio, goal, yesNo(met))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| measurement\t result\t target\t met\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t")
	startMet := b.startTime < 2*time.Second
	fmt.Fprintf(tw, "| server start (process start to /readyz 200)\t %s\t < 2s\t %s\t\n", round(b.startTime), yesNo(startMet))
	if len(b.replicas) > 0 {
		fmt.Fprintf(tw, "| catalog copy of the seed into PostgreSQL (pyindex catalog copy)\t %s\t -\t -\t\n", round(b.copyTime))
		fmt.Fprintf(tw, "| replica A start on PostgreSQL (to /readyz 200)\t %s\t < 2s\t %s\t\n", round(b.replicaStart), yesNo(b.replicaStart < 2*time.Second))
	}
	for _, r := range b.results {
		if r.wrk {
			continue
		}
		met := "-"
		if r.met != nil {
			met = yesNo(*r.met)
		}
		goal := r.goal
		if goal == "" {
			goal = "-"
		}
		desc := r.name
		if r.desc != "" {
			desc += ": " + r.desc
		}
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t\n", desc, r.note, goal, met)
	}
	tw.Flush()
	for _, r := range b.results {
		if r.wrk && (r.py.errors != "" || r.ngx.errors != "") {
			b.notes = append(b.notes, fmt.Sprintf("%s: pyindex: %q, nginx: %q", r.name, r.py.errors, r.ngx.errors))
		}
	}
	for _, n := range b.notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintln(w, "\ncases:")
	for _, r := range b.results {
		if r.wrk {
			fmt.Fprintf(w, "  %-24s %s\n", r.name, r.desc)
		}
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return mib(kb << 10)
		}
	}
	return "?"
}
