package index_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pgtest"
)

// TestPostgresDown: while PostgreSQL is stopped every catalog operation
// fails at once with ErrUnavailable and a one-line reason naming the
// server; the failures are counted; once it is back, reads and writes
// work on the same Catalog, and its serial cache sees the changes made
// meanwhile.
func TestPostgresDown(t *testing.T) {
	postgresOnly(t)
	ctx := context.Background()
	url := pgtest.URL(t)
	cat, other := openPG(t, url), openPG(t, url)
	files := bulkFiles()
	if _, _, err := cat.AddFile(ctx, files[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.ProjectSerial(ctx, "acme-util"); err != nil {
		t.Fatal(err)
	}
	pgtest.Restart(t, func() {
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"Ping", func() error { return cat.Ping(ctx) }},
			{"AddUser", func() error { _, err := cat.AddUser(ctx, "alice", "alice-password", false, "test"); return err }},
			{"ProjectDetail", func() error { _, _, err := cat.ProjectDetail(ctx, "acme-util"); return err }},
			{"File", func() error { _, err := cat.File(ctx, files[0].Filename); return err }},
			{"CheckToken", func() error { _, err := cat.CheckToken(ctx, index.TokenPrefix+strings.Repeat("a", 52)); return err }},
		} {
			start := time.Now()
			err := op.do()
			if !errors.Is(err, index.ErrUnavailable) {
				t.Errorf("%s while PostgreSQL is down: %v, want ErrUnavailable", op.name, err)
				continue
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("%s took %s", op.name, d)
			}
			var e *index.Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Error(), "catalog unavailable: PostgreSQL") || strings.ContainsAny(e.Error(), "\n") {
				t.Errorf("%s: message %q", op.name, e.Error())
			}
		}
		// The pools' attempts come one at a time: a burst of lookups
		// fails at once instead of each waiting for the server.
		start := time.Now()
		for range 50 {
			if err := cat.Ping(ctx); !errors.Is(err, index.ErrUnavailable) {
				t.Fatalf("Ping: %v", err)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("50 pings took %s", d)
		}
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(index.NewPoolCollector(cat))
	if v := counterValue(t, reg, "pyindex_catalog_errors_total", "unavailable"); v < 5 {
		t.Errorf("unavailable errors counted: %v, want at least 5", v)
	}
	if v := counterValue(t, reg, "pyindex_catalog_connect_failures_total", ""); v < 1 {
		t.Errorf("connect failures counted: %v", v)
	}
	if v := counterValue(t, reg, "pyindex_catalog_operation_seconds", "ping"); v < 51 {
		t.Errorf("pings timed: %v, want at least 51", v)
	}

	// Back: a write through the other catalog shows here, and this one
	// writes too, within a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err := other.AddFile(ctx, files[1])
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AddFile after PostgreSQL came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		s, err := cat.ProjectSerial(ctx, "acme-util")
		if err == nil && s == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ProjectSerial after PostgreSQL came back: %d, %v", s, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := cat.AddUser(ctx, "alice", "alice-password", false, "test"); err != nil {
		t.Errorf("AddUser after PostgreSQL came back: %v", err)
	}
}

// counterValue returns the value of the counter (or the count of the
// histogram) name whose series has a label of value ("": the only one).
func counterValue(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if value == "" || l.GetValue() == value {
					if h := m.GetHistogram(); h != nil {
						return float64(h.GetSampleCount())
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s}", name, value)
	return 0
}
