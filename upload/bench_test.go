package upload_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math/rand/v2"
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

// storedWheel builds a wheel whose payload is size random bytes, stored
// uncompressed (fast to build, incompressible).
func storedWheel(b *testing.B, version string, payload []byte) (string, []byte) {
	b.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	di := "acme_util-" + version + ".dist-info/"
	for name, body := range map[string]string{
		di + "METADATA": "Metadata-Version: 2.1\nName: acme-util\nVersion: " + version + "\n",
		di + "WHEEL":    "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		di + "RECORD":   "",
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "acme_util/payload.bin", Method: zip.Store})
	w.Write(payload)
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return "acme_util-" + version + "-py3-none-any.whl", buf.Bytes()
}

// BenchmarkUploadLargeWheel measures the upload of a 64 MiB wheel through
// the handler: spooling with three digests, validation, the blob store
// (a hard link and an fsync on the filesystem backend) and the row.
func BenchmarkUploadLargeWheel(b *testing.B) {
	en := newEnv(b, upload.DefaultConfig())
	payload := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{3}).Read(payload)
	i := 0
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		b.StopTimer()
		v := fmt.Sprintf("1.0.%d", i)
		i++
		fn, data := storedWheel(b, v, payload)
		ct, body := multipartBody(b, twineForm(fn, data, "acme-util", v).parts())
		b.StartTimer()
		if rec := en.post(request{ctype: ct, body: body, auth: true}); rec.Code != http.StatusOK {
			b.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
	}
}
