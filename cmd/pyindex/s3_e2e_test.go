package main_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
)

// s3Env is the environment that points the pyindex CLI at the server's
// data folder and bucket, through the generated PYINDEX_STORAGE_S3_*
// variables.
func s3Env(m *pyindex.Main) map[string]string {
	s := m.Config.Storage.S3
	return map[string]string{
		"PYINDEX_DATA":                      m.Config.Data,
		"PYINDEX_STORAGE_BACKEND":           "s3",
		"PYINDEX_STORAGE_S3_ENDPOINT":       s.Endpoint,
		"PYINDEX_STORAGE_S3_BUCKET":         s.Bucket,
		"PYINDEX_STORAGE_S3_PREFIX":         s.Prefix,
		"PYINDEX_STORAGE_S3_ACCESS_KEY":     s.AccessKey,
		"PYINDEX_STORAGE_S3_SECRET_KEY":     s.SecretKey,
		"PYINDEX_STORAGE_S3_USE_SSL":        "false",
		"PYINDEX_STORAGE_S3_PART_SIZE":      "5242880",
		"PYINDEX_STORAGE_S3_PRESIGN_EXPIRY": "5m",
	}
}

var hrefRE = regexp.MustCompile(`href="([^"#]+)`)

// s3FileURL returns the absolute URL of filename on the project's simple page.
func s3FileURL(t *testing.T, m *pyindex.Main, project, filename string) string {
	t.Helper()
	resp, err := http.Get(m.URL() + "/simple/" + project + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, sm := range hrefRE.FindAllStringSubmatch(string(body), -1) {
		if strings.HasSuffix(sm[1], "/"+filename) {
			u, err := url.Parse(m.URL() + "/simple/" + project + "/")
			if err != nil {
				t.Fatal(err)
			}
			ref, err := u.Parse(strings.ReplaceAll(sm[1], "&amp;", "&"))
			if err != nil {
				t.Fatal(err)
			}
			return ref.String()
		}
	}
	t.Fatalf("%s not on the page of %s:\n%s", filename, project, body)
	return ""
}

// TestS3UploadInstall runs twine upload and pip install against a server
// whose files live in a real MinIO, streaming downloads and redirecting
// them to presigned URLs, then lets fsck find and repair what the test
// breaks in the bucket while the server runs.
func TestS3UploadInstall(t *testing.T) {
	dist := buildDists(t)
	endpoint, ak, sk := miniotest.Start(t)
	for _, tc := range []struct {
		name    string
		presign bool
	}{{"stream", false}, {"presign", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m := startServer(t, func(cfg *pyindex.Config) {
				cfg.Storage.Backend = "s3"
				s := &cfg.Storage.S3
				s.Endpoint, s.AccessKey, s.SecretKey = endpoint, ak, sk
				s.Bucket = "e2e-" + tc.name + "-" + randHex(t)
				s.Prefix = "pyindex"
				s.CreateBucket = true
				s.PresignDownloads = tc.presign
			})
			addUser(t, m, "ci", "ci-password-1", false)
			files, _ := filepath.Glob(filepath.Join(dist, "*"))
			twineUpload(t, m, "ci", "ci-password-1", files...)

			// Downloads: a 302 to MinIO that is never cached, or the bytes
			// with Range support.
			whl := "e2e_lib-1.0-py2.py3-none-any.whl"
			u := s3FileURL(t, m, "e2e-lib", whl)
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Range", "bytes=0-1")
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.presign {
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://"+endpoint+"/") ||
					!strings.Contains(loc, "X-Amz-Signature=") || resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("presigned download: %s, Location %q, Cache-Control %q", resp.Status, loc, resp.Header.Get("Cache-Control"))
				}
			} else if resp.StatusCode != http.StatusPartialContent || string(body) != "PK" {
				t.Errorf("streamed Range download: %s %q", resp.Status, body)
			}

			index := m.URL() + "/simple/"
			for _, p := range pips(t) {
				t.Run(p.name, func(t *testing.T) {
					t.Parallel()
					target := t.TempDir()
					run(t, "", nil, p.python, "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "--target", target, "e2e-app")
					if got := strings.Join(installed(t, target), " "); got != "e2e-app==1.0 e2e-lib==1.0" {
						t.Errorf("installed %s", got)
					}
				})
			}
		})
	}

	t.Run("fsck", func(t *testing.T) {
		m := startServer(t, func(cfg *pyindex.Config) {
			cfg.Storage.Backend = "s3"
			s := &cfg.Storage.S3
			s.Endpoint, s.AccessKey, s.SecretKey = endpoint, ak, sk
			s.Bucket = "e2e-fsck-" + randHex(t)
			s.CreateBucket = true
		})
		addUser(t, m, "ci", "ci-password-1", false)
		whl := filepath.Join(dist, "e2e_lib-1.0-py2.py3-none-any.whl")
		app, _ := filepath.Glob(filepath.Join(dist, "e2e_app-1.0-*.whl"))
		twineUpload(t, m, "ci", "ci-password-1", append(app, whl)...)
		env := s3Env(m)
		if out, err := runCLI(t, env, "", "fsck", "--verify-hashes"); err != nil || !strings.Contains(out, "no problems") {
			t.Fatalf("fsck after uploads: %v\n%s", err, out)
		}

		// Break the bucket while the server runs: an orphan, and the
		// wheel's blob deleted.
		ctx := context.Background()
		orphan := []byte("an upload that crashed before its row")
		orphanKey := storage.Key(sha256Hex(orphan))
		if err := storage.PutBytes(ctx, m.Store, orphanKey, orphan); err != nil {
			t.Fatal(err)
		}
		f, err := m.Catalog.File(ctx, filepath.Base(whl))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Store.Delete(ctx, f.BlobKey); err != nil {
			t.Fatal(err)
		}

		out, err := runCLI(t, env, "", "fsck", "--grace", "0s")
		if err == nil {
			t.Errorf("fsck exit status 0 with a missing blob and an orphan:\n%s", out)
		}
		for _, s := range []string{"missing  " + f.BlobKey, "file " + filepath.Base(whl) + " (e2e-lib 1.0)", "orphan   " + orphanKey,
			"2 problems (1 missing, 1 orphan, 0 corrupt)"} {
			if !strings.Contains(out, s) {
				t.Errorf("fsck report lacks %q:\n%s", s, out)
			}
		}
		// The broken file is a clean 404 meanwhile, never a 500.
		resp, err := http.Get(s3FileURL(t, m, "e2e-lib", filepath.Base(whl)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("download of a missing blob: %s, want 404", resp.Status)
		}

		// Repair, then the file can be uploaded again and installs.
		if out, err := runCLI(t, env, "", "fsck", "--grace", "0s", "--repair"); err != nil || !strings.Contains(out, "0 left after repair") {
			t.Fatalf("fsck --repair: %v\n%s", err, out)
		}
		if _, err := m.Store.Stat(ctx, orphanKey); err == nil {
			t.Error("orphan still in the bucket after repair")
		}
		twineUpload(t, m, "ci", "ci-password-1", whl)
		target := t.TempDir()
		run(t, "", nil, "/usr/bin/python3", "-m", "pip", "install", "--no-cache-dir", "--index-url", m.URL()+"/simple/", "--target", target, "e2e-app")
		if got := strings.Join(installed(t, target), " "); got != "e2e-app==1.0 e2e-lib==1.0" {
			t.Errorf("installed after repair and re-upload: %s", got)
		}
		if out, err := runCLI(t, env, "", "fsck", "--grace", "0s", "--verify-hashes"); err != nil || !strings.Contains(out, "no problems") {
			t.Errorf("fsck at the end: %v\n%s", err, out)
		}
	})
}

func randHex(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
