package upload_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/pyindex/pyindex/index/dist/disttest"
	"github.com/pyindex/pyindex/upload"
)

// TestUploadPolyglotSdist is item 2: a valid sdist with a zip appended
// whose end record is zip64-style passed (archive/zip could not open the
// zip, Python's zipfile could, and pip unpacked it and ran its setup.py);
// and bytes after the gzip stream were tolerated.
func TestUploadPolyglotSdist(t *testing.T) {
	en := newEnv(t, upload.DefaultConfig())
	sdist := tarGz(t, map[string]string{"acme_util-0.1/PKG-INFO": hostileMeta(""), "acme_util-0.1/setup.py": ""})
	z := disttest.ManyEntries(1, disttest.Zip64)
	zipBytes, err := io.ReadAll(z.Reader())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("zip64 zip appended", func(t *testing.T) {
		refused(t, en, "acme_util-0.1.tar.gz", append(append([]byte(nil), sdist...), zipBytes...),
			"file is both a .tar.gz and a zip archive: it holds a zip end-of-central-directory record in its last 65558 bytes")
	})
	t.Run("trailing garbage", func(t *testing.T) {
		refused(t, en, "acme_util-0.1.tar.gz", append(append([]byte(nil), sdist...), "import os; os.system('id')\n"...),
			"corrupt .tar.gz: data after the end of the gzip stream")
	})
	t.Run("the sdist alone", func(t *testing.T) {
		en.t = t
		if rec := en.upload(twineForm("acme_util-0.1.tar.gz", sdist, "acme-util", "0.1")); rec.Code != http.StatusOK {
			t.Errorf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
