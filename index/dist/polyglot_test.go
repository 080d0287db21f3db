package dist

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/pyindex/pyindex/index/dist/disttest"
)

// TestTarGzPolyglot is issue 17's polyglot: a valid sdist with a zip
// appended whose end records are zip64-style. archive/zip cannot open it
// (the zip64 locator's offset is relative to the zip, not to the file),
// which is how it passed the old check; Python's zipfile opens it, and pip
// would have unpacked the zip. It is refused by its end records; so is a
// file with only a zip64 locator in its tail.
func TestTarGzPolyglot(t *testing.T) {
	f, _ := ParseFilename(tarFn)
	sdist := makeTarGz(t, dir("acme-core-1.0/"), file("acme-core-1.0/PKG-INFO", okMetadata), file("acme-core-1.0/setup.py", ""))
	z := disttest.ManyEntries(2, disttest.Zip64)
	appended := make([]byte, z.Size())
	z.ReadAt(appended, 0)
	polyglot := append(bytes.Clone(sdist), appended...)
	if _, err := zip.NewReader(bytes.NewReader(polyglot), int64(len(polyglot))); err == nil {
		t.Fatal("archive/zip opens the polyglot: the test does not reproduce the issue")
	}
	_, err := ReadMetadata(bytes.NewReader(polyglot), int64(len(polyglot)), f, DefaultLimits())
	assertInvalid(t, err, "archive", "file is both a .tar.gz and a zip archive: it holds a zip end-of-central-directory record")

	locator := append(bytes.Clone(sdist), appended[len(appended)-42:len(appended)-22]...)
	_, err = ReadMetadata(bytes.NewReader(locator), int64(len(locator)), f, DefaultLimits())
	assertInvalid(t, err, "archive", "it holds a zip64 end-of-central-directory locator in its last 65558 bytes")

	// Beyond the window, a signature is data like any other; the file is
	// then refused only for the bytes after its gzip stream.
	far := append(append(bytes.Clone(sdist), appended...), make([]byte, zipTailWindow)...)
	_, err = ReadMetadata(bytes.NewReader(far), int64(len(far)), f, DefaultLimits())
	assertInvalid(t, err, "archive", "data after the end of the gzip stream")

	if _, err := ReadMetadata(bytes.NewReader(sdist), int64(len(sdist)), f, DefaultLimits()); err != nil {
		t.Errorf("the sdist alone: %v", err)
	}
}
