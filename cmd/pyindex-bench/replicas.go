package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// setupPostgres starts the throwaway cluster (unless --catalog names a
// database) and copies the seeded SQLite catalog into it with
// `pyindex catalog copy`, so both catalogs start with the same rows.
func (b *bench) setupPostgres(ctx context.Context) error {
	if b.o.catalogURL != "" {
		b.pgURL = b.o.catalogURL
	} else {
		pg, err := startPostgres(ctx)
		if err != nil {
			return err
		}
		b.pg, b.pgURL = pg, pg.url
	}
	b.logf("PostgreSQL %s; copying the seeded catalog into it", pgVersion(ctx, b.pgURL))
	start := time.Now()
	cmd := exec.CommandContext(ctx, b.bin, "catalog", "copy", "--data", filepath.Join(b.out, "data"), "--to", b.pgURL)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pyindex catalog copy (the --catalog database must be empty): %v: %s", err, out)
	}
	b.copyTime = time.Since(start)
	b.logf("catalog copied to PostgreSQL in %s", b.copyTime.Round(time.Millisecond))
	return nil
}

// startReplicas starts n replicas on the PostgreSQL catalog, each with
// its own data folder (temporary files and caches only) and all with the
// SQLite server's file store as their shared fs storage.
func (b *bench) startReplicas(ctx context.Context, n int) error {
	for i := range n {
		letter := string(rune('a' + i))
		p, took, err := b.startServer(ctx, "replica-"+letter, filepath.Join(b.out, "replica-"+letter),
			"PYINDEX_CATALOG_URL="+b.pgURL, "PYINDEX_STORAGE_PATH="+filepath.Join(b.out, "data", "files"))
		if err != nil {
			return err
		}
		b.replicas = append(b.replicas, p)
		if i == 0 {
			b.replicaStart = took
		}
	}
	return nil
}

// propagation times how long a commit made through one replica takes to
// show on another: an upload through replica i, then the project page of
// replica i+1 polled until it lists the new file. Each of the
// --propagations rounds uploads a new version of one of ten projects,
// after a random pause so that the rounds do not line up with the
// replicas' polling of the catalog.
func (b *bench) propagation(ctx context.Context) error {
	n := len(b.replicas)
	if n < 2 {
		return fmt.Errorf("propagation@pg needs two replicas, have %d", n)
	}
	const limit = 10 * time.Second
	rng := rand.New(rand.NewPCG(7, 11))
	var fromReq, fromResp, uploads []time.Duration
	timeouts := 0
	for i := range b.o.propagations {
		src, dst := b.replicas[i%n], b.replicas[(i+1)%n]
		project := fmt.Sprintf("bench-prop-%d", i%10)
		under := strings.ReplaceAll(project, "-", "_")
		version := fmt.Sprintf("1.%d.0", i)
		data, err := buildWheel(io.Discard, under, version, 0)
		if err != nil {
			return err
		}
		sum, _, _ := digests(data)
		fn := under + "-" + version + "-py3-none-any.whl"
		sent := time.Now()
		took, err := b.uploadTo(ctx, src, fn, project, version, sum, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
		done := sent.Add(took)
		for {
			seen, err := b.pageLists(ctx, dst, "/simple/"+project+"/", fn)
			if err != nil {
				return fmt.Errorf("propagation: %w", err)
			}
			if seen {
				break
			}
			if time.Since(done) > limit {
				timeouts++
				break
			}
			time.Sleep(time.Millisecond)
		}
		now := time.Now()
		fromReq = append(fromReq, now.Sub(sent))
		fromResp = append(fromResp, now.Sub(done))
		uploads = append(uploads, took)
		time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
	p50, p99 := percentiles(fromReq)
	r50, r99 := percentiles(fromResp)
	u50, _ := percentiles(uploads)
	met := p99 <= time.Second && timeouts == 0
	note := fmt.Sprintf("p50 %s, p99 %s, max %s from sending the upload (from its 200: p50 %s, p99 %s; the upload itself p50 %s)",
		round(p50), round(p99), round(slices.Max(fromReq)), round(r50), round(r99), round(u50))
	if timeouts > 0 {
		note += fmt.Sprintf("; %d never showed within %s", timeouts, limit)
	}
	b.results = append(b.results, result{name: "propagation@pg",
		desc: fmt.Sprintf("%d uploads through one of %d replicas, each polled on the next until its page lists the file", b.o.propagations, n),
		note: note, goal: "p99 <= 1s (aim 100ms)", met: &met})
	return nil
}

// pageLists reports whether the JSON project page at path on p lists
// filename (a page that does not exist yet lists nothing).
func (b *bench) pageLists(ctx context.Context, p *pyindexProc, path, filename string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", acceptPip)
	req.Header.Set("User-Agent", "pyindex-bench")
	resp, err := b.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return bytes.Contains(body, []byte(`"`+filename+`"`)), nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("GET %s%s: %s: %.200s", p.url, path, resp.Status, body)
}

// percentiles returns the median and the 99th percentile of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}
