package upload_test

import (
	"net/http"
	"testing"

	"github.com/pyindex/pyindex/upload"
)

// FuzzUpload posts random uploads: either a twine-shaped form built from
// the fuzzed fields (with correct digests, so that validation goes deep), or,
// when raw is not empty, raw bytes as the multipart body. Whatever the input,
// the answer must not be a 5xx, nothing may panic, and error bodies must be
// one line. The seed corpus is in testdata/fuzz/FuzzUpload.
func FuzzUpload(f *testing.F) {
	en := newEnv(f, upload.Config{MaxFileSize: 1 << 20, MaxMetadataSize: 64 << 10})
	f.Fuzz(func(t *testing.T, name, version, filetype, filename string, content, raw []byte) {
		en.t = t
		var ct string
		var body []byte
		if len(raw) > 0 {
			ct, body = "multipart/form-data; boundary=pyindex-test-boundary", raw
		} else {
			fm := twineForm(filename, content, name, version).set("filetype", filetype)
			ct, body = multipartBody(t, fm.parts())
		}
		rec := en.post(request{ctype: ct, body: body, auth: true})
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			oneLine(t, rec)
		}
	})
}
