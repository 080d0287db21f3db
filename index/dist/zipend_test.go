package dist

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/dist/disttest"
)

// allocated returns the bytes allocated while f runs (by every goroutine,
// so callers leave generous margins).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadMetadataManyEntries is issue 17's memory blow-up: a wheel whose
// central directory has 4 million entries (188 MB) cost about 750 MiB of
// heap in zip.NewReader before the member limit was checked. Each way of
// describing that directory in the end records is now refused, by reading
// the end records and walking the headers, with a few hundred KiB
// allocated; the archive is generated as it is read, so the test itself
// holds none of it.
func TestReadMetadataManyEntries(t *testing.T) {
	f, err := ParseFilename(wheelFn)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4_000_000
	for _, tc := range []struct {
		name   string
		end    disttest.ZipEnd
		reason string
	}{
		{"zip64 end record", disttest.Zip64, "archive has more than 100000 members: its zip end record claims 4000000"},
		{"count modulo 65536", disttest.Truncated, "zip central directory of 188000000 bytes is too large for 2304 members"},
		{"count and size of 2304 entries", disttest.Lying, "archive has more than 100000 members"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := disttest.ManyEntries(n, tc.end)
			var err error
			used := allocated(func() { _, err = ReadMetadata(z, z.Size(), f, DefaultLimits()) })
			assertInvalid(t, err, "archive", tc.reason)
			if used > 8<<20 {
				t.Errorf("allocated %d bytes to refuse a zip of %d entries (want a bound independent of the count)", used, n)
			}
			t.Logf("%s: %d bytes allocated", tc.name, used)
		})
	}
}

// TestArchiveZipReadsPastTheCount shows why the directory is walked and not
// only its claimed count checked: archive/zip reads every header there is
// and compares the count modulo 65536 only, so an end record claiming 4464
// entries opens as 70000.
func TestArchiveZipReadsPastTheCount(t *testing.T) {
	z := disttest.ManyEntries(70000, disttest.Lying)
	zr, err := zip.NewReader(z, z.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 70000 {
		t.Fatalf("archive/zip read %d entries", len(zr.File))
	}
	end, ok, err := readZipEnd(z, z.Size())
	if err != nil || !ok || end.records != 4464 {
		t.Fatalf("readZipEnd = %+v, %v, %v", end, ok, err)
	}
	err = checkZipDirectory(z, z.Size(), Limits{MaxMembers: 69999})
	assertInvalid(t, err, "archive", "archive has more than 69999 members")
	if err := checkZipDirectory(z, z.Size(), Limits{MaxMembers: 70000}); err != nil {
		t.Errorf("70000 entries, limit 70000: %v", err)
	}
}

// TestReadZipEnd compares readZipEnd with archive/zip on real and
// hand-made archives: where archive/zip opens one, readZipEnd finds its end
// record, and the count it reads agrees with the entries archive/zip loads
// (modulo 65536, which is all archive/zip checks).
func TestReadZipEnd(t *testing.T) {
	withComment := func(t testing.TB, comment string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		zw.SetComment(comment)
		w, _ := zw.Create("a/b.txt")
		io.WriteString(w, "hello")
		zw.Close()
		return buf.Bytes()
	}
	prepended := append([]byte("#!/bin/sh\nexec python3 \"$0\"\n"), makeZip(t, okWheel()...)...)
	many := disttest.ManyEntries(100, disttest.Zip64)
	manyBytes := make([]byte, many.Size())
	many.ReadAt(manyBytes, 0)
	for _, tc := range []struct {
		name    string
		data    []byte
		records uint64
		zip64   bool
	}{
		{"wheel", makeZip(t, okWheel()...), 4, false},
		{"empty", makeZip(t), 0, false},
		{"comment", withComment(t, "made by "+strings.Repeat("x", 60000)), 1, false},
		{"comment holding a signature", withComment(t, "PK\x05\x06 not a record"), 1, false},
		{"prepended data", prepended, 4, false},
		{"zip64 records", manyBytes, 100, true},
		{"trailing bytes", append(makeZip(t, okWheel()...), make([]byte, 64<<10)...), 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zr, zerr := zip.NewReader(bytes.NewReader(tc.data), int64(len(tc.data)))
			if zerr != nil {
				t.Fatalf("archive/zip: %v", zerr)
			}
			end, ok, err := readZipEnd(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil || !ok {
				t.Fatalf("readZipEnd: ok %v, %v", ok, err)
			}
			if end.records != tc.records || end.zip64 != tc.zip64 || uint16(end.records) != uint16(len(zr.File)) {
				t.Errorf("readZipEnd = %+v; archive/zip has %d entries", end, len(zr.File))
			}
			if err := checkZipDirectory(bytes.NewReader(tc.data), int64(len(tc.data)), DefaultLimits()); err != nil {
				t.Errorf("checkZipDirectory: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nothing", nil},
		{"short", []byte("PK\x05\x06")},
		{"truncated comment", func() []byte {
			b := makeZip(t, okWheel()...)
			binary.LittleEndian.PutUint16(b[len(b)-2:], 10)
			return b
		}()},
		{"directory outside the file", func() []byte {
			b := makeZip(t, okWheel()...)
			binary.LittleEndian.PutUint32(b[len(b)-10:], 1<<30)
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := zip.NewReader(bytes.NewReader(tc.data), int64(len(tc.data))); err == nil {
				t.Fatal("archive/zip opens it")
			}
			if _, ok, err := readZipEnd(bytes.NewReader(tc.data), int64(len(tc.data))); ok || err != nil {
				t.Errorf("readZipEnd: ok %v, %v", ok, err)
			}
		})
	}
}

// TestCheckZipDirectoryLimits: the claimed count and size, and the walked
// count and size, are each held to the limits.
func TestCheckZipDirectoryLimits(t *testing.T) {
	wheel := makeZip(t, okWheel()...)
	err := checkZipDirectory(bytes.NewReader(wheel), int64(len(wheel)), Limits{MaxMembers: 3})
	assertInvalid(t, err, "archive", "archive has more than 3 members: its zip end record claims 4")

	// One entry with a 60000-byte comment and extra field: within the
	// 1 MiB allowance of any directory.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "a", Comment: strings.Repeat("c", 60000), Extra: make([]byte, 60000)})
	io.WriteString(w, "x")
	zw.Close()
	if err := checkZipDirectory(bytes.NewReader(buf.Bytes()), int64(buf.Len()), DefaultLimits()); err != nil {
		t.Errorf("one entry with long comment and extra: %v", err)
	}

	// A directory claimed to be far larger than its count allows.
	b := bytes.Clone(wheel)
	dirSize := binary.LittleEndian.Uint32(b[len(b)-10:])
	dirOffset := binary.LittleEndian.Uint32(b[len(b)-6:])
	if uint64(dirSize) > maxZipDir(4) {
		t.Fatalf("test wheel directory of %d bytes", dirSize)
	}
	padded := append(append(bytes.Clone(b[:dirOffset]), make([]byte, 2<<20)...), b[dirOffset:]...)
	binary.LittleEndian.PutUint32(padded[len(padded)-10:], dirSize+2<<20)
	err = checkZipDirectory(bytes.NewReader(padded), int64(len(padded)), DefaultLimits())
	assertInvalid(t, err, "archive", fmt.Sprintf("zip central directory of %d bytes is too large for 4 members", dirSize+2<<20))
}
