package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/fs"
	"github.com/pyindex/pyindex/storage/storagetest"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"a", true},
		{"sha256/ab/cd/abcd", true},
		{"a/b.c/d-e_f", true},
		{"..a/b..", true},
		{"", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{"./a", false},
		{"a/./b", false},
		{"../a", false},
		{"a/..", false},
		{"a\\b", false},
		{"a\x00", false},
		{"a\tb", false},
		{strings.Repeat("a", 1024), true},
		{strings.Repeat("a", 1025), false},
	}
	for _, tc := range tests {
		if got := storage.ValidKey(tc.key); got != tc.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	const h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		in, want string
	}{
		{h, "sha256/e3/b0/" + h},
		{strings.ToUpper(h), "sha256/e3/b0/" + h},
		{"", ""},
		{h[:63], ""},
		{h + "0", ""},
		{"../" + h[3:], ""},
		{"g" + h[1:], ""},
		{h[:62] + "/x", ""},
	}
	for _, tc := range tests {
		if got := storage.Key(tc.in); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := storage.Key(tc.in); got != "" && !storage.ValidKey(got) {
			t.Errorf("Key(%q) = %q, which ValidKey rejects", tc.in, got)
		}
	}
}

func TestPutContent(t *testing.T) {
	f, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("Metadata-Version: 2.1\nName: acme\n")
	key, sum, err := storage.PutContent(t.Context(), f, data)
	digest := sha256.Sum256(data)
	if err != nil || sum != hex.EncodeToString(digest[:]) || key != storage.Key(sum) {
		t.Fatalf("PutContent = %q, %q, %v", key, sum, err)
	}
	got, _, err := f.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if b, err := io.ReadAll(got); err != nil || !bytes.Equal(b, data) {
		t.Errorf("stored %q, %v; want %q", b, err, data)
	}
	// The same bytes again: the same key, no error.
	if key2, _, err := storage.PutContent(t.Context(), f, data); err != nil || key2 != key {
		t.Errorf("second PutContent = %q, %v", key2, err)
	}
}

// The decorated store must still meet the contract.
func TestWithMetricsCompliance(t *testing.T) {
	reg := prometheus.NewRegistry()
	storagetest.Run(t, func(t *testing.T) storage.Store {
		f, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return storage.WithMetrics(f, "fs", reg) // shares the registered families
	})
}

func TestWithMetrics(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	f, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := storage.WithMetrics(f, "fs", reg)
	// Zeros are exported for every op at once, on reg.
	if n, err := testutil.GatherAndCount(reg, "pyindex_storage_errors_total"); err != nil || n != 5 {
		t.Errorf("errors_total has %d series (%v), want one per op: 5", n, err)
	}
	errCount := func(op string) float64 {
		t.Helper()
		return counterValue(s, "fs", op)
	}

	if err := storage.PutBytes(ctx, s, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "missing"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat = %v, want ErrNotExist through the decorator", err)
	}
	if got := errCount(storage.OpStat); got != 0 {
		t.Errorf("ErrNotExist counted as an error: %v", got)
	}
	if _, err := s.Stat(ctx, "../bad"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("Stat = %v, want ErrInvalidKey", err)
	}
	if got := errCount(storage.OpStat); got != 1 {
		t.Errorf("errors_total{op=stat} = %v, want 1", got)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := storage.PutBytes(cancelled, s, "c", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if got := errCount(storage.OpPut); got != 0 {
		t.Errorf("a cancelled context counted as an error: %v", got)
	}
	errStop := errors.New("stop")
	if err := s.List(ctx, "", func(storage.Info) error { return errStop }); !errors.Is(err, errStop) {
		t.Fatalf("List = %v, want the callback's error", err)
	}
	if got := errCount(storage.OpList); got != 0 {
		t.Errorf("a callback error counted as a storage error: %v", got)
	}

	if n := histogramCount(t, s, "fs", storage.OpStat); n != 2 {
		t.Errorf("duration histogram for stat has %d samples, want 2", n)
	}
	if n := histogramCount(t, s, "fs", storage.OpPut); n != 2 {
		t.Errorf("duration histogram for put has %d samples, want 2", n)
	}
	if n, err := testutil.GatherAndCount(reg, "pyindex_storage_errors_total"); err != nil || n != 5 {
		t.Errorf("errors_total has %d series (%v), want one per op: 5", n, err)
	}
	// The durations are registered on reg too: put, stat and list ran.
	if n, err := testutil.GatherAndCount(reg, "pyindex_storage_operation_duration_seconds"); err != nil || n != 3 {
		t.Errorf("operation_duration_seconds has %d series (%v), want 3", n, err)
	}

	// Optional interfaces survive the decoration.
	if _, ok := s.(storage.Pather); !ok {
		t.Error("decorated *fs.FS lost Pather")
	}
	if _, ok := s.(storage.Presigner); ok {
		t.Error("decorated *fs.FS gained Presigner")
	}
	if got, ok := storage.As[*fs.FS](s); !ok || got != f {
		t.Errorf("As[*fs.FS] = %v, %v; want the wrapped store", got, ok)
	}
	if storage.Unwrap(s) != storage.Store(f) {
		t.Error("Unwrap did not return the wrapped store")
	}
}

type presignStore struct {
	storage.Store
	err error
}

func (p presignStore) PresignedGetURL(ctx context.Context, key, filename string) (*url.URL, error) {
	if p.err != nil {
		return nil, p.err
	}
	return &url.URL{Scheme: "https", Host: "s3.example", Path: "/" + key}, nil
}

type pathStore struct{ presignStore }

func (pathStore) Path(key string) (string, error) { return "/data/" + key, nil }

func TestWithMetricsOptionalInterfaces(t *testing.T) {
	reg := prometheus.NewRegistry()
	f, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ps := presignStore{Store: f}
	s := storage.WithMetrics(ps, "s3", reg)
	p, ok := s.(storage.Presigner)
	if !ok {
		t.Fatal("decorated Presigner lost PresignedGetURL")
	}
	if _, ok := s.(storage.Pather); ok {
		t.Error("decorated Presigner gained Path")
	}
	if u, err := p.PresignedGetURL(t.Context(), "k", "f.whl"); err != nil || u.Path != "/k" {
		t.Errorf("PresignedGetURL = %v, %v", u, err)
	}
	if n := histogramCount(t, s, "s3", storage.OpPresign); n != 1 {
		t.Errorf("presign samples = %d, want 1", n)
	}
	if n, err := testutil.GatherAndCount(reg, "pyindex_storage_operation_duration_seconds"); err != nil || n != 1 {
		t.Errorf("operation_duration_seconds has %d series (%v), want 1 (presign) on reg", n, err)
	}
	// A presigner's errors_total exports a zero for presign beside the 5 ops.
	if n, err := testutil.GatherAndCount(reg, "pyindex_storage_errors_total"); err != nil || n != 6 {
		t.Errorf("errors_total has %d series (%v), want 6", n, err)
	}

	// Disabled presigning is passed through but not counted as an error.
	off := storage.WithMetrics(presignStore{Store: f, err: errors.ErrUnsupported}, "s3", reg)
	if _, err := off.(storage.Presigner).PresignedGetURL(t.Context(), "k", ""); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("PresignedGetURL = %v, want errors.ErrUnsupported", err)
	}
	if got := counterValue(off, "s3", storage.OpPresign); got != 0 {
		t.Errorf("disabled presigning counted as an error: %v", got)
	}

	both := storage.WithMetrics(pathStore{ps}, "both", nil)
	if _, ok := both.(storage.Presigner); !ok {
		t.Error("decorated store lost Presigner")
	}
	if pa, ok := both.(storage.Pather); !ok {
		t.Error("decorated store lost Pather")
	} else if p, _ := pa.Path("k"); p != "/data/k" {
		t.Errorf("Path = %q", p)
	}
}

// counterValue returns pyindex_storage_errors_total{backend,op} of s, a
// store decorated by WithMetrics.
func counterValue(s storage.Store, backend, op string) float64 {
	_, errs := storage.Collectors(s)
	return testutil.ToFloat64(errs.WithLabelValues(backend, op))
}

// histogramCount returns how many durations
// pyindex_storage_operation_duration_seconds{backend,op} of s has observed
// (testutil reads counters and gauges only).
func histogramCount(t *testing.T, s storage.Store, backend, op string) uint64 {
	t.Helper()
	duration, _ := storage.Collectors(s)
	var m dto.Metric
	if err := duration.WithLabelValues(backend, op).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
