package upload_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/upload"
)

// newService returns a service without HTTP, on a real catalog and store,
// and the principal of a user who may upload.
func newService(t *testing.T, cfg upload.Config) (*upload.Service, index.Principal) {
	t.Helper()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	u, err := cat.AddUser(context.Background(), user, password, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := upload.New(cfg, upload.Deps{Catalog: cat, Store: store, TempDir: filepath.Join(t.TempDir(), "tmp"),
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return svc, index.Principal{User: u.Name, UserID: u.ID, Scope: index.ScopeUpload}
}

// received spools data and returns it with twine's fields for it.
func received(t *testing.T, svc *upload.Service, filename string, data []byte, name, version string) upload.Received {
	t.Helper()
	f, err := svc.Spool(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	rcv := upload.Received{Fields: map[string][]string{}, Filename: filename, Content: f}
	for _, p := range twineForm(filename, data, name, version).fields {
		rcv.Fields[p.name] = append(rcv.Fields[p.name], string(p.value))
	}
	return rcv
}

func TestAdd(t *testing.T) {
	ctx := context.Background()
	svc, p := newService(t, upload.DefaultConfig())
	fn, data := indextest.Wheel(t, "acme_util", "0.1", "")
	res, err := svc.Add(ctx, p, received(t, svc, fn, data, "acme-util", "0.1"))
	if err != nil || res.Identical || res.File.Filename != fn || res.File.SHA256 != indextest.Sum(data).SHA256 {
		t.Fatalf("Add = %+v, %v", res, err)
	}
	res, err = svc.Add(ctx, p, received(t, svc, fn, data, "acme-util", "0.1"))
	if err != nil || !res.Identical || res.File.Filename != fn {
		t.Fatalf("Add of the same bytes again = %+v, %v; want Identical", res, err)
	}

	_, other := indextest.Wheel(t, "acme_util", "0.1", "Summary: other bytes\n")
	_, err = svc.Add(ctx, p, received(t, svc, fn, other, "acme-util", "0.1"))
	var exists *upload.ExistsError
	if !errors.As(err, &exists) || exists.Existing.SHA256 != indextest.Sum(data).SHA256 || !errors.Is(err, index.ErrExists) {
		t.Errorf("Add of other bytes: %v; want an *ExistsError carrying the first file", err)
	}
}

func TestAddErrors(t *testing.T) {
	ctx := context.Background()
	svc, p := newService(t, upload.DefaultConfig())
	fn, data := indextest.Wheel(t, "acme_util", "0.1", "")
	tests := []struct {
		name      string
		p         func(p index.Principal) index.Principal
		rcv       func(r upload.Received) upload.Received
		field     string // of the *InvalidError; "" when another error is wanted
		forbidden bool
		is        error
	}{
		{"no file", nil, func(r upload.Received) upload.Received { r.Content = nil; return r }, "content", false, upload.ErrInvalid},
		{"missing name", nil, func(r upload.Received) upload.Received { delete(r.Fields, "name"); return r }, "name", false, upload.ErrInvalid},
		{"sha256 mismatch", nil, func(r upload.Received) upload.Received {
			r.Fields["sha256_digest"] = []string{strings.Repeat("0", 64)}
			return r
		}, "sha256_digest", false, upload.ErrInvalid},
		{"doc upload", nil, func(r upload.Received) upload.Received {
			r.Fields[":action"] = []string{"doc_upload"}
			return r
		}, ":action", false, upload.ErrUnsupported},
		{"bad filename", nil, func(r upload.Received) upload.Received { r.Filename = "../" + fn; return r }, "filename", false, upload.ErrInvalid},
		{"read scope", func(p index.Principal) index.Principal { p.Scope = index.ScopeRead; return p }, nil, "", true, index.ErrForbidden},
		{"other project", func(p index.Principal) index.Principal { p.Projects = []string{"acme-core"}; return p }, nil, "", true, index.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr, rcv := p, received(t, svc, fn, data, "acme-util", "0.1")
			if tc.p != nil {
				pr = tc.p(pr)
			}
			if tc.rcv != nil {
				rcv = tc.rcv(rcv)
			}
			_, err := svc.Add(ctx, pr, rcv)
			if !errors.Is(err, tc.is) {
				t.Errorf("Add: %v, want it to match %v", err, tc.is)
			}
			var ie *upload.InvalidError
			if tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field || ie.Reason == "") {
				t.Errorf("Add: %#v, want an *InvalidError for field %q", err, tc.field)
			}
			var fe *upload.ForbiddenError
			if tc.forbidden && !errors.As(err, &fe) {
				t.Errorf("Add: %#v, want a *ForbiddenError", err)
			}
		})
	}
}

// brokenReader fails after some bytes, as a dropped connection does.
type brokenReader struct{ n int }

var errBroken = errors.New("connection reset")

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errBroken
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestSpoolErrors(t *testing.T) {
	svc, _ := newService(t, upload.Config{MaxFileSize: 1 << 10, MaxMetadataSize: 64 << 10})
	_, err := svc.Spool(strings.NewReader(strings.Repeat("x", 1<<10+1)))
	var tl *upload.TooLargeError
	if !errors.As(err, &tl) || tl.Field != "content" || tl.Limit != 1<<10 {
		t.Errorf("Spool of a file over the limit: %v, want a *TooLargeError", err)
	}
	_, err = svc.Spool(&brokenReader{n: 100})
	var re *upload.ReadError
	if !errors.As(err, &re) || !errors.Is(err, errBroken) {
		t.Errorf("Spool of a broken stream: %v, want a *ReadError", err)
	}
	f, err := svc.Spool(io.LimitReader(strings.NewReader(strings.Repeat("y", 1<<10)), 1<<10))
	if err != nil || f.Size() != 1<<10 {
		t.Fatalf("Spool of a file at the limit: %v", err)
	}
	f.Close()
}
