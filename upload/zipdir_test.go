package upload_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/dist/disttest"
	"github.com/pyindex/pyindex/upload"
)

// TestUploadManyEntries is item 3: a 188 MB wheel with 4 million
// central-directory entries took the server from 257 to 1,007 MiB before
// its 400. The upload streams from a generator (the test holds none of
// it); the server must refuse it with a few MiB allocated beyond the
// streaming of the body, not hundreds.
func TestUploadManyEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 188 MB through an upload")
	}
	en := newEnv(t, upload.DefaultConfig())
	z := disttest.ManyEntries(4_000_000, disttest.Zip64)
	h := sha256.New()
	if _, err := io.Copy(h, z.Reader()); err != nil {
		t.Fatal(err)
	}
	const boundary = "pyindex-test-boundary"
	var head strings.Builder
	for _, f := range [][2]string{
		{"name", "acme-util"}, {"version", "0.1"}, {"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"metadata_version", "2.1"}, {"sha256_digest", hex.EncodeToString(h.Sum(nil))},
		{":action", "file_upload"}, {"protocol_version", "1"},
	} {
		fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, f[0], f[1])
	}
	fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"content\"; filename=%q\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, hostileWheel)
	tail := "\r\n--" + boundary + "--\r\n"

	before := en.state()
	req := httptest.NewRequest(http.MethodPost, "/legacy/", io.MultiReader(strings.NewReader(head.String()), z.Reader(), strings.NewReader(tail)))
	req.ContentLength = int64(head.Len()) + z.Size() + int64(len(tail))
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.SetBasicAuth(user, password)
	rec := httptest.NewRecorder()

	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	en.e.ServeHTTP(rec, req)
	runtime.ReadMemStats(&ms1)
	allocated := ms1.TotalAlloc - ms0.TotalAlloc

	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "archive has more than 100000 members: its zip end record claims 4000000") {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	oneLine(t, rec)
	en.unchanged(before)
	t.Logf("%d MiB allocated for a %d MB upload", allocated>>20, z.Size()/1e6)
	if allocated > 64<<20 {
		t.Errorf("allocated %d MiB while refusing the upload; loading the directory costs ~750", allocated>>20)
	}
}
