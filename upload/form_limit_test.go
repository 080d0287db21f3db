package upload_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/upload"
)

// repeatedParts is a multipart body streamed as it is read: n copies of
// one part, then the closing boundary. It counts what the server read.
type repeatedParts struct {
	part []byte
	n    int // copies still to send
	off  int
	tail []byte
	read int64
}

func newRepeatedParts(boundary string, part []byte, n int) *repeatedParts {
	return &repeatedParts{part: part, n: n, tail: []byte("--" + boundary + "--\r\n")}
}

func (r *repeatedParts) size() int64 { return int64(len(r.part))*int64(r.n) + int64(len(r.tail)) }

func (r *repeatedParts) Read(p []byte) (int, error) {
	var n int
	switch {
	case r.n > 0:
		n = copy(p, r.part[r.off:])
		if r.off += n; r.off == len(r.part) {
			r.off, r.n = 0, r.n-1
		}
	case len(r.tail) > 0:
		n = copy(p, r.tail)
		r.tail = r.tail[n:]
	default:
		return 0, io.EOF
	}
	r.read += int64(n)
	return n, nil
}

// fieldPart is one form field as twine sends it, with a name of nameLen
// bytes and a one-byte value.
func fieldPart(boundary string, nameLen int) []byte {
	return []byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + strings.Repeat("n", nameLen) + "\"\r\n\r\nx\r\n")
}

// TestUploadHugeFieldNames is the attack of issue 17, item 4: about 190 MiB
// of 2 MB field names, each with a one-byte value. The field names count
// against max_metadata_size, so the server answers 413 after reading a
// little more than the limit, not the whole body, with memory to match,
// and stores nothing.
func TestUploadHugeFieldNames(t *testing.T) {
	cfg := upload.DefaultConfig() // max_metadata_size 4 MiB
	en := newEnv(t, cfg)
	before := en.state()
	const boundary = "pyindex-huge-names"
	body := newRepeatedParts(boundary, fieldPart(boundary, 2<<20), 95)
	total := body.size()
	req := httptest.NewRequest(http.MethodPost, "/legacy/", body)
	req.ContentLength = total
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.SetBasicAuth(user, password)
	rec := httptest.NewRecorder()

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	en.e.ServeHTTP(rec, req)
	runtime.ReadMemStats(&m1)

	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "The form fields exceed 4MiB") {
		t.Errorf("status %d %q, want 413 naming the form limit", rec.Code, rec.Body)
	}
	oneLine(t, rec)
	limit := int64(cfg.MaxMetadataSize)
	if body.read > limit+1<<20 {
		t.Errorf("read %s of %s: the reading did not stop soon after the %s limit",
			storage.Size(body.read), storage.Size(total), cfg.MaxMetadataSize)
	}
	// Reading the whole body took hundreds of MiB; what a 4 MiB form may
	// cost (a few copies of a field name as the multipart reader collects
	// its header line) is far less.
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %s for the refused upload", storage.Size(int64(alloc)))
	}
	en.unchanged(before)
}

// TestUploadFormHeadersCount: names and part headers count against
// max_metadata_size with the values, exactly: many fields whose values are
// tiny but whose names fill the budget are refused, though the values
// alone are far under it; a form within the limit still uploads.
func TestUploadFormHeadersCount(t *testing.T) {
	cfg := upload.Config{MaxFileSize: 1 << 20, MaxMetadataSize: 64 << 10}
	en := newEnv(t, cfg)
	for _, tc := range []struct {
		name  string
		extra func(f *form)
		want  int
	}{
		{"long names", func(f *form) {
			for i := range 80 {
				f.fields = append(f.fields, field(fmt.Sprintf("x%04d%s", i, strings.Repeat("n", 1000)), "y"))
			}
		}, http.StatusRequestEntityTooLarge},
		{"long extra header", func(f *form) {
			f.fields = append(f.fields, part{name: "summary2", value: []byte("y"), filename: strings.Repeat("f", 70<<10), noCtype: true})
		}, http.StatusRequestEntityTooLarge},
		{"nameless parts", func(f *form) {
			for range 40 {
				f.fields = append(f.fields, part{name: "", value: bytes.Repeat([]byte("z"), 2<<10)})
			}
		}, http.StatusRequestEntityTooLarge},
		{"within the limit", func(f *form) {
			for i := range 30 {
				f.fields = append(f.fields, field(fmt.Sprintf("x%04d%s", i, strings.Repeat("n", 1000)), "y"))
			}
		}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en.t = t
			before := en.state()
			f := distForm(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1")
			tc.extra(f)
			rec := en.upload(f)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want != http.StatusOK {
				if !strings.Contains(rec.Body.String(), "The form fields exceed 64KiB") {
					t.Errorf("body %q does not name the limit", rec.Body)
				}
				oneLine(t, rec)
				en.unchanged(before)
			}
		})
	}
	en.t = t
	if rec := en.get("/simple/acme-util/"); rec.Code != http.StatusOK {
		t.Errorf("the upload within the limit is not served: %d", rec.Code)
	}
}
