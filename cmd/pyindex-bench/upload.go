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
	"time"
)

// upload sends one file to /legacy/ as twine does (a multipart body with a
// Content-Length, streamed from r) with the bench user's password, and
// returns the time until the response.
func (b *bench) upload(ctx context.Context, filename, name, version, sha256 string, r io.Reader, size int64) (time.Duration, error) {
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.py.url+"/legacy/", body)
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

// smallUploads times N sequential uploads of tiny wheels to one project,
// after one untimed upload (which pays for bcrypt; the server caches a
// verified password).
func (b *bench) smallUploads(ctx context.Context) error {
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
	first, err := b.upload(ctx, wheels[0].fn, "bench-small", wheels[0].version, wheels[0].sha256, bytes.NewReader(wheels[0].data), int64(len(wheels[0].data)))
	if err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	for _, w := range wheels[1:] {
		d, err := b.upload(ctx, w.fn, "bench-small", w.version, w.sha256, bytes.NewReader(w.data), int64(len(w.data)))
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	met := p50 < 20*time.Millisecond
	b.results = append(b.results, result{name: "upload-small",
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
