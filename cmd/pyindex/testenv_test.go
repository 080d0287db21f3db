package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
)

// The environment of the in-package CLI tests: storage backends, config
// files, the command tree run in-process, and blob helpers.

// backend is one storage configuration the CLI tests run against.
type backend struct {
	name string
	// config returns a configuration of this backend (a fresh folder or
	// bucket on every call) and its TOML form for --config.
	config func(t *testing.T) (Config, string)
}

// fsBackend is the filesystem backend: a fresh data folder per config.
func fsBackend() backend {
	return backend{name: "fs", config: func(t *testing.T) (Config, string) {
		cfg := DefaultConfig()
		cfg.Data = t.TempDir()
		return cfg, fmt.Sprintf("data = %q\n", cfg.Data)
	}}
}

// s3Backend starts a MinIO server for t (skipping without one, failing in
// CI) and returns a backend whose every config gets its own bucket.
func s3Backend(t *testing.T) backend {
	t.Helper()
	endpoint, ak, sk := miniotest.Start(t)
	return backend{name: "s3", config: func(t *testing.T) (Config, string) {
		cfg := DefaultConfig()
		cfg.Data = t.TempDir()
		cfg.Storage.Backend = "s3"
		s := &cfg.Storage.S3
		s.Endpoint, s.AccessKey, s.SecretKey = endpoint, ak, sk
		s.Bucket = "fsck-" + randomHex(t, 6)
		s.Prefix = "pyindex"
		s.CreateBucket = true
		return cfg, fmt.Sprintf(`data = %q
[storage]
backend = "s3"
[storage.s3]
endpoint = %q
bucket = %q
prefix = %q
access_key = %q
secret_key = %q
create_bucket = true
`, cfg.Data, endpoint, s.Bucket, s.Prefix, ak, sk)
	}}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeConfig writes a TOML configuration into a temporary file.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pyindex.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cli runs the pyindex command tree in-process with no environment and
// returns standard output, standard error and the error.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewRootCmd(strings.NewReader(""), &out, &errOut, noEnv)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readBlob(t *testing.T, store storage.Store, key string) []byte {
	t.Helper()
	rc, _, err := store.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
