// Package indextest holds test helpers shared by the index and upload tests:
// a real catalog on a temporary SQLite file, a real filesystem store, the
// distributions in testdata/dists, generated wheels, and Seed, which records
// a distribution the way an upload does (blob first, then the row).
package indextest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
)

// Catalog opens a catalog on a file in a fresh temporary directory (never
// ":memory:", whose pooled connections would each see another database)
// and closes it when the test ends.
func Catalog(t testing.TB) *index.Catalog {
	t.Helper()
	return OpenCatalog(t, filepath.Join(t.TempDir(), "catalog.db"))
}

// OpenCatalog opens the catalog at path and closes it when the test ends.
// Opening the same path twice simulates a second process (the CLI). With
// EngineEnv=postgres the catalog is a fresh PostgreSQL database standing
// for path (engine.go).
func OpenCatalog(t testing.TB, path string) *index.Catalog {
	t.Helper()
	cat, err := TryOpenCatalog(t, path)
	if err != nil {
		t.Fatalf("open catalog: %v", err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// catalogPath returns the path cat was opened with by OpenCatalog.
func catalogPath(cat *index.Catalog) string {
	if cat.Engine() != "postgres" {
		return cat.Path()
	}
	path := ""
	pgURLs.Range(func(k, v any) bool {
		if v.(string) == cat.Path() {
			path = k.(string)
			return false
		}
		return true
	})
	return path
}

// OpenSQLite opens the SQLite catalog file at path, whatever the engine
// (a backup's catalog is a SQLite file on both), and closes it when the
// test ends.
func OpenSQLite(t testing.TB, path string) *index.Catalog {
	t.Helper()
	cat, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open catalog: %v", err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// TryOpenCatalog opens the catalog at path as OpenCatalog does, but
// returns the error, and leaves closing it to the caller.
func TryOpenCatalog(t testing.TB, path string) (*index.Catalog, error) {
	t.Helper()
	if Engine() == "postgres" {
		cfg := index.DefaultConfig()
		cfg.URL = pgURL(t, path)
		return index.OpenPostgres(context.Background(), cfg)
	}
	return index.Open(context.Background(), path)
}

// Store returns a filesystem store in a fresh temporary directory.
func Store(t testing.TB) *fs.FS {
	t.Helper()
	s, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatalf("fs store: %v", err)
	}
	return s
}

// DistsDir returns the absolute path of the repository's testdata/dists.
func DistsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "dists")
}

// Dist returns the bytes of testdata/dists/name.
func Dist(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(DistsDir(), name))
	if err != nil {
		t.Fatalf("read dist: %v", err)
	}
	return b
}

// Wheel builds a minimal valid wheel for project name (the filename form,
// e.g. "acme_util") and version, whose METADATA carries the given extra
// header lines (each ending in "\n"). It returns the filename and bytes.
func Wheel(t testing.TB, name, version, extra string) (string, []byte) {
	t.Helper()
	di := name + "-" + version + ".dist-info/"
	meta := "Metadata-Version: 2.1\nName: " + strings.ReplaceAll(name, "_", "-") + "\nVersion: " + version + "\n" + extra
	return name + "-" + version + "-py3-none-any.whl", Zip(t, map[string]string{
		di + "METADATA":       meta,
		di + "WHEEL":          "Wheel-Version: 1.0\nGenerator: indextest\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		di + "RECORD":         "",
		name + "/__init__.py": "",
	})
}

// Zip builds a zip archive of the given members (written in sorted order).
func Zip(t testing.TB, members map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range sortedKeys(members) {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, members[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// Digests are a file's hex digests.
type Digests struct{ SHA256, MD5, Blake2b256 string }

// Sum returns the three digests of b.
func Sum(b []byte) Digests {
	s := sha256.Sum256(b)
	m := md5.Sum(b)
	b2 := blake2b.Sum256(b)
	return Digests{hex.EncodeToString(s[:]), hex.EncodeToString(m[:]), hex.EncodeToString(b2[:])}
}

// Seed records the distribution filename with contents data in cat, storing
// its blob (and, for a wheel, its METADATA as the PEP 658 file) in store
// first. Name, version and Requires-Python come from the archive's core
// metadata. It fails the test on any error, including index.ErrExists.
func Seed(t testing.TB, cat *index.Catalog, store storage.Store, filename string, data []byte) index.File {
	t.Helper()
	ctx := context.Background()
	wheel := strings.HasSuffix(filename, ".whl")
	meta, err := coreMetadata(filename, data)
	if err != nil {
		t.Fatalf("seed %s: %v", filename, err)
	}
	hdr := headers(meta)
	d := Sum(data)
	nf := index.NewFile{
		Project: hdr["name"], Version: hdr["version"], Filename: filename,
		PackageType: "sdist", PythonVersion: "source", RequiresPython: hdr["requires-python"],
		Size: int64(len(data)), SHA256: d.SHA256, MD5: d.MD5, Blake2b256: d.Blake2b256,
		BlobKey: storage.Key(d.SHA256), UploadedBy: "seed",
		Metadata: dist.Metadata{Name: hdr["name"], Version: hdr["version"], Summary: hdr["summary"],
			RequiresPython: hdr["requires-python"]},
	}
	if err := storage.PutBytes(ctx, store, nf.BlobKey, data); err != nil {
		t.Fatalf("seed %s: %v", filename, err)
	}
	if wheel {
		nf.PackageType, nf.PythonVersion = "bdist_wheel", "py3"
		if nf.MetadataKey, nf.MetadataSHA256, err = storage.PutContent(ctx, store, meta); err != nil {
			t.Fatalf("seed %s metadata: %v", filename, err)
		}
	}
	f, _, err := cat.AddFile(ctx, nf)
	if err != nil {
		t.Fatalf("seed %s: AddFile: %v", filename, err)
	}
	return f
}

// SeedDist seeds testdata/dists/name.
func SeedDist(t testing.TB, cat *index.Catalog, store storage.Store, name string) index.File {
	t.Helper()
	return Seed(t, cat, store, name, Dist(t, name))
}

// coreMetadata returns a wheel's .dist-info/METADATA or an sdist's
// top-level PKG-INFO.
func coreMetadata(filename string, data []byte) ([]byte, error) {
	isMeta := func(n string) bool {
		dir, base := path.Split(n)
		if strings.HasSuffix(filename, ".whl") {
			return base == "METADATA" && strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1
		}
		return base == "PKG-INFO" && strings.Count(dir, "/") == 1
	}
	if strings.HasSuffix(filename, ".tar.gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err != nil {
				return nil, fmt.Errorf("no PKG-INFO: %w", err)
			}
			if isMeta(h.Name) {
				return io.ReadAll(tr)
			}
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		if isMeta(f.Name) {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	}
	return nil, fmt.Errorf("no core metadata in %s", filename)
}

// headers returns the first value of each header of a core-metadata file,
// keyed by lower-case name.
func headers(meta []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(meta))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ": ")
		if ok && out[strings.ToLower(k)] == "" {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

// CoreMetadata returns the core-metadata bytes inside a distribution, for
// comparing with what the server serves as the PEP 658 file.
func CoreMetadata(t testing.TB, filename string, data []byte) []byte {
	t.Helper()
	m, err := coreMetadata(filename, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// MarkNewerSchema records, in the closed catalog at path, a migration this
// pyindex does not know, as a newer pyindex would have left it: opening
// the catalog must then fail with index.ErrSchemaTooNew.
func MarkNewerSchema(t testing.TB, path, migration string) {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	if _, err := db.Exec(bind(`INSERT INTO migrations (name, applied_at) VALUES (?, 0)`), migration); err != nil {
		t.Fatal(err)
	}
}

// LegacyProjectToken limits the token id of the open catalog cat to
// projects by writing the tokens table directly, as older pyindex versions
// let CreateToken do for admin tokens too (now refused): tests of how such
// tokens are treated need one.
func LegacyProjectToken(t testing.TB, cat *index.Catalog, id int64, projects ...string) {
	t.Helper()
	db := openDB(t, catalogPath(cat))
	defer db.Close()
	res, err := db.Exec(bind(`UPDATE tokens SET projects = ? WHERE id = ?`), strings.Join(projects, " "), id)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("no token %d", id)
	}
}
