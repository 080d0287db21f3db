package mirrortest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Dist is a generated distribution file served by AddProject.
type Dist struct {
	Filename       string
	Body           []byte
	RequiresPython string
	Yanked         bool
	UploadTime     time.Time // zero: 2024-01-01
	// NoMetadata leaves the PEP 658 core-metadata key off the page (the
	// mirror then extracts METADATA from the wheel).
	NoMetadata bool
}

// Meta describes the core metadata of a generated distribution.
type Meta struct {
	Name, Version  string
	RequiresPython string
	RequiresDist   []string
	ProvidesExtra  []string
}

func (m Meta) text() string {
	var b strings.Builder
	b.WriteString("Metadata-Version: 2.1\nName: " + m.Name + "\nVersion: " + m.Version + "\n")
	if m.RequiresPython != "" {
		b.WriteString("Requires-Python: " + m.RequiresPython + "\n")
	}
	for _, e := range m.ProvidesExtra {
		b.WriteString("Provides-Extra: " + e + "\n")
	}
	for _, d := range m.RequiresDist {
		b.WriteString("Requires-Dist: " + d + "\n")
	}
	return b.String()
}

func distName(name string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToLower(name))
}

// Wheel builds a small valid wheel of m with the given tag triple (such
// as "py3-none-any" or "cp311-cp311-manylinux_2_17_x86_64").
func Wheel(m Meta, tag string) Dist {
	dn := distName(m.Name)
	di := dn + "-" + m.Version + ".dist-info/"
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range []struct{ name, body string }{
		{dn + "/__init__.py", "VERSION = \"" + m.Version + "\"\n"},
		{di + "METADATA", m.text()},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: mirrortest\nRoot-Is-Purelib: true\nTag: " + tag + "\n"},
		{di + "RECORD", ""},
	} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		w.Write([]byte(f.body))
	}
	zw.Close()
	return Dist{Filename: dn + "-" + m.Version + "-" + tag + ".whl", Body: b.Bytes(), RequiresPython: m.RequiresPython}
}

// Sdist builds a small valid sdist (.tar.gz) of m.
func Sdist(m Meta) Dist {
	dn := distName(m.Name)
	root := dn + "-" + m.Version + "/"
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{
		{root + "PKG-INFO", m.text()},
		{root + "pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n"},
		{root + dn + ".py", ""},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return Dist{Filename: root[:len(root)-1] + ".tar.gz", Body: b.Bytes(), RequiresPython: m.RequiresPython}
}

// AddProject serves a generated project: a PEP 691 page listing dists
// (sha256, size, requires-python, yanked, upload time, and PEP 658
// metadata for wheels unless NoMetadata) and the files themselves under
// /packages/. The page is served as JSON whatever the client accepts.
func (u *Upstream) AddProject(name string, dists ...Dist) {
	type file struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python"`
		Size           int               `json:"size"`
		UploadTime     string            `json:"upload-time"`
		Yanked         bool              `json:"yanked"`
		CoreMetadata   any               `json:"core-metadata,omitempty"`
	}
	var files []file
	for _, d := range dists {
		sum := sha256.Sum256(d.Body)
		f := file{Filename: d.Filename, URL: "/packages/" + d.Filename, Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])},
			Size: len(d.Body), Yanked: d.Yanked}
		if d.RequiresPython != "" {
			rp := d.RequiresPython
			f.RequiresPython = &rp
		}
		t := d.UploadTime
		if t.IsZero() {
			t = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		f.UploadTime = t.UTC().Format("2006-01-02T15:04:05.000000Z")
		if strings.HasSuffix(d.Filename, ".whl") && !d.NoMetadata {
			if md, err := WheelMetadata(d.Body); err == nil {
				ms := sha256.Sum256(md)
				f.CoreMetadata = map[string]string{"sha256": hex.EncodeToString(ms[:])}
			}
		}
		files = append(files, f)
		u.SetFile(d.Filename, d.Body)
	}
	body, _ := json.Marshal(map[string]any{
		"meta": map[string]any{"api-version": "1.1", "_last-serial": 1}, "name": name, "files": files,
	})
	u.SetPage(name, Page{Body: string(body), ContentType: "application/vnd.pypi.simple.v1+json", Serial: "1"})
}
