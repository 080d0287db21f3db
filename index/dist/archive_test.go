package dist

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/index/pep508"
)

// distsDir holds the shared tiny real distributions (see its README.md).
const distsDir = "../../testdata/dists"

func TestReadMetadataTestdata(t *testing.T) {
	tests := []struct {
		file, name, version, requiresPython string
		requiresDist                        []string
	}{
		{"acme_core-1.0-py3-none-any.whl", "acme-core", "1.0", ">=3.8", []string{"acme-util (>=0.1)", `acme-future ; (python_version >= "3.99") and extra == 'extra'`}},
		{"acme-core-1.0.tar.gz", "acme-core", "1.0", ">=3.8", nil}, // setuptools 66 PKG-INFO has no Requires-Dist
		{"acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", ">=3.8", nil},
		{"acme_util-0.1.tar.gz", "acme-util", "0.1", ">=3.8", nil},
		{"acme_util-0.2-py3-none-any.whl", "acme-util", "0.2", ">=3.8", nil},
		{"acme_util-0.2.tar.gz", "acme-util", "0.2", ">=3.8", nil},
		{"acme_util-1.0rc1-py3-none-any.whl", "acme-util", "1.0rc1", ">=3.8", nil},
		{"acme_util-1.0rc1.tar.gz", "acme-util", "1.0rc1", ">=3.8", nil},
		{"acme_future-1.0-py3-none-any.whl", "acme-future", "1.0", ">=3.99", nil},
		{"acme-future-1.0.tar.gz", "acme-future", "1.0", ">=3.99", nil},
		{"Acme.Legacy-0.3.zip", "Acme.Legacy", "0.3", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(distsDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m := mustReadMetadata(t, tc.file, data)
			eq(t, "Name", m.Name, tc.name)
			eq(t, "Version", m.Version, tc.version)
			eq(t, "RequiresPython", m.RequiresPython, tc.requiresPython)
			if tc.requiresDist != nil {
				eqs(t, "RequiresDist", m.RequiresDist, tc.requiresDist)
			}
		})
	}
}

// TestReadMetadataSystemWheels reads the real, larger wheels that Debian and
// pyenv ship, when this machine has them.
func TestReadMetadataSystemWheels(t *testing.T) {
	var paths []string
	for _, pat := range []string{
		"/usr/share/python-wheels/*.whl",
		"/root/.pyenv/versions/*/lib/python*/ensurepip/_bundled/*.whl",
	} {
		m, _ := filepath.Glob(pat)
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Skip("no system wheels on this machine")
	}
	for _, p := range paths {
		t.Run(strings.TrimPrefix(p, "/"), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m := mustReadMetadata(t, filepath.Base(p), data)
			if len(m.Raw) == 0 || m.Summary == "" {
				t.Errorf("metadata looks empty: %+v", m)
			}
			// The upload checks of the structured fields must pass them.
			for _, r := range m.RequiresDist {
				if err := pep508.Check(r); err != nil {
					t.Errorf("Requires-Dist %q: %v", r, err)
				}
			}
			for _, e := range m.ProvidesExtra {
				if !pep503.Valid(e) {
					t.Errorf("Provides-Extra %q is not a valid name", e)
				}
			}
		})
	}
}

// mustReadMetadata parses fn, reads the metadata of data and checks it
// agrees with the filename.
func mustReadMetadata(t *testing.T, fn string, data []byte) Metadata {
	t.Helper()
	f, err := ParseFilename(fn)
	if err != nil {
		t.Fatalf("ParseFilename(%q): %v", fn, err)
	}
	m, err := ReadMetadata(bytes.NewReader(data), int64(len(data)), f, DefaultLimits())
	if err != nil {
		t.Fatalf("ReadMetadata(%s): %v", fn, err)
	}
	if err := f.Check(m.Name, m.Version); err != nil {
		t.Errorf("Check(%q, %q): %v", m.Name, m.Version, err)
	}
	if len(m.Raw) == 0 {
		t.Errorf("Raw metadata is empty")
	}
	return m
}

const (
	wheelFn      = "acme_core-1.0-py3-none-any.whl"
	tarFn        = "acme-core-1.0.tar.gz"
	zipSdistFn   = "acme-core-1.0.zip"
	okMetadata   = "Metadata-Version: 2.1\nName: acme-core\nVersion: 1.0\nSummary: s\n"
	okWheelFile  = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	wheelInfoDir = "acme_core-1.0.dist-info/"
)

// zipEntry describes one member of a zip built by makeZip.
type zipEntry struct {
	name   string
	body   string
	method uint16      // zip.Deflate if zero (and not stored)
	stored bool        // use zip.Store
	mode   fs.FileMode // regular 0644 if zero
	// claim, if non-zero, is written as the uncompressed size instead of
	// len(body); the data is then stored pre-compressed with raw deflate.
	claim uint64
	// zeros, if non-zero, replaces body with that many zero bytes.
	zeros int64
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: e.method}
		switch {
		case e.stored:
			h.Method = zip.Store
		case e.method == 0:
			h.Method = zip.Deflate
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		if e.claim == 0 && e.zeros == 0 && (h.Method == zip.Store || h.Method == zip.Deflate) {
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(w, e.body); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// Raw entry: compress ourselves and declare whatever size we like.
		var body io.Reader = strings.NewReader(e.body)
		size := int64(len(e.body))
		if e.zeros > 0 {
			body, size = io.LimitReader(zeroReader{}, e.zeros), e.zeros
		}
		var comp bytes.Buffer
		crc := crc32.NewIEEE()
		fw, _ := flate.NewWriter(&comp, flate.BestCompression)
		if _, err := io.Copy(io.MultiWriter(fw, crc), body); err != nil {
			t.Fatal(err)
		}
		fw.Close()
		h.CRC32 = crc.Sum32()
		h.CompressedSize64 = uint64(comp.Len())
		h.UncompressedSize64 = uint64(size)
		if e.claim != 0 {
			h.UncompressedSize64 = e.claim
		}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// record is an empty RECORD file for wheels built in tests.
var record = zipEntry{name: wheelInfoDir + "RECORD"}

// okWheel returns the members of a minimal valid wheel.
func okWheel() []zipEntry {
	return []zipEntry{
		{name: "acme_core/__init__.py", body: ""},
		{name: wheelInfoDir + "METADATA", body: okMetadata},
		{name: wheelInfoDir + "WHEEL", body: okWheelFile},
		{name: wheelInfoDir + "RECORD", body: ""},
	}
}

// tarEntry is one member of a .tar.gz built by makeTarGz.
type tarEntry struct {
	hdr   tar.Header
	body  string
	zeros int64
}

func file(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func makeTarGz(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.hdr
		if e.zeros > 0 {
			h.Size = e.zeros
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		var err error
		if e.zeros > 0 {
			_, err = io.Copy(tw, io.LimitReader(zeroReader{}, e.zeros))
		} else {
			_, err = io.WriteString(tw, e.body)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

func gzipOf(t testing.TB, r io.Reader) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := io.Copy(gz, r); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

func TestReadMetadataArchives(t *testing.T) {
	big := strings.Repeat("x", 2<<20)
	okTar := []tarEntry{dir("acme-core-1.0/"), file("acme-core-1.0/PKG-INFO", okMetadata), file("acme-core-1.0/setup.py", "")}
	tests := []struct {
		name   string
		fn     string
		data   func(t testing.TB) []byte
		lim    Limits
		reason string // "" if the archive is valid
	}{
		// Wheels.
		{name: "minimal wheel", fn: wheelFn, data: func(t testing.TB) []byte { return makeZip(t, okWheel()...) }},
		{name: "stored members", fn: wheelFn, data: func(t testing.TB) []byte {
			es := okWheel()
			for i := range es {
				es[i].stored = true
			}
			return makeZip(t, es...)
		}},
		{name: "fallback dist-info name", fn: wheelFn, data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "Acme.Core-1.0.0.dist-info/METADATA", body: okMetadata}, zipEntry{name: "Acme.Core-1.0.0.dist-info/WHEEL", body: okWheelFile}, zipEntry{name: "Acme.Core-1.0.0.dist-info/RECORD"})
		}},
		{name: "two matching dist-info dirs", fn: wheelFn, reason: "2 .dist-info directories", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "Acme.Core-1.0.0.dist-info/METADATA", body: okMetadata}, zipEntry{name: "acme.core-1.dist-info/METADATA", body: okMetadata})
		}},
		{name: "no METADATA", fn: wheelFn, reason: "wheel has no METADATA file acme_core-1.0.dist-info/METADATA", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record, zipEntry{name: "other-1.0.dist-info/METADATA", body: okMetadata}, zipEntry{name: "x/acme_core-1.0.dist-info/METADATA", body: okMetadata})
		}},
		{name: "no WHEEL", fn: wheelFn, reason: "wheel has no WHEEL file acme_core-1.0.dist-info/WHEEL", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: okMetadata}, record)
		}},
		{name: "no RECORD", fn: wheelFn, reason: "wheel has no RECORD file acme_core-1.0.dist-info/RECORD", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: okMetadata}, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile})
		}},
		{name: "Wheel-Version 2", fn: wheelFn, reason: `unsupported Wheel-Version "2.0"`, data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: okMetadata}, zipEntry{name: wheelInfoDir + "WHEEL", body: "Wheel-Version: 2.0\n"}, record)
		}},
		{name: "no Wheel-Version", fn: wheelFn, reason: "has no Wheel-Version", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: okMetadata}, zipEntry{name: wheelInfoDir + "WHEEL", body: "Generator: x\n"}, record)
		}},
		{name: "METADATA is a symlink", fn: wheelFn, reason: "METADATA is not a regular file", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record)
		}},
		{name: "duplicate METADATA", fn: wheelFn, reason: "more than one member named", data: func(t testing.TB) []byte {
			return makeZip(t, append(okWheel(), zipEntry{name: wheelInfoDir + "METADATA", body: "Name: evil\n"})...)
		}},
		{name: "bzip2 member", fn: wheelFn, reason: "unsupported compression method 12", data: func(t testing.TB) []byte {
			return makeZip(t, append(okWheel(), zipEntry{name: "acme_core/x.py", body: "x", method: 12})...)
		}},
		{name: "METADATA too large", fn: wheelFn, reason: "METADATA is larger than 1 MiB", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: okMetadata + "\n" + big}, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record)
		}},
		{name: "zip bomb METADATA claims 2 GiB", fn: wheelFn, reason: "exceeds compression ratio of 50", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record, zipEntry{name: wheelInfoDir + "METADATA", zeros: 64 << 10, claim: 2 << 30})
		}},
		{name: "zip bomb METADATA claims 2 GiB, no ratio limit", fn: wheelFn, lim: Limits{RatioMinSize: 1 << 40}, reason: "METADATA is larger than 1 MiB", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record, zipEntry{name: wheelInfoDir + "METADATA", zeros: 64 << 10, claim: 2 << 30})
		}},
		{name: "zip bomb METADATA claims 100 bytes", fn: wheelFn, reason: "cannot read", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record, zipEntry{name: wheelInfoDir + "METADATA", zeros: 2 << 20, claim: 100})
		}},
		{name: "zip bomb elsewhere", fn: wheelFn, reason: "exceeds compression ratio of 50", data: func(t testing.TB) []byte {
			return makeZip(t, append(okWheel(), zipEntry{name: "acme_core/big.bin", zeros: 1 << 20, claim: 4 << 30})...)
		}},
		{name: "too many members", fn: wheelFn, lim: Limits{MaxMembers: 3}, reason: "more than 3 members", data: func(t testing.TB) []byte { return makeZip(t, okWheel()...) }},
		{name: "metadata without Name", fn: wheelFn, reason: "acme_core-1.0.dist-info/METADATA: missing Name field", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: wheelInfoDir + "METADATA", body: "Metadata-Version: 2.1\nVersion: 1.0\n"}, zipEntry{name: wheelInfoDir + "WHEEL", body: okWheelFile}, record)
		}},
		{name: "not a zip", fn: wheelFn, reason: "not a zip archive", data: func(t testing.TB) []byte { return []byte("PK\x03\x04 this is not a zip") }},
		{name: "empty file", fn: wheelFn, reason: "not a zip archive", data: func(t testing.TB) []byte { return nil }},
		{name: "truncated zip", fn: wheelFn, reason: "not a zip archive", data: func(t testing.TB) []byte {
			z := makeZip(t, okWheel()...)
			return z[:len(z)/2]
		}},
		{name: "tar.gz named .whl", fn: wheelFn, reason: "not a zip archive", data: func(t testing.TB) []byte { return makeTarGz(t, okTar...) }},

		// .tar.gz sdists.
		{name: "minimal sdist", fn: tarFn, data: func(t testing.TB) []byte { return makeTarGz(t, okTar...) }},
		{name: "no directory entries, ./ prefix", fn: tarFn, data: func(t testing.TB) []byte {
			return makeTarGz(t, file("./acme-core-1.0/setup.py", ""), file("./acme-core-1.0/PKG-INFO", okMetadata))
		}},
		{name: "pax global header", fn: tarFn, data: func(t testing.TB) []byte {
			g := tarEntry{hdr: tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "git"}}}
			return makeTarGz(t, append([]tarEntry{g}, okTar...)...)
		}},
		{name: "absolute and dot-dot members ignored", fn: tarFn, data: func(t testing.TB) []byte {
			return makeTarGz(t, file("/etc/PKG-INFO", "Name: evil\n"), file("../PKG-INFO", "Name: evil\n"), file("acme-core-1.0/../PKG-INFO", "Name: evil\n"), file("other\\x/PKG-INFO", ""), file("acme-core-1.0/PKG-INFO", okMetadata))
		}},
		{name: "only hostile paths", fn: tarFn, reason: "sdist is empty", data: func(t testing.TB) []byte {
			return makeTarGz(t, file("/acme-core-1.0/PKG-INFO", okMetadata), file("../acme-core-1.0/PKG-INFO", okMetadata))
		}},
		{name: "egg-info PKG-INFO only", fn: tarFn, reason: "sdist has no PKG-INFO file acme-core-1.0/PKG-INFO", data: func(t testing.TB) []byte {
			return makeTarGz(t, dir("acme-core-1.0/"), file("acme-core-1.0/src/acme_core.egg-info/PKG-INFO", okMetadata))
		}},
		{name: "two top-level dirs", fn: tarFn, reason: `single top-level directory, but has "acme-core-1.0" and "other"`, data: func(t testing.TB) []byte {
			return makeTarGz(t, append(okTar, file("other/PKG-INFO", okMetadata))...)
		}},
		{name: "top-level file", fn: tarFn, reason: `has top-level file "PKG-INFO"`, data: func(t testing.TB) []byte {
			return makeTarGz(t, file("PKG-INFO", okMetadata))
		}},
		{name: "symlink PKG-INFO", fn: tarFn, reason: "acme-core-1.0/PKG-INFO is not a regular file", data: func(t testing.TB) []byte {
			return makeTarGz(t, dir("acme-core-1.0/"), tarEntry{hdr: tar.Header{Name: "acme-core-1.0/PKG-INFO", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}})
		}},
		{name: "hardlink PKG-INFO", fn: tarFn, reason: "acme-core-1.0/PKG-INFO is not a regular file", data: func(t testing.TB) []byte {
			return makeTarGz(t, file("acme-core-1.0/real", okMetadata), tarEntry{hdr: tar.Header{Name: "acme-core-1.0/PKG-INFO", Typeflag: tar.TypeLink, Linkname: "acme-core-1.0/real"}})
		}},
		{name: "duplicate PKG-INFO", fn: tarFn, reason: "more than one acme-core-1.0/PKG-INFO", data: func(t testing.TB) []byte {
			return makeTarGz(t, append(okTar, file("acme-core-1.0/PKG-INFO", "Name: evil\n"))...)
		}},
		{name: "PKG-INFO too large", fn: tarFn, reason: "acme-core-1.0/PKG-INFO is larger than 1 MiB", data: func(t testing.TB) []byte {
			return makeTarGz(t, file("acme-core-1.0/PKG-INFO", okMetadata+"\n"+big))
		}},
		{name: "too many members", fn: tarFn, lim: Limits{MaxMembers: 2}, reason: "more than 2 members", data: func(t testing.TB) []byte { return makeTarGz(t, okTar...) }},
		{name: "decompressed size cap", fn: tarFn, lim: Limits{MaxUncompressed: 1 << 20}, reason: "sdist decompresses to more than 1 MiB", data: func(t testing.TB) []byte {
			return makeTarGz(t, append(okTar, tarEntry{hdr: tar.Header{Name: "acme-core-1.0/big", Typeflag: tar.TypeReg}, zeros: 2 << 20})...)
		}},
		{name: "tar.gz bomb member", fn: tarFn, lim: Limits{RatioMinSize: 4 << 20}, reason: "exceeds compression ratio of 50", data: func(t testing.TB) []byte {
			return makeTarGz(t, append(okTar, tarEntry{hdr: tar.Header{Name: "acme-core-1.0/big", Typeflag: tar.TypeReg}, zeros: 8 << 20})...)
		}},
		{name: "gzip bomb of zeros", fn: tarFn, lim: Limits{RatioMinSize: 4 << 20}, reason: "exceeds compression ratio of 50", data: func(t testing.TB) []byte {
			return gzipZeros(t, 8)
		}},
		{name: "gzip bomb after PKG-INFO", fn: tarFn, lim: Limits{RatioMinSize: 1 << 20}, reason: "exceeds compression ratio of 50", data: func(t testing.TB) []byte {
			return append(makeTarGz(t, okTar...), gzipOf(t, io.LimitReader(zeroReader{}, 8<<20))...)
		}},
		{name: "trailing zeros", fn: tarFn, reason: "corrupt .tar.gz: data after the end of the gzip stream", data: func(t testing.TB) []byte {
			return append(makeTarGz(t, okTar...), make([]byte, 512)...)
		}},
		{name: "trailing garbage", fn: tarFn, reason: "corrupt .tar.gz: data after the end of the gzip stream", data: func(t testing.TB) []byte {
			return append(makeTarGz(t, okTar...), "#!/bin/sh\nrm -rf ~\n"...)
		}},
		{name: "one trailing byte", fn: tarFn, reason: "corrupt .tar.gz: data after the end of the gzip stream", data: func(t testing.TB) []byte {
			return append(makeTarGz(t, okTar...), 0x1f)
		}},
		{name: "two gzip members", fn: tarFn, data: func(t testing.TB) []byte {
			tgz := makeTarGz(t, okTar...)
			return append(tgz, gzipOf(t, strings.NewReader(""))...)
		}},
		{name: "tar.gz with a zip appended", fn: tarFn, reason: "both a .tar.gz and a zip archive: it holds a zip end-of-central-directory record in its last 65558 bytes", data: func(t testing.TB) []byte {
			return append(makeTarGz(t, okTar...), makeZip(t, okWheel()...)...)
		}},
		{name: "not gzip", fn: tarFn, reason: "not a gzip file", data: func(t testing.TB) []byte { return []byte("plain text") }},
		{name: "zip named .tar.gz", fn: tarFn, reason: "not a gzip file", data: func(t testing.TB) []byte { return makeZip(t, okWheel()...) }},
		{name: "gzip of non-tar", fn: tarFn, reason: "corrupt .tar.gz", data: func(t testing.TB) []byte { return gzipOf(t, strings.NewReader(strings.Repeat("not a tar ", 100))) }},
		{name: "truncated tar.gz", fn: tarFn, reason: "corrupt .tar.gz", data: func(t testing.TB) []byte {
			b := makeTarGz(t, append(okTar, file("acme-core-1.0/data", strings.Repeat("abcdefgh", 4096)))...)
			return b[:len(b)-100]
		}},
		{name: "corrupt gzip checksum", fn: tarFn, reason: "corrupt .tar.gz", data: func(t testing.TB) []byte {
			b := makeTarGz(t, okTar...)
			b[len(b)-6] ^= 0xff // CRC-32 in the gzip trailer
			return b
		}},
		{name: "empty tar", fn: tarFn, reason: "sdist is empty", data: func(t testing.TB) []byte { return makeTarGz(t) }},

		// .zip sdists.
		{name: "zip sdist", fn: zipSdistFn, data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "acme-core-1.0/"}, zipEntry{name: "acme-core-1.0/PKG-INFO", body: okMetadata})
		}},
		{name: "zip sdist two top-level dirs", fn: zipSdistFn, reason: "single top-level directory", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "acme-core-1.0/PKG-INFO", body: okMetadata}, zipEntry{name: "b/c", body: ""})
		}},
		{name: "zip sdist without PKG-INFO", fn: zipSdistFn, reason: "sdist has no PKG-INFO file acme-core-1.0/PKG-INFO", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "acme-core-1.0/setup.py", body: ""})
		}},
		{name: "zip sdist symlink PKG-INFO", fn: zipSdistFn, reason: "is not a regular file", data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "acme-core-1.0/PKG-INFO", body: "../../etc/passwd", mode: fs.ModeSymlink | 0o777})
		}},
		{name: "zip sdist hostile paths ignored", fn: zipSdistFn, data: func(t testing.TB) []byte {
			return makeZip(t, zipEntry{name: "../PKG-INFO", body: "x"}, zipEntry{name: "/abs/PKG-INFO", body: "x"}, zipEntry{name: "acme-core-1.0/PKG-INFO", body: okMetadata})
		}},
		{name: "empty zip sdist", fn: zipSdistFn, reason: "sdist is empty", data: func(t testing.TB) []byte { return makeZip(t) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilename(tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			data := tc.data(t)
			m, err := ReadMetadata(bytes.NewReader(data), int64(len(data)), f, tc.lim)
			if tc.reason != "" {
				assertInvalid(t, err, "", tc.reason)
				return
			}
			if err != nil {
				t.Fatalf("ReadMetadata: %v", err)
			}
			eq(t, "Raw", string(m.Raw), okMetadata)
			if err := f.Check(m.Name, m.Version); err != nil {
				t.Error(err)
			}
		})
	}
}

// gzipZeros returns a multi-member gzip stream of n MiB of zeros, cheaply:
// one compressed MiB repeated.
func gzipZeros(t testing.TB, n int) []byte {
	t.Helper()
	return bytes.Repeat(gzipOf(t, io.LimitReader(zeroReader{}, 1<<20)), n)
}

// TestReadMetadataBombDefaultLimits checks that the default limits stop a
// gzip bomb early: 1 GiB of zeros in about 1 MiB must be refused after
// inflating little more than DefaultLimits().RatioMinSize.
func TestReadMetadataBombDefaultLimits(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("inflates 64 MiB; too slow under -race and -short")
	}
	f, _ := ParseFilename(tarFn)
	data := gzipZeros(t, 1024)
	r := &countingReaderAt{r: bytes.NewReader(data)}
	_, err := ReadMetadata(r, int64(len(data)), f, DefaultLimits())
	assertInvalid(t, err, "archive", "exceeds compression ratio of 50")
	if r.n > int64(len(data))/4 {
		t.Errorf("read %d of %d compressed bytes before refusing", r.n, len(data))
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// failingReaderAt fails every read past off.
type failingReaderAt struct {
	r   io.ReaderAt
	off int64
}

var errDisk = errors.New("disk on fire")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// TestReadMetadataReaderError checks that a failing reader is reported as
// such, not as an invalid upload.
func TestReadMetadataReaderError(t *testing.T) {
	for _, fn := range []string{wheelFn, tarFn, zipSdistFn} {
		t.Run(fn, func(t *testing.T) {
			f, _ := ParseFilename(fn)
			var data []byte
			if f.Ext == ExtTarGz {
				data = makeTarGz(t, file("acme-core-1.0/PKG-INFO", okMetadata))
			} else {
				data = makeZip(t, okWheel()...)
			}
			r := failingReaderAt{bytes.NewReader(data), 20}
			_, err := ReadMetadata(r, int64(len(data)), f, Limits{})
			if !errors.Is(err, errDisk) || errors.Is(err, ErrInvalid) {
				t.Fatalf("ReadMetadata = %v, want the reader's error and not ErrInvalid", err)
			}
		})
	}
}

func TestReadMetadataBadFilename(t *testing.T) {
	_, err := ReadMetadata(bytes.NewReader(nil), 0, Filename{}, Limits{})
	assertInvalid(t, err, "filename", "Invalid file extension")
}

func TestInvalidErrorOneLine(t *testing.T) {
	err := &InvalidError{Field: "metadata", Reason: "bad\nthing\x1b[0m\u0085"}
	if got, want := err.Error(), "metadata: bad thing [0m "; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}
	inner := errors.New("inner")
	if err := (&InvalidError{Reason: "x", Err: inner}); !errors.Is(err, inner) || err.Error() != "x" {
		t.Errorf("Unwrap or Error without Field broken: %v", err)
	}
}

func BenchmarkReadMetadataWheel(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(distsDir, "acme_core-1.0-py3-none-any.whl"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := ParseFilename("acme_core-1.0-py3-none-any.whl")
	if err != nil {
		b.Fatal(err)
	}
	lim := DefaultLimits()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadMetadata(bytes.NewReader(data), int64(len(data)), f, lim); err != nil {
			b.Fatal(err)
		}
	}
}
