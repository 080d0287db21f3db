package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
)

// TestS3BackupRestore: with the S3 backend, backup copies the catalog only
// (the bucket is backed up by its own means), and a restored catalog serves
// the files still in the bucket; /readyz asks the bucket.
func TestS3BackupRestore(t *testing.T) {
	endpoint, ak, sk := miniotest.Start(t)
	bucket := "backup-" + randHex(t)
	s3 := func(cfg *pyindex.Config) {
		cfg.Storage.Backend = "s3"
		s := &cfg.Storage.S3
		s.Endpoint, s.AccessKey, s.SecretKey = endpoint, ak, sk
		s.Bucket, s.Prefix, s.CreateBucket = bucket, "pyindex", true
	}
	m := startServer(t, s3)
	if code, body := get(t, m.URL()+"/readyz", "", ""); code != 200 {
		t.Fatalf("/readyz on S3 = %d %s", code, body)
	}
	addUser(t, m, "ci", "ci-password-1", false)
	d := loadDist(t, "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1")
	postUpload(t, m, "ci", "ci-password-1", d)

	out := filepath.Join(t.TempDir(), "backup")
	got, err := runCLI(t, s3Env(m), "", "backup", out)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, got)
	}
	if !strings.Contains(got, "1 files") || !strings.Contains(got, "files are not copied") {
		t.Errorf("backup said %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "files")); !os.IsNotExist(err) {
		t.Errorf("an S3 backup holds files: %v", err)
	}

	data := filepath.Join(t.TempDir(), "restored")
	if got, err := runCLI(t, s3Env(m), "", "restore", out, "--data", data); err != nil || strings.Contains(got, "warning") {
		t.Fatalf("restore: %v\n%s", err, got)
	}
	r := startServer(t, func(cfg *pyindex.Config) { s3(cfg); cfg.Data = data })
	if code, body := get(t, r.URL()+"/files/"+d.sha256()+"/"+d.filename, "", ""); code != 200 || body != string(d.data) {
		t.Errorf("after restore: %d, %d bytes", code, len(body))
	}
}
