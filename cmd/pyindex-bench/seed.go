package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
)

// The seeded projects the cases read, and the uploading user.
const (
	projectTwenty = "bench-twenty" // 10 versions x (wheel + sdist) = 20 files
	projectBig    = "bench-big"    // 2,000 versions x 2 files
	bigVersions   = 2000
	benchUser     = "bench"
	benchPassword = "bench-password-not-secret"
)

// seedInfo is what was seeded.
type seedInfo struct {
	projects, files int
}

// seed creates the data folder: the catalog filled with AddFiles, a few
// shared blobs, and the bench user (through the real CLI).
//
// The rows are benchmark data: every file has its own sha256 (so pages
// compress like real ones), but all wheels point at one small blob and all
// sdists at another, whose bytes do not match those digests. Pages do not
// care; downloads are measured on a file uploaded through the real
// endpoint. Do not run fsck --verify-hashes on this folder.
func (b *bench) seed(ctx context.Context) error {
	data := filepath.Join(b.out, "data")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	start := time.Now()
	store, err := fs.New(filepath.Join(data, "files"))
	if err != nil {
		return err
	}
	wheelKey, metaKey, sdistKey, err := sharedBlobs(ctx, store)
	if err != nil {
		return err
	}
	cat, err := index.Open(ctx, filepath.Join(data, "catalog.db"))
	if err != nil {
		return err
	}
	defer cat.Close()

	var batch []index.NewFile
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := cat.AddFiles(ctx, batch, nil); err != nil {
			return err
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	addProject := func(project string, versions int) error {
		for v := range versions {
			version := fmt.Sprintf("%d.%d.%d", v/100, v/10%10, v%10)
			batch = append(batch, seedFiles(project, version, wheelKey, metaKey, sdistKey)...)
			if len(batch) >= index.BulkBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := addProject(projectTwenty, 10); err != nil {
		return err
	}
	if err := addProject(projectBig, bigVersions); err != nil {
		return err
	}
	last := time.Now()
	for i := range b.sc.projects - 2 {
		if err := addProject(fillerName(i), b.sc.versions); err != nil {
			return err
		}
		if time.Since(last) > 5*time.Second {
			b.logf("seeding: %d projects, %d files", i+2, total+len(batch))
			last = time.Now()
		}
	}
	if err := flush(); err != nil {
		return err
	}
	b.seeded = seedInfo{projects: b.sc.projects, files: total}
	b.seedTime = time.Since(start)
	b.logf("seeded %d projects, %d files in %s", b.sc.projects, total, b.seedTime.Round(time.Millisecond))

	cmd := exec.CommandContext(ctx, b.bin, "user", "add", benchUser, "--password-stdin", "--data", data)
	cmd.Stdin = strings.NewReader(benchPassword + "\n")
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pyindex user add: %v: %s", err, out)
	}
	return nil
}

// fillerName gives filler projects varied, realistic-looking names.
func fillerName(i int) string {
	words := []string{"django", "flask", "acme", "data", "py", "async", "tools", "client", "utils", "core", "api", "cloud", "test", "lib", "sdk"}
	return fmt.Sprintf("%s-%s-%d", words[i%len(words)], words[(i/len(words))%len(words)], i)
}

// seedFiles returns a release's wheel and sdist.
func seedFiles(project, version, wheelKey, metaKey, sdistKey string) []index.NewFile {
	under := strings.ReplaceAll(project, "-", "_")
	md := dist.Metadata{MetadataVersion: "2.1", Name: project, Version: version,
		Summary: "A benchmark project", RequiresPython: ">=3.9"}
	var out []index.NewFile
	for _, f := range []struct{ fn, kind, py string }{
		{under + "-" + version + "-py3-none-any.whl", "bdist_wheel", "py3"},
		{under + "-" + version + ".tar.gz", "sdist", "source"},
	} {
		sum := sha256.Sum256([]byte(f.fn))
		hexSum := hex.EncodeToString(sum[:])
		nf := index.NewFile{
			Project: project, Version: version, Filename: f.fn, PackageType: f.kind, PythonVersion: f.py,
			RequiresPython: ">=3.9", Size: int64(20000 + len(f.fn)*97), SHA256: hexSum, MD5: hexSum[:32],
			Blake2b256: hexSum, BlobKey: sdistKey, UploadedBy: benchUser, Metadata: md,
		}
		if f.kind == "bdist_wheel" {
			ms := sha256.Sum256([]byte(f.fn + ".metadata"))
			nf.BlobKey, nf.MetadataKey, nf.MetadataSHA256 = wheelKey, metaKey, hex.EncodeToString(ms[:])
		}
		out = append(out, nf)
	}
	return out
}

// sharedBlobs stores the three blobs every seeded row points at.
func sharedBlobs(ctx context.Context, store storage.Store) (wheel, meta, sdist string, err error) {
	put := func(b []byte) (string, error) {
		key, _, err := storage.PutContent(ctx, store, b)
		return key, err
	}
	w, err := buildWheel(io.Discard, "bench_shared", "1.0", 0)
	if err != nil {
		return "", "", "", err
	}
	if wheel, err = put(w); err != nil {
		return
	}
	if meta, err = put([]byte("Metadata-Version: 2.1\nName: bench-shared\nVersion: 1.0\n")); err != nil {
		return
	}
	sdist, err = put([]byte("not really a tar.gz: benchmark filler\n"))
	return
}

// buildWheel writes a valid wheel of project (filename form) and version
// to w when payload > 0 (a stored, uncompressed member of payload random
// bytes), or returns it in memory when payload is 0.
func buildWheel(w io.Writer, under, version string, payload int64) ([]byte, error) {
	var mem bytes.Buffer
	if payload == 0 {
		w = &mem
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	zw := zip.NewWriter(bw)
	di := under + "-" + version + ".dist-info/"
	for _, m := range []struct{ name, body string }{
		{under + "/__init__.py", "VERSION = '" + version + "'\n"},
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + strings.ReplaceAll(under, "_", "-") + "\nVersion: " + version + "\nSummary: pyindex benchmark\nRequires-Python: >=3.8\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: pyindex-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{di + "RECORD", ""},
	} {
		f, err := zw.Create(m.name)
		if err != nil {
			return nil, err
		}
		io.WriteString(f, m.body)
	}
	if payload > 0 {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: under + "/payload.bin", Method: zip.Store})
		if err != nil {
			return nil, err
		}
		// A 4 MiB random block repeated: incompressible for gzip's window,
		// and fast to generate.
		block := make([]byte, 4<<20)
		rng := rand.NewChaCha8([32]byte{1})
		rng.Read(block)
		for left := payload; left > 0; {
			n := min(left, int64(len(block)))
			if _, err := f.Write(block[:n]); err != nil {
				return nil, err
			}
			left -= n
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return mem.Bytes(), nil
}

// writeWheelFile writes a wheel with a payload to path and returns its
// filename on the index.
func writeWheelFile(path, under, version string, payload int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := buildWheel(f, under, version, payload); err != nil {
		f.Close()
		return "", err
	}
	return under + "-" + version + "-py3-none-any.whl", f.Close()
}

// digests returns the hex sha256, md5 and blake2b-256 of b.
func digests(b []byte) (string, string, string) {
	s := sha256.Sum256(b)
	m := md5.Sum(b)
	k := blake2b.Sum256(b)
	return hex.EncodeToString(s[:]), hex.EncodeToString(m[:]), hex.EncodeToString(k[:])
}

// cleanEnv is this process's environment without PYINDEX_* variables, so
// a developer's settings never leak into the measured server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYINDEX_") {
			env = append(env, kv)
		}
	}
	return env
}
