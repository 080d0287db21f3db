package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/minio/minio-go/v7"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
	"github.com/pyindex/pyindex/storage/storagetest"
)

var seq atomic.Int64

// uniq returns a name no other test in this process uses.
func uniq(base string) string {
	return fmt.Sprintf("%s-%d-%d", base, time.Now().UnixNano()%1e9, seq.Add(1))
}

func testConfig(endpoint, ak, sk string) Config {
	return Config{
		Endpoint:     endpoint,
		Bucket:       uniq("pyindex-test"),
		AccessKey:    ak,
		SecretKey:    sk,
		CreateBucket: true,
		PartSize:     MinPartSize, // the 20 MiB blob goes up in 4 parts
	}
}

func newS3(t *testing.T, cfg Config) *S3 {
	t.Helper()
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestCompliance(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)
	shared := testConfig(endpoint, ak, sk)
	newS3(t, shared) // create the shared bucket once

	// Every subtest gets a prefix of its own in one bucket, which also
	// proves that prefixes isolate stores from each other...
	t.Run("Prefix", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store {
			cfg := shared
			cfg.Prefix = uniq("tenant") + "/sub/"
			cfg.CreateBucket = false
			return newS3(t, cfg)
		})
	})
	// ...and a bucket of its own, with keys at the bucket's root.
	t.Run("Bucket", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store {
			return newS3(t, testConfig(endpoint, ak, sk))
		})
	})
}

func TestPresignedGetURL(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)
	cfg := testConfig(endpoint, ak, sk)
	cfg.Prefix = "p"
	off := newS3(t, cfg)
	if _, err := off.PresignedGetURL(t.Context(), "a/b", "x.whl"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("PresignedGetURL with presign_downloads off = %v, want errors.ErrUnsupported", err)
	}

	cfg.PresignDownloads = true
	cfg.PresignExpiry = time.Minute
	s := newS3(t, cfg)
	data := []byte("wheel content")
	if err := storage.PutBytes(t.Context(), s, "a/b", data); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PresignedGetURL(t.Context(), "../x", ""); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("PresignedGetURL(../x) = %v, want ErrInvalidKey", err)
	}
	// The HTTP layer sees the S3 store through the metrics decorator.
	p, ok := storage.WithMetrics(s, "s3", nil).(storage.Presigner)
	if !ok {
		t.Fatal("WithMetrics(*S3) does not implement storage.Presigner")
	}
	u, err := p.PresignedGetURL(t.Context(), "a/b", `pkg "1".whl`)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != string(data) {
		t.Fatalf("GET presigned URL: %s %q", resp.Status, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="pkg \"1\".whl"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
}

// A missing bucket is an outage, not a missing blob.
func TestMissingBucketIsNotNotExist(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)
	s := newS3(t, testConfig(endpoint, ak, sk))
	if err := s.client.RemoveBucket(t.Context(), s.bucket); err != nil {
		t.Fatal(err)
	}
	_, err := s.Stat(t.Context(), "a")
	if err == nil || errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat in a deleted bucket = %v, want an error that is not ErrNotExist", err)
	}
	_, _, err = s.Open(t.Context(), "a")
	if err == nil || errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Open in a deleted bucket = %v, want an error that is not ErrNotExist", err)
	}
	err = s.List(t.Context(), "", func(storage.Info) error { return nil })
	if err == nil {
		t.Error("List in a deleted bucket succeeded")
	}
}

func TestNewChecksBucket(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)

	cfg := testConfig(endpoint, ak, sk)
	cfg.CreateBucket = false
	if _, err := New(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("New without the bucket = %v, want a 'does not exist' error", err)
	}

	cfg = testConfig(endpoint, ak, "wrong-secret")
	if _, err := New(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "credentials rejected") {
		t.Errorf("New with a wrong secret = %v, want 'credentials rejected'", err)
	}

	// Credentials from the environment.
	t.Setenv(EnvAccessKey, ak)
	t.Setenv(EnvSecretKey, sk)
	cfg = testConfig(endpoint, "", "")
	s := newS3(t, cfg)
	if err := storage.PutBytes(t.Context(), s, "k", []byte("v")); err != nil {
		t.Errorf("Put with env credentials: %v", err)
	}
	// A URL endpoint works too; creating an existing bucket is fine.
	cfg.Endpoint = "http://" + endpoint
	newS3(t, cfg)
}

func TestNewUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err = New(ctx, Config{Endpoint: addr, Bucket: "pyindex", AccessKey: "a", SecretKey: "b"})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("New on a closed port = %v, want an 'unreachable' error", err)
	}
	t.Logf("New on a closed port failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestConfigErrors(t *testing.T) {
	base := Config{Endpoint: "127.0.0.1:1", Bucket: "bucket", AccessKey: "a", SecretKey: "s"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "storage.s3.endpoint: required"},
		{"bad scheme", func(c *Config) { c.Endpoint = "ftp://h" }, "want host:port"},
		{"endpoint path", func(c *Config) { c.Endpoint = "http://h/path" }, "want host:port"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "storage.s3.bucket: required"},
		{"bad bucket", func(c *Config) { c.Bucket = "B_" }, "bucket \"B_\""},
		{"small parts", func(c *Config) { c.PartSize = 1 << 20 }, "part_size"},
		{"long expiry", func(c *Config) { c.PresignExpiry = 8 * 24 * time.Hour }, "presign_expiry"},
		{"half credentials", func(c *Config) { c.SecretKey = "" }, "set together"},
		{"bad prefix", func(c *Config) { c.Prefix = "a/../b" }, "invalid prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			_, err := New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestConfigTOML(t *testing.T) {
	const doc = `
endpoint = "minio:9000"
bucket = "dists"
region = "eu-west-1"
prefix = "pyindex"
use_ssl = true
access_key = "ak"
secret_key = "sk"
create_bucket = true
presign_downloads = true
presign_expiry = "10m"
part_size = 33554432
`
	var got Config
	md, err := toml.Decode(doc, &got)
	if err != nil {
		t.Fatal(err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		t.Errorf("undecoded keys: %v", un)
	}
	want := Config{
		Endpoint: "minio:9000", Bucket: "dists", Region: "eu-west-1", Prefix: "pyindex",
		UseSSL: true, AccessKey: "ak", SecretKey: "sk", CreateBucket: true,
		PresignDownloads: true, PresignExpiry: 10 * time.Minute, PartSize: 32 << 20,
	}
	if got != want {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
}

func TestMapErr(t *testing.T) {
	tests := []struct {
		err      error
		notExist bool
		noSpace  bool
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, true, false},
		{minio.ErrorResponse{StatusCode: 404}, true, false},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, false, false},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, false, false},
		{minio.ErrorResponse{Code: "XMinioStorageFull", StatusCode: 507}, false, true},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey"}), true, false},
		{context.DeadlineExceeded, false, false},
	}
	for _, tc := range tests {
		err := mapErr("op", "k", tc.err)
		if errors.Is(err, storage.ErrNotExist) != tc.notExist || errors.Is(err, storage.ErrNoSpace) != tc.noSpace {
			t.Errorf("mapErr(%#v) = %v: notExist %v, noSpace %v; want %v, %v", tc.err, err,
				errors.Is(err, storage.ErrNotExist), errors.Is(err, storage.ErrNoSpace), tc.notExist, tc.noSpace)
		}
	}
}
