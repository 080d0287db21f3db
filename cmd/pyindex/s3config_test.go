package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/s3"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
)

func TestS3ConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*s3.Config)
		want   []string // substrings of the error; none: valid
	}{
		{"complete", func(c *s3.Config) { c.Endpoint, c.Bucket = "minio:9000", "pyindex" }, nil},
		{"empty", func(c *s3.Config) {}, []string{"storage.s3.endpoint: required", "storage.s3.bucket: required"}},
		{"small parts", func(c *s3.Config) { c.Endpoint, c.Bucket, c.PartSize = "minio:9000", "b", 1<<20 }, []string{"storage.s3.part_size"}},
		{"long presign", func(c *s3.Config) { c.Endpoint, c.Bucket, c.PresignExpiry = "minio:9000", "b", 8*24*time.Hour }, []string{"storage.s3.presign_expiry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Storage.Backend = "s3"
			tc.mutate(&cfg.Storage.S3)
			err := cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v, want %q", err, w)
				}
			}
		})
	}
	cfg := DefaultConfig()
	cfg.Storage.Backend = "gcs"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `"gcs" is not a known backend (fs, s3)`) {
		t.Errorf("unknown backend: %v", err)
	}
}

// The generated PYINDEX_STORAGE_S3_* variables reach every key, the
// unsigned part size included.
func TestS3ConfigEnv(t *testing.T) {
	env := map[string]string{
		"PYINDEX_STORAGE_BACKEND":              "s3",
		"PYINDEX_STORAGE_S3_ENDPOINT":          "https://s3.amazonaws.com",
		"PYINDEX_STORAGE_S3_BUCKET":            "acme",
		"PYINDEX_STORAGE_S3_REGION":            "eu-central-1",
		"PYINDEX_STORAGE_S3_PRESIGN_DOWNLOADS": "true",
		"PYINDEX_STORAGE_S3_PRESIGN_EXPIRY":    "1h",
		"PYINDEX_STORAGE_S3_PART_SIZE":         "67108864",
	}
	cfg, err := LoadConfig("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Storage.S3
	if cfg.Storage.Backend != "s3" || s.Endpoint != "https://s3.amazonaws.com" || s.Bucket != "acme" || s.Region != "eu-central-1" ||
		!s.PresignDownloads || s.PresignExpiry != time.Hour || s.PartSize != 64<<20 {
		t.Errorf("config from env: %+v", cfg.Storage)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	env["PYINDEX_STORAGE_S3_PART_SIZE"] = "-1"
	if _, err := LoadConfig("", func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
		t.Error("negative part size accepted")
	}
}

// A server whose bucket is forbidden or missing does not start, and says
// why; a working one decorates its store with metrics and keeps the
// backend's optional interfaces.
func TestS3Start(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)
	base := func() Config {
		cfg := DefaultConfig()
		cfg.Listen = "127.0.0.1:0"
		cfg.Data = t.TempDir()
		cfg.Storage.Backend = "s3"
		cfg.Storage.S3.Endpoint, cfg.Storage.S3.AccessKey, cfg.Storage.S3.SecretKey = endpoint, ak, sk
		cfg.Storage.S3.Bucket = "start-" + randomHex(t, 4)
		return cfg
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"wrong secret", func(c *Config) { c.Storage.S3.SecretKey = "wrong-secret-key"; c.Storage.S3.CreateBucket = true }, "credentials rejected"},
		{"missing bucket", func(c *Config) {}, "does not exist (create it, or set create_bucket = true)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mutate(&cfg)
			m := NewMain(cfg, io.Discard)
			err := m.Run(context.Background())
			m.Close()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want an error saying %q", err, tc.want)
			}
		})
	}

	cfg := base()
	cfg.Storage.S3.CreateBucket = true
	cfg.Storage.S3.PresignDownloads = true
	m := NewMain(cfg, io.Discard)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, ok := storage.As[*s3.S3](m.Store); !ok {
		t.Errorf("store %T does not wrap *s3.S3", m.Store)
	}
	if _, ok := m.Store.(storage.Presigner); !ok {
		t.Errorf("decorated store %T lost Presigner", m.Store)
	}
	if storage.Unwrap(m.Store) == nil {
		t.Errorf("store %T is not decorated with metrics", m.Store)
	}
}
