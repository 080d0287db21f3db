// Package s3 is the S3 backend of storage.Store, built on minio-go. It works
// with AWS S3, MinIO and other S3-compatible servers.
//
// Every Put passes the real size to minio-go (or, for an unknown size, a
// bounded PartSize), so memory per upload stays at one part; objects larger
// than PartSize go up as multipart uploads. Put is all or nothing: a single
// PUT and CompleteMultipartUpload are atomic, and Put withholds the last
// bytes of the stream until it has verified the reader's length, so a
// too-long, too-short or failing reader never completes a request.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/pyindex/pyindex/storage"
)

// Environment variables holding credentials when Config has none.
const (
	EnvAccessKey = "PYINDEX_S3_ACCESS_KEY"
	EnvSecretKey = "PYINDEX_S3_SECRET_KEY"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultPartSize      = 16 << 20
	DefaultPresignExpiry = 15 * time.Minute

	// MinPartSize is the smallest part S3 accepts in a multipart upload.
	MinPartSize = 5 << 20
	// maxPresignExpiry is the longest validity S3 signature V4 allows.
	maxPresignExpiry = 7 * 24 * time.Hour
	// startupTimeout bounds the bucket check in New when ctx has no
	// deadline.
	startupTimeout = 30 * time.Second
)

// Config configures the S3 backend. It is the [storage.s3] table of the
// server's configuration file.
type Config struct {
	// Endpoint is "host:port", or a URL whose http/https scheme then
	// overrides UseSSL. For AWS: "s3.amazonaws.com".
	Endpoint string `toml:"endpoint"`
	// Bucket holds the blobs.
	Bucket string `toml:"bucket"`
	// Region is the bucket's region. Empty lets minio-go look it up (and
	// CreateBucket then creates the bucket in us-east-1).
	Region string `toml:"region"`
	// Prefix, when set, is prepended (with a "/") to every key, so one
	// bucket can be shared.
	Prefix string `toml:"prefix"`
	// UseSSL selects https.
	UseSSL bool `toml:"use_ssl"`
	// AccessKey and SecretKey are static credentials. When empty, the
	// PYINDEX_S3_ACCESS_KEY and PYINDEX_S3_SECRET_KEY environment variables
	// are used, else minio-go's chain: AWS_* / MINIO_* environment
	// variables, ~/.aws/credentials, ~/.mc/config.json, then IAM (EC2, ECS,
	// EKS web identity).
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
	// CreateBucket creates a missing bucket at start instead of failing.
	CreateBucket bool `toml:"create_bucket"`
	// PresignDownloads makes PresignedGetURL hand out URLs, so the server
	// redirects downloads to S3 instead of streaming them.
	PresignDownloads bool `toml:"presign_downloads"`
	// PresignExpiry is how long a presigned URL is valid; default 15m,
	// at most 7 days.
	PresignExpiry time.Duration `toml:"presign_expiry"`
	// PartSize is the multipart part size in bytes (default 16 MiB, at
	// least 5 MiB). Each upload buffers at most one part in memory.
	PartSize uint64 `toml:"part_size"`
}

// DefaultConfig returns a Config with the defaults New would fill in; the
// endpoint and bucket are left empty.
func DefaultConfig() Config {
	return Config{
		PresignExpiry: DefaultPresignExpiry,
		PartSize:      DefaultPartSize,
	}
}

// S3 is a storage.Store on an S3 bucket. It is safe for concurrent use.
type S3 struct {
	client   *minio.Client
	bucket   string
	region   string
	prefix   string // "" or ending in "/"
	partSize uint64
	presign  bool
	expiry   time.Duration
}

var (
	_ storage.Store     = (*S3)(nil)
	_ storage.Presigner = (*S3)(nil)
)

// Validate reports every key of c that is unset or out of range, as
// "storage.s3.KEY: why" lines (a zero part_size or presign_expiry means
// the default).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("storage.s3.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Endpoint) == "" {
		bad("endpoint", "required with backend = \"s3\" (for AWS: \"s3.amazonaws.com\")")
	} else if _, _, err := parseEndpoint(c.Endpoint, c.UseSSL); err != nil {
		bad("endpoint", "%v", strings.TrimPrefix(err.Error(), "s3: "))
	}
	if strings.TrimSpace(c.Bucket) == "" {
		bad("bucket", "required with backend = \"s3\"")
	} else if err := s3utils.CheckValidBucketName(c.Bucket); err != nil {
		bad("bucket", "invalid bucket %q: %v", c.Bucket, err)
	}
	if c.PartSize != 0 && c.PartSize < MinPartSize {
		bad("part_size", "must be at least %d (5MiB, the S3 minimum)", MinPartSize)
	}
	if c.PresignExpiry != 0 && (c.PresignExpiry < time.Second || c.PresignExpiry > maxPresignExpiry) {
		bad("presign_expiry", "must be between 1s and 168h (7 days, the S3 maximum)")
	}
	if p := strings.Trim(c.Prefix, "/"); p != "" && !storage.ValidKey(p) {
		bad("prefix", "invalid prefix %q", c.Prefix)
	}
	return errors.Join(errs...)
}

// New connects to the bucket described by cfg. It checks at once that the
// bucket is reachable and accessible, creating it when cfg.CreateBucket is
// set, and returns a descriptive error otherwise (unreachable endpoint,
// rejected credentials, access denied, missing bucket, invalid config).
func New(ctx context.Context, cfg Config) (*S3, error) {
	def := DefaultConfig()
	if cfg.PartSize == 0 {
		cfg.PartSize = def.PartSize
	}
	if cfg.PresignExpiry == 0 {
		cfg.PresignExpiry = def.PresignExpiry
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, secure, err := parseEndpoint(cfg.Endpoint, cfg.UseSSL)
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if !storage.ValidKey(prefix) {
			return nil, fmt.Errorf("s3: invalid prefix %q", cfg.Prefix)
		}
		prefix += "/"
	}
	creds, err := credentialsFor(cfg)
	if err != nil {
		return nil, err
	}
	client, err := minio.New(host, &minio.Options{
		Creds:  creds,
		Secure: secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &S3{
		client:   client,
		bucket:   cfg.Bucket,
		region:   cfg.Region,
		prefix:   prefix,
		partSize: cfg.PartSize,
		presign:  cfg.PresignDownloads,
		expiry:   cfg.PresignExpiry,
	}
	if err := s.checkBucket(ctx, cfg.CreateBucket); err != nil {
		return nil, err
	}
	return s, nil
}

func parseEndpoint(endpoint string, useSSL bool) (host string, secure bool, err error) {
	if endpoint == "" {
		return "", false, errors.New("s3: endpoint is required")
	}
	if !strings.Contains(endpoint, "://") {
		return endpoint, useSSL, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("s3: endpoint %q: %w", endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("s3: endpoint %q: want host:port or http(s)://host:port", endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

func credentialsFor(cfg Config) (*credentials.Credentials, error) {
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return nil, errors.New("s3: access_key and secret_key must be set together")
		}
		return credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), nil
	}
	ak, sk := os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	if ak != "" || sk != "" {
		if ak == "" || sk == "" {
			return nil, fmt.Errorf("s3: %s and %s must be set together", EnvAccessKey, EnvSecretKey)
		}
		return credentials.NewStaticV4(ak, sk, ""), nil
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.EnvMinio{},
		&credentials.FileAWSCredentials{},
		&credentials.FileMinioClient{},
		&credentials.IAM{},
	}), nil
}

func (s *S3) checkBucket(ctx context.Context, create bool) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startupTimeout)
		defer cancel()
	}
	where := fmt.Sprintf("bucket %q at %s", s.bucket, s.client.EndpointURL().Redacted())
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3: check %s: %s: %w", where, explain(err), err)
	}
	if ok {
		return nil
	}
	if !create {
		return fmt.Errorf("s3: %s does not exist (create it, or set create_bucket = true)", where)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		return fmt.Errorf("s3: create %s: %s: %w", where, explain(err), err)
	}
	return nil
}

// explain turns a failed bucket check into advice for the operator.
func explain(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == "InvalidAccessKeyId" || er.Code == "SignatureDoesNotMatch":
			return "credentials rejected (check access_key/secret_key)"
		case er.Code == "AccessDenied" || er.StatusCode == 403:
			return "access denied (check the credentials and the bucket policy)"
		case er.Code == "PermanentRedirect" || er.Code == "AuthorizationHeaderMalformed":
			return "wrong region (check region)"
		}
		return "server refused"
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "endpoint unreachable (timed out)"
	case errors.As(err, &netErr):
		return "endpoint unreachable"
	}
	return "request failed"
}

// name returns the object name for key, or storage.ErrInvalidKey.
func (s *S3) name(key string) (string, error) {
	if !storage.ValidKey(key) {
		return "", fmt.Errorf("s3: %w: %q", storage.ErrInvalidKey, key)
	}
	return s.prefix + key, nil
}

// Put stores exactly size bytes from r under key, replacing any previous
// object atomically. With size >= 0, a reader yielding fewer or more bytes
// fails with storage.ErrSizeMismatch and nothing is stored; a negative size
// stores whatever r yields (buffering one PartSize part at a time). A read
// error from r is returned wrapped; a cancelled ctx returns ctx.Err(); a full
// or over-quota server returns storage.ErrNoSpace; an invalid key returns
// storage.ErrInvalidKey.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: put %s: %w", key, err)
	}
	body, err := checkedBody(ctx, r, size)
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", key, err)
	}
	info, err := s.client.PutObject(ctx, s.bucket, name, body, size, minio.PutObjectOptions{
		PartSize:    s.partSize,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		if cr, ok := body.(*checkedReader); ok && cr.err != nil {
			return fmt.Errorf("s3: put %s: %w", key, cr.err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("s3: put %s: %w", key, cerr)
		}
		return mapErr("put", key, err)
	}
	if size >= 0 && info.Size != size {
		// checkedReader makes this impossible; keep the contract loud if a
		// future minio-go reads differently.
		return fmt.Errorf("s3: put %s: server stored %d bytes, want %d", key, info.Size, size)
	}
	return nil
}

// checkedBody returns the reader to hand to minio-go. A seekable reader
// (an upload's temp file) is checked for its length up front and passed as
// is, so minio-go can retry and upload parts in parallel; anything else is
// wrapped in a checkedReader.
func checkedBody(ctx context.Context, r io.Reader, size int64) (io.Reader, error) {
	if size >= 0 {
		if rs, ok := r.(interface {
			io.ReaderAt
			io.Seeker
		}); ok {
			cur, err := rs.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			end, err := rs.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, err
			}
			if _, err := rs.Seek(cur, io.SeekStart); err != nil {
				return nil, err
			}
			if end-cur != size {
				return nil, fmt.Errorf("%w: reader holds %d bytes, want %d", storage.ErrSizeMismatch, end-cur, size)
			}
			return r, nil
		}
	}
	cr := &checkedReader{ctx: ctx, r: r, left: size}
	if size == 0 {
		// minio-go need not read an empty body at all: check it here.
		if _, err := cr.Read(nil); err != nil && err != io.EOF {
			return nil, err
		}
	}
	return cr, nil
}

// checkedReader delivers exactly left bytes from r (any number if left is
// negative) and fails the upload otherwise. It withholds the final bytes
// until it has seen r's EOF, so a request never completes with a stream
// that turns out to be too long; every failure is an error (never io.EOF),
// so a request never completes with a stream that is too short or broken.
// It also stops at once when ctx is cancelled.
type checkedReader struct {
	ctx  context.Context
	r    io.Reader
	left int64 // bytes still to deliver; negative: unknown size
	eof  bool  // r has reported EOF
	err  error // the first failure, reported by Put
}

func (c *checkedReader) fail(err error) (int, error) {
	if c.err == nil {
		c.err = err
	}
	return 0, c.err
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		return c.fail(err)
	}
	if c.left < 0 { // unknown size: pass through, keeping errors
		n, err := c.r.Read(p)
		if err != nil && err != io.EOF {
			return c.fail(err)
		}
		return n, err
	}
	if c.left == 0 {
		if !c.eof {
			if err := c.expectEOF(); err != nil {
				return c.fail(err)
			}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	switch {
	case err == io.EOF && c.left > 0:
		return c.fail(fmt.Errorf("%w: stream ended %d bytes short", storage.ErrSizeMismatch, c.left))
	case err == io.EOF:
		c.eof = true
	case err != nil:
		return c.fail(err)
	}
	if c.left == 0 && !c.eof {
		// The last bytes: hold them back until r proves it has no more.
		if err := c.expectEOF(); err != nil {
			return c.fail(err)
		}
	}
	return n, nil
}

// expectEOF reads ahead one byte, which must not exist.
func (c *checkedReader) expectEOF() error {
	var one [1]byte
	n, err := io.ReadFull(c.r, one[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w: stream longer than announced", storage.ErrSizeMismatch)
	case err == io.EOF:
		c.eof = true
		return nil
	default:
		return err
	}
}

// Open returns a reader over the object and its Info. The reader is a
// *minio.Object: it supports Seek (each seek that moves starts a ranged GET)
// and fails rather than mixing contents if the object is replaced while
// being read. It returns storage.ErrNotExist when the key is absent,
// storage.ErrInvalidKey for a bad key, and other errors as themselves. The
// reader stays bound to ctx.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, storage.Info, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.Info{}, fmt.Errorf("s3: open %s: %w", key, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, storage.Info{}, mapErr("open", key, err)
	}
	// Stat pins the ETag: later ranged GETs require it to match.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, storage.Info{}, mapErr("open", key, err)
	}
	return obj, info(key, oi), nil
}

// Stat returns the object's Info, storage.ErrNotExist when the key is
// absent, or storage.ErrInvalidKey for a bad key. Other errors come back as
// themselves.
func (s *S3) Stat(ctx context.Context, key string) (storage.Info, error) {
	name, err := s.name(key)
	if err != nil {
		return storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, fmt.Errorf("s3: stat %s: %w", key, err)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return storage.Info{}, mapErr("stat", key, err)
	}
	return info(key, oi), nil
}

// Delete removes the object. S3 deletes are idempotent, so Delete first
// checks that the key exists, to return storage.ErrNotExist as the contract
// asks. A bad key returns storage.ErrInvalidKey; other errors come back as
// themselves.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if _, err := s.Stat(ctx, key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		return mapErr("delete", key, err)
	}
	return nil
}

// List calls fn for every object whose key starts with prefix, in lexical
// order. Objects in the bucket (under Prefix) whose names are not valid keys
// were not written by this store and are skipped. An error from fn stops
// the listing and is returned as is; a cancelled ctx returns ctx.Err(); a
// prefix that could never match a valid key returns storage.ErrInvalidKey.
func (s *S3) List(ctx context.Context, prefix string, fn func(storage.Info) error) error {
	if prefix != "" && !storage.ValidKey(strings.TrimSuffix(prefix, "/")) {
		return fmt.Errorf("s3: list: %w: prefix %q", storage.ErrInvalidKey, prefix)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: list %q: %w", prefix, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.prefix + prefix,
		Recursive: true,
	})
	for oi := range objects {
		if oi.Err != nil {
			return mapErr("list", prefix, oi.Err)
		}
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok || !storage.ValidKey(key) {
			continue
		}
		if err := fn(info(key, oi)); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: list %q: %w", prefix, err)
	}
	return nil
}

// PresignedGetURL returns a URL from which a client downloads key directly
// for the configured PresignExpiry, with a Content-Disposition naming
// filename (when not empty). It does not check that the key exists. It
// returns an error wrapping errors.ErrUnsupported when presign_downloads is
// off, and storage.ErrInvalidKey for a bad key.
func (s *S3) PresignedGetURL(ctx context.Context, key, filename string) (*url.URL, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	if !s.presign {
		return nil, fmt.Errorf("s3: presigned downloads are disabled: %w", errors.ErrUnsupported)
	}
	params := url.Values{}
	if filename != "" {
		params.Set("response-content-disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, name, s.expiry, params)
	if err != nil {
		return nil, mapErr("presign", key, err)
	}
	return u, nil
}

func info(key string, oi minio.ObjectInfo) storage.Info {
	return storage.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}
}

// mapErr translates S3's not-found into storage.ErrNotExist and a full
// server into storage.ErrNoSpace; every other error (a missing bucket, access
// denied, a timeout) is returned as itself so an outage is never mistaken for
// a missing blob.
func mapErr(op, key string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == "NoSuchKey",
			er.StatusCode == 404 && er.Code != "NoSuchBucket":
			return fmt.Errorf("s3: %s %s: %w", op, key, storage.ErrNotExist)
		case er.Code == "XMinioStorageFull",
			er.Code == "XMinioAdminBucketQuotaExceeded",
			er.Code == "QuotaExceeded":
			return fmt.Errorf("s3: %s %s: %w: %w", op, key, storage.ErrNoSpace, err)
		}
	}
	return fmt.Errorf("s3: %s %s: %w", op, key, err)
}
