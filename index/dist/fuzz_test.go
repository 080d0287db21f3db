package dist

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/dist/disttest"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// The fuzz targets check that the parsers never panic and that what they
// accept is self-consistent. Seed corpora live in testdata/fuzz/<Target>/.

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"pip-24.2-py3-none-any.whl",
		"numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"acme_core-1.0-1-py3-none-any.whl",
		"acme-core-1.0.tar.gz",
		"Acme.Core-1.0.zip",
		"foo-1.0-1.tar.gz",
		"foo-1-2.tar.gz",
		"../x-1.0.tar.gz",
		"foo-1.0.exe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		p, err := ParseFilename(fn)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if s := p.String(); s != fn {
			t.Fatalf("String() = %q, want %q", s, fn)
		}
		if !pep503.Valid(p.Name) {
			t.Fatalf("accepted invalid project name %q", p.Name)
		}
		if _, err := pep440.Parse(p.Version); err != nil {
			t.Fatalf("accepted invalid version %q", p.Version)
		}
		if err := p.Check(p.Name, p.Version); err != nil {
			t.Fatalf("Check(own name and version): %v", err)
		}
		if strings.ContainsAny(fn, "/\\\x00") || strings.Contains(fn, "..") || len(fn) > MaxFilenameLen {
			t.Fatalf("accepted unsafe filename %q", fn)
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(okMetadata))
	f.Add([]byte("Metadata-Version: 2.1\r\nName: foo\r\nVersion: 1\r\nSummary: a\r\n  b\r\n\r\nbody\r\n"))
	f.Add([]byte("From x\nMetadata-Version: 1.0\nName: a\n: b\n c\nVersion: 1\nDescription: x\n       |y\nFrom z\n\nbody"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseMetadata(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if !pep503.Valid(m.Name) {
			t.Fatalf("accepted invalid Name %q", m.Name)
		}
		if _, err := pep440.Parse(m.Version); err != nil {
			t.Fatalf("accepted invalid Version %q", m.Version)
		}
		if !bytes.Equal(m.Raw, raw) {
			t.Fatal("Raw differs from input")
		}
	})
}

func FuzzReadMetadata(f *testing.F) {
	names := []string{wheelFn, tarFn, zipSdistFn}
	dists, _ := filepath.Glob(filepath.Join(distsDir, "*.*"))
	for _, p := range dists {
		data, err := os.ReadFile(p)
		if err != nil || strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".sh") {
			continue
		}
		kind := uint8(0)
		switch {
		case strings.HasSuffix(p, ".tar.gz"):
			kind = 1
		case strings.HasSuffix(p, ".zip"):
			kind = 2
		}
		f.Add(data, kind)
	}
	f.Add(makeZip(f, okWheel()...), uint8(0))
	f.Add(makeTarGz(f, dir("acme-core-1.0/"), file("acme-core-1.0/PKG-INFO", okMetadata)), uint8(1))
	f.Add(makeZip(f, zipEntry{name: "acme-core-1.0/PKG-INFO", body: okMetadata, stored: true}), uint8(2))
	// Small limits keep each execution fast even on bombs.
	lim := Limits{MaxMetadataSize: 64 << 10, MaxMembers: 1000, MaxUncompressed: 8 << 20, RatioMinSize: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		fn := names[int(kind)%len(names)]
		p, err := ParseFilename(fn)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ReadMetadata(bytes.NewReader(data), int64(len(data)), p, lim)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if int64(len(m.Raw)) > lim.MaxMetadataSize {
			t.Fatalf("read %d bytes of metadata, limit %d", len(m.Raw), lim.MaxMetadataSize)
		}
	})
}

// FuzzZipEnd: the end-record reader and the directory check never panic
// and never fail but for the reader; where archive/zip opens an archive,
// readZipEnd found the same end record (its count agrees with the entries
// archive/zip loaded, modulo 65536, which is what archive/zip checks), and
// an archive that checkZipDirectory lets through has at most MaxMembers
// entries.
func FuzzZipEnd(f *testing.F) {
	f.Add(makeZip(f, okWheel()...))
	f.Add(makeZip(f))
	for _, z := range []*disttest.Zip{disttest.ManyEntries(3, disttest.Zip64), disttest.ManyEntries(40, disttest.Lying)} {
		b := make([]byte, z.Size())
		z.ReadAt(b, 0)
		f.Add(b)
	}
	f.Add(append([]byte("#!/bin/sh\n"), makeZip(f, okWheel()...)...))
	lim := Limits{MaxMembers: 20}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		end, ok, err := readZipEnd(bytes.NewReader(data), size)
		if err != nil {
			t.Fatalf("readZipEnd: %v", err)
		}
		cerr := checkZipDirectory(bytes.NewReader(data), size, lim)
		if cerr != nil && !errors.Is(cerr, ErrInvalid) {
			t.Fatalf("checkZipDirectory: %v is not ErrInvalid", cerr)
		}
		zr, zerr := zip.NewReader(bytes.NewReader(data), size)
		if zerr != nil && !errors.Is(zerr, zip.ErrInsecurePath) {
			return
		}
		if !ok {
			t.Fatalf("archive/zip opens an archive (%d entries) in which readZipEnd finds no end record", len(zr.File))
		}
		if uint16(end.records) != uint16(len(zr.File)) {
			t.Fatalf("readZipEnd read %d records, archive/zip loaded %d entries", end.records, len(zr.File))
		}
		if cerr == nil && len(zr.File) > lim.MaxMembers {
			t.Fatalf("checkZipDirectory let through %d entries, limit %d", len(zr.File), lim.MaxMembers)
		}
	})
}
