package upload_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/upload"
)

// BenchmarkUploadSmallWheel measures the whole upload of a tiny wheel
// through the echo stack: multipart parsing, hashing, validation, blob
// store (fsync included) and the catalog transaction. The password is
// checked with bcrypt once; the handler caches a verified password.
func BenchmarkUploadSmallWheel(b *testing.B) {
	en := newEnv(b, upload.DefaultConfig())
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		v := fmt.Sprintf("1.0.%d", i)
		i++
		fn, data := indextest.Wheel(b, "acme_util", v, "")
		form := twineForm(fn, data, "acme-util", v)
		ct, body := multipartBody(b, form.parts())
		b.StartTimer()
		if rec := en.post(request{ctype: ct, body: body, auth: true}); rec.Code != http.StatusOK {
			b.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
	}
}
