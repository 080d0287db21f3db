package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// upload sends one file to the SQLite server (see uploadTo).
func (b *bench) upload(ctx context.Context, filename, name, version, sha256 string, r io.Reader, size int64) (time.Duration, error) {
	return b.uploadTo(ctx, b.py, filename, name, version, sha256, r, size)
}

// uploadTo sends one file to p's /legacy/ as twine does (a multipart body
// with a Content-Length, streamed from r) with the bench user's password,
// and returns the time until the response.
func (b *bench) uploadTo(ctx context.Context, p *pyindexProc, filename, name, version, sha256 string, r io.Reader, size int64) (time.Duration, error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, kv := range [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"}, {"metadata_version", "2.1"},
		{"name", name}, {"version", version}, {"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"sha256_digest", sha256},
	} {
		mw.WriteField(kv[0], kv[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename=%q`, filename))
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		return 0, err
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), r, bytes.NewReader([]byte(tail)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/legacy/", body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", "pyindex-bench")
	req.SetBasicAuth(benchUser, benchPassword)
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("upload %s: %s: %s", filename, resp.Status, bytes.TrimSpace(msg))
	}
	return took, nil
}

// smallUploads times N sequential uploads of tiny wheels to one project
// on p, after one untimed upload (which pays for bcrypt; the server caches
// a verified password).
func (b *bench) smallUploads(ctx context.Context, name string, p *pyindexProc) error {
	type wheel struct {
		fn, version, sha256 string
		data                []byte
	}
	n := b.o.uploads
	if n < 1 {
		return nil
	}
	wheels := make([]wheel, n+1)
	for i := range wheels {
		v := fmt.Sprintf("2.0.%d", i)
		data, err := buildWheel(io.Discard, "bench_small", v, 0)
		if err != nil {
			return err
		}
		sum, _, _ := digests(data)
		wheels[i] = wheel{"bench_small-" + v + "-py3-none-any.whl", v, sum, data}
	}
	first, err := b.uploadTo(ctx, p, wheels[0].fn, "bench-small", wheels[0].version, wheels[0].sha256, bytes.NewReader(wheels[0].data), int64(len(wheels[0].data)))
	if err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	for _, w := range wheels[1:] {
		d, err := b.uploadTo(ctx, p, w.fn, "bench-small", w.version, w.sha256, bytes.NewReader(w.data), int64(len(w.data)))
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	met := p50 < 20*time.Millisecond
	b.results = append(b.results, result{name: name,
		desc: fmt.Sprintf("%d sequential uploads of a %s wheel", n, mib(int64(len(wheels[1].data)))),
		note: fmt.Sprintf("p50 %s, p99 %s, max %s (first upload, with bcrypt: %s)", round(p50), round(p99), round(lat[len(lat)-1]), round(first)),
		goal: "p50 < 20ms", met: &met})
	return nil
}

// hugeUpload uploads a 1 GiB wheel and compares with cp of the same file
// on the same disk; it reports pyindex's peak RSS growth during the upload.
func (b *bench) hugeUpload(ctx context.Context) error {
	src := filepath.Join(b.out, "huge.whl")
	b.logf("writing the %s wheel", mib(b.sc.hugeFiles))
	fn, err := writeWheelFile(src, "bench_huge", "1.0", b.sc.hugeFiles)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	dst := filepath.Join(b.out, "huge-copy.whl")
	timeCmd := func(args ...string) (time.Duration, error) {
		start := time.Now()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("%v: %w: %s", args, err, out)
		}
		return time.Since(start), nil
	}
	cp, err := timeCmd("cp", src, dst)
	if err != nil {
		return err
	}
	sync, err := timeCmd("sync", dst)
	if err != nil {
		return err
	}
	os.Remove(dst)

	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := b.py.resetPeak(); err != nil {
		b.notes = append(b.notes, "could not reset pyindex's peak RSS (clear_refs): "+err.Error())
	}
	_, before := b.py.memory()
	took, err := b.upload(ctx, fn, "bench-huge", "1.0", hex.EncodeToString(h.Sum(nil)), f, fi.Size())
	if err != nil {
		return err
	}
	peak, _ := b.py.memory()
	// The peak is read after the upload, and memory returned to the
	// system meanwhile can put it below the level before: no growth.
	growth := max(peak-before, 0)
	ratio := took.Seconds() / cp.Seconds()
	met := growth < 64<<20 && ratio <= 2
	b.results = append(b.results, result{name: "upload-1g",
		desc: fmt.Sprintf("upload of a %s wheel", mib(fi.Size())),
		note: fmt.Sprintf("%s (%.0f MiB/s); cp %s, cp+sync %s: %.2fx cp, %.2fx cp+sync; RSS %s -> peak %s (+%s)",
			round(took), float64(fi.Size())/(1<<20)/took.Seconds(), round(cp), round(cp+sync), ratio, took.Seconds()/(cp+sync).Seconds(),
			mib(before), mib(peak), mib(growth)),
		goal: "RSS +<64 MiB, <=2x cp", met: &met})
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// smallWheel is a tiny wheel ready to upload.
type smallWheel struct {
	project, version, fn, sha256 string
	data                         []byte
}

// newSmallWheel builds a new version of project, numbered from the
// bench's upload sequence so that no two uploads of a run collide.
func (b *bench) newSmallWheel(project string) (smallWheel, error) {
	under := strings.ReplaceAll(project, "-", "_")
	version := fmt.Sprintf("5.%d.0", b.uploadSeq.Add(1))
	data, err := buildWheel(io.Discard, under, version, 0)
	if err != nil {
		return smallWheel{}, err
	}
	sum, _, _ := digests(data)
	return smallWheel{project, version, under + "-" + version + "-py3-none-any.whl", sum, data}, nil
}

func (b *bench) uploadWheel(ctx context.Context, p *pyindexProc, w smallWheel) (time.Duration, error) {
	return b.uploadTo(ctx, p, w.fn, w.project, w.version, w.sha256, bytes.NewReader(w.data), int64(len(w.data)))
}

// uploadThroughput uploads --uploads small wheels with --upload-clients
// clients at once, round-robin over servers, to 16 projects, and reports
// files per second. Each server first gets one untimed upload (bcrypt).
func (b *bench) uploadThroughput(ctx context.Context, name string, servers []*pyindexProc) error {
	if len(servers) == 0 {
		return fmt.Errorf("%s: no server", name)
	}
	n := b.o.uploads
	if n < 1 {
		return nil
	}
	prefix := "bench-tput" + strings.TrimPrefix(strings.ReplaceAll(name, "@", "-"), "upload-throughput")
	wheels := make([]smallWheel, n)
	for i := range wheels {
		w, err := b.newSmallWheel(fmt.Sprintf("%s-%d", prefix, i%16))
		if err != nil {
			return err
		}
		wheels[i] = w
	}
	for _, p := range servers {
		w, err := b.newSmallWheel(prefix + "-warm")
		if err != nil {
			return err
		}
		if _, err := b.uploadWheel(ctx, p, w); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(b.o.uploadClients, n) {
		wg.Go(func() {
			for i := range next {
				lat[i], errs[i] = b.uploadWheel(ctx, servers[i%len(servers)], wheels[i])
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	p50, p99 := percentiles(lat)
	note := fmt.Sprintf("%.0f files/s (%d in %s), p50 %s, p99 %s", float64(n)/wall.Seconds(), n, round(wall), round(p50), round(p99))
	if len(failed) > 0 {
		note += fmt.Sprintf("; %d failed, first: %v", len(failed), failed[0])
	}
	met := len(failed) == 0
	where := "the SQLite server"
	if len(servers) > 1 {
		where = fmt.Sprintf("%d replicas on one PostgreSQL and one fs store, round-robin", len(servers))
	} else if servers[0] != b.py {
		where = "one replica on PostgreSQL"
	}
	b.results = append(b.results, result{name: name,
		desc: fmt.Sprintf("%d small uploads, %d clients at once, to %s", n, min(b.o.uploadClients, n), where),
		note: note, goal: "all succeed", met: &met})
	return nil
}
