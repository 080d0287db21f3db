package upload

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// FuzzReceive feeds raw multipart bodies to the upload API's form reader
// (receive) under a 64 KiB form limit. Whatever the input, it returns an
// error the upload API's table knows (a 4xx) or a Received; it leaves no
// temporary file; and when no part can be the file (the only part read
// outside the form's budget), it reads no more than the limit and the
// meter's slack, however long the body, its field names or its headers.
// It calls receive directly (no catalog, no store), so that the fuzzer
// spends its time in the reader.
func FuzzReceive(f *testing.F) {
	const b = "pyindex-test-boundary"
	field := func(name, value string) string {
		return "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
	}
	f.Add([]byte(field(":action", "file_upload") + field("name", "acme-util") + field("version", "0.1") +
		"--" + b + "\r\nContent-Disposition: form-data; name=\"content\"; filename=\"acme_util-0.1-py3-none-any.whl\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\nPK\x03\x04 not really a wheel\r\n--" + b + "--\r\n"))
	f.Add([]byte(field(strings.Repeat("n", 2<<10), "x") + "--" + b + "--\r\n"))
	f.Add([]byte(strings.Repeat(field("a", "b"), 20) + "--" + b + "--\r\n"))
	f.Add([]byte("--" + b + "\r\n" + strings.Repeat("X-A: b\r\n", 50) + "\r\nv\r\n--" + b + "--\r\n"))
	f.Add([]byte(field("", strings.Repeat("z", 100)) + "--" + b + "--\r\n"))
	cfg := Config{MaxFileSize: 1 << 20, MaxMetadataSize: 64 << 10}
	tmp := f.TempDir()
	s := &Service{cfg: cfg, tempDir: tmp}
	f.Fuzz(func(t *testing.T, raw []byte) {
		body := &countingReader{r: bytes.NewReader(raw)}
		req := httptest.NewRequest(http.MethodPost, "/legacy/", body)
		req.ContentLength = int64(len(raw))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+b)
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, int64(cfg.MaxFileSize)+int64(cfg.MaxMetadataSize)+64<<10)
		rcv, err := s.receive(req)
		if err != nil {
			if code, _, ok := statusOf(err); !ok || code < 400 || code >= 500 {
				t.Fatalf("error %v maps to %d (known: %v)", err, code, ok)
			}
			if rcv.Content != nil {
				t.Fatal("a failed receive returned its file")
			}
		} else if rcv.Content != nil {
			rcv.Content.Close()
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Fatalf("temporary files left: %v", ents)
		}
		// Could a part be named "content" (header names such as
		// Content-Disposition aside)? Its name may also be spelled with
		// escapes (\c) or in RFC 2231 form (name*=utf-8''%63ontent).
		lower := bytes.ReplaceAll(bytes.ToLower(raw), []byte("content-"), nil)
		mayHaveFile := bytes.Contains(lower, []byte("content")) || bytes.ContainsAny(raw, `%\`)
		if limit := int64(cfg.MaxMetadataSize) + formSlack; !mayHaveFile && body.n > limit {
			t.Fatalf("read %d bytes of a %d-byte form without a file; the limit is %d", body.n, len(raw), limit)
		}
	})
}
