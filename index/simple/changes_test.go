package simple_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/simple"
)

// lookupPage asks the project route for name's page as the fast lane does
// (InMemory) or as echo does, and returns its body.
func lookupPage(t *testing.T, h *simple.Handler, name string, inMemory bool) (string, error) {
	t.Helper()
	for _, r := range h.Routes() {
		if r.Path != simple.RouteProject {
			continue
		}
		req := &httpx.Request{Method: http.MethodGet, Accept: acceptPip, Auth: auth.Result{Principal: index.Anonymous}, InMemory: inMemory}
		var rep httpx.Reply
		if err := r.Lookup(context.Background(), req, []string{name}, &rep); err != nil {
			return "", err
		}
		if rep.Status != 0 && rep.Status != http.StatusOK {
			t.Fatalf("%s: status %d", name, rep.Status)
		}
		return string(rep.Body), nil
	}
	t.Fatal("no project route")
	return "", nil
}

// TestCommitsLeaveOtherPagesWarm checks that an upload to one project,
// through this catalog or another one on the same database (another
// replica, the CLI), leaves every other project's page answered from
// memory: the fast lane's InMemory lookup succeeds with no serial query
// and no rendering, while the changed project's page shows the new file.
func TestCommitsLeaveOtherPagesWarm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat, other := indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)
	en := newEnvWith(t, cat, indextest.Store(t), simple.Config{})
	for _, p := range []string{"alpha", "beta"} {
		fn, data := indextest.Wheel(t, p, "1.0", "")
		indextest.Seed(t, cat, en.store, fn, data)
		if _, err := lookupPage(t, en.h, p, false); err != nil { // renders and caches
			t.Fatal(err)
		}
	}
	for i, via := range []*index.Catalog{cat, other, cat, other} {
		version := fmt.Sprintf("1.%d", i+1)
		fn, data := indextest.Wheel(t, "alpha", version, "")
		upload := func() { indextest.Seed(t, via, en.store, fn, data) }
		if via == cat {
			upload()
		} else {
			indextest.AwaitChange(t, cat, upload)
		}
		_, misses := cat.SerialLookups()
		renders := simple.Renders()
		body, err := lookupPage(t, en.h, "beta", true)
		if err != nil {
			t.Fatalf("upload %d: beta's page is not in memory: %v", i, err)
		}
		if !strings.Contains(body, "beta-1.0-py3-none-any.whl") {
			t.Fatalf("beta's page: %s", body)
		}
		if _, m := cat.SerialLookups(); m != misses || simple.Renders() != renders {
			t.Errorf("upload %d to alpha: beta's lookup made %d serial queries and %d renderings; want none", i, m-misses, simple.Renders()-renders)
		}
		// alpha's page is cold (InMemory declines) and then shows the file.
		if indextest.Engine() == "sqlite" || via == cat {
			if _, err := lookupPage(t, en.h, "alpha", true); !errors.Is(err, httpx.ErrNotInMemory) {
				t.Errorf("upload %d: alpha's old page answered from memory (%v)", i, err)
			}
		}
		indextest.Within(func() bool {
			body, _ := lookupPage(t, en.h, "alpha", false)
			return strings.Contains(body, fn)
		})
		if body, err := lookupPage(t, en.h, "alpha", false); err != nil || !strings.Contains(body, fn) {
			t.Fatalf("upload %d: alpha's page lacks %s: %s, %v", i, fn, body, err)
		}
	}
}

// TestFileRowsFollowTheirProject checks the file-row cache: a file deleted
// through another catalog is gone at once (PostgreSQL: within the
// notification delay), while the other project's file keeps being served.
func TestFileRowsFollowTheirProject(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat, other := indextest.OpenCatalog(t, path), indextest.OpenCatalog(t, path)
	en := newEnvWith(t, cat, indextest.Store(t), simple.Config{})
	var files []index.File
	for _, p := range []string{"alpha", "beta"} {
		fn, data := indextest.Wheel(t, p, "1.0", "")
		files = append(files, indextest.Seed(t, cat, en.store, fn, data))
	}
	get := func(f index.File) int {
		rec := httptest.NewRecorder()
		en.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/files/"+f.SHA256+"/"+f.Filename+".metadata", nil))
		return rec.Code
	}
	for _, f := range files {
		if code := get(f); code != http.StatusOK {
			t.Fatalf("%s: %d", f.Filename, code)
		}
	}
	indextest.AwaitChange(t, cat, func() {
		if _, err := other.DeleteFileRows(context.Background(), "alpha", "", files[0].Filename, index.Actor{}); err != nil {
			t.Fatal(err)
		}
	})
	indextest.Within(func() bool { return get(files[0]) == http.StatusNotFound })
	if code := get(files[0]); code != http.StatusNotFound {
		t.Errorf("deleted %s: %d, want 404", files[0].Filename, code)
	}
	if code := get(files[1]); code != http.StatusOK {
		t.Errorf("%s of the other project: %d, want 200", files[1].Filename, code)
	}
}
