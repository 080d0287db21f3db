package mirror_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/mirror"
	"github.com/pyindex/pyindex/mirror/mirrortest"
	"github.com/pyindex/pyindex/storage"
)

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// env is mirrortest's whole read side with a mirror, with the helpers of
// this package's tests.
type env struct{ *mirrortest.Env }

func newEnv(t testing.TB, up *mirrortest.Upstream, dir string, mutate func(*mirror.Config)) *env {
	t.Helper()
	return &env{mirrortest.NewEnv(t, up, dir, mutate)}
}

func distBytes(t *testing.T, name string) []byte {
	t.Helper()
	p := mirrortest.FilePath(name)
	if p == "" {
		t.Skipf("%s not on this machine", name)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPages checks that both upstream formats yield complete pages: hashes,
// requires-python, yank reasons, PEP 658 metadata, upload-time and size
// where the upstream gives them, and file URLs on this server.
func TestPages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		htmlOnly bool
	}{{"json", false}, {"html-only", true}} {
		t.Run(tc.name, func(t *testing.T) {
			up := mirrortest.Start(t, tc.htmlOnly)
			e := newEnv(t, up, "", nil)
			p := e.Page("acme-util")
			if p.Name != "acme-util" || len(p.Files) != 5 {
				t.Fatalf("page = %+v", p)
			}
			if strings.Join(p.Versions, " ") != "0.1 0.2 1.0rc1" {
				t.Errorf("versions = %v", p.Versions)
			}
			byName := map[string]int{}
			for i, f := range p.Files {
				byName[f.Filename] = i
				if !strings.HasPrefix(f.URL, "/mirror/files/acme-util/") {
					t.Errorf("%s: url %q does not point at this server", f.Filename, f.URL)
				}
				if len(f.Hashes["sha256"]) != 64 {
					t.Errorf("%s: hashes %v", f.Filename, f.Hashes)
				}
				if f.RequiresPython == nil || *f.RequiresPython != ">=3.8" {
					t.Errorf("%s: requires-python %v", f.Filename, f.RequiresPython)
				}
				if !tc.htmlOnly && (f.UploadTime == nil || f.Size == 0) {
					t.Errorf("%s: upload-time %v size %d", f.Filename, f.UploadTime, f.Size)
				}
			}
			sd := p.Files[byName["acme_util-0.1.tar.gz"]]
			if sd.Yanked != "broken sdist" {
				t.Errorf("yanked = %#v, want the reason", sd.Yanked)
			}
			whl := p.Files[byName["acme_util-0.1-py3-none-any.whl"]]
			if md, _ := whl.CoreMetadata.(map[string]any); md["sha256"] != "6d055f253e953a477183fa94f7f0e74629e94dedec7880024e671414e79d5316" {
				t.Errorf("core-metadata = %#v", whl.CoreMetadata)
			}
			// HTML clients get the same links with the data attributes.
			h := e.Get("/simple/acme-util/", map[string]string{"Accept": "text/html"})
			for _, want := range []string{`data-requires-python="&gt;=3.8"`, `data-yanked="broken sdist"`, `href="/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl#sha256=ca367a34`, `data-core-metadata="sha256=44bf3479`} {
				if !strings.Contains(string(h.Body), want) {
					t.Errorf("HTML page lacks %s:\n%s", want, h.Body)
				}
			}
			if n := up.Count("/simple/acme-util/"); n != 1 {
				t.Errorf("upstream page requests = %d, want 1 (cached within the TTL)", n)
			}
			ua, _ := up.LastRequest()
			if !strings.HasPrefix(ua, "pyindex-mirror/") {
				t.Errorf("User-Agent = %q", ua)
			}
			// A file is fetched once, then served from storage.
			want := distBytes(t, "acme_util-0.2-py3-none-any.whl")
			for i := 0; i < 3; i++ {
				r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)
				if r.Status != 200 || sum256(r.Body) != sum256(want) {
					t.Fatalf("file: %d, %d bytes", r.Status, len(r.Body))
				}
			}
			if n := up.Count("/packages/acme_util-0.2-py3-none-any.whl"); n != 1 {
				t.Errorf("upstream file requests = %d, want 1", n)
			}
			if r := e.Get("/simple/nope/", nil); r.Status != 404 {
				t.Errorf("unknown project: %d", r.Status)
			}
			if r := e.Get("/mirror/files/acme-util/other-1.0.tar.gz", nil); r.Status != 404 {
				t.Errorf("file not on the page: %d (the mirror is no open proxy)", r.Status)
			}
		})
	}
}

// TestConcurrentFirstRequests proves the singleflight: many clients asking
// at once for an uncached page, then for an uncached file, cause one
// upstream GET each, and every client gets the right bytes.
func TestConcurrentFirstRequests(t *testing.T) {
	up := mirrortest.Start(t, false)
	up.SetDelay(200 * time.Millisecond)
	e := newEnv(t, up, "", nil)
	const n = 16
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.Do(http.MethodGet, "/simple/setuptools/", mirrortest.JSONAccept()).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("client %d: %d", i, s)
		}
	}
	if c := up.Count("/simple/setuptools/"); c != 1 {
		t.Errorf("upstream page GETs = %d, want 1", c)
	}
	up.SetDelay(0)

	want := distBytes(t, "setuptools-65.5.0-py3-none-any.whl")
	release := up.Hold()
	go func() {
		for up.Count("/packages/setuptools-65.5.0-py3-none-any.whl") == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // let every client arrive
		release()
	}()
	sums := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.Do(http.MethodGet, "/mirror/files/setuptools/setuptools-65.5.0-py3-none-any.whl", nil)
			statuses[i], sums[i] = r.Status, sum256(r.Body)
		}()
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != 200 || sums[i] != sum256(want) {
			t.Errorf("client %d: %d, sha256 %s", i, statuses[i], sums[i])
		}
	}
	if c := up.Count("/packages/setuptools-65.5.0-py3-none-any.whl"); c != 1 {
		t.Errorf("upstream file GETs = %d, want 1", c)
	}
	if got := lookups(e, "file", "miss"); got != n {
		t.Errorf("file misses = %v, want %d", got, n)
	}
}

// lookups returns the mirror's cache lookups of one kind and result.
func lookups(e *env, kind, result string) float64 {
	return testutil.ToFloat64(mirror.Lookups(e.Mirror).WithLabelValues(kind, result))
}

// TestStale serves cached pages and files when the upstream answers 503 or
// is gone, and revalidates with conditional requests once the TTL passed.
func TestStale(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	before := e.Page("acme-util")
	e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)

	e.Clock.Add(11 * time.Minute)
	after := e.Page("acme-util") // 304: same page, same serial
	if up.Count("/simple/acme-util/") != 2 || after.Meta.LastSerial != before.Meta.LastSerial {
		t.Errorf("revalidation: %d upstream GETs, serial %d -> %d", up.Count("/simple/acme-util/"), before.Meta.LastSerial, after.Meta.LastSerial)
	}

	e.Clock.Add(11 * time.Minute)
	up.SetStatus(http.StatusServiceUnavailable)
	// A stale page lists only the cached file: pip must not pick one that
	// cannot be fetched while the upstream is down.
	if p := e.Page("acme-util"); len(p.Files) != 1 || p.Files[0].Filename != "acme_util-0.2-py3-none-any.whl" {
		t.Errorf("stale page has %d files, want only the cached one", len(p.Files))
	}
	if up.Count("/simple/acme-util/") != 3 {
		t.Errorf("the upstream was not asked again")
	}
	if got := lookups(e, "page", "stale"); got != 1 {
		t.Errorf("stale lookups = %v", got)
	}

	up.SetStatus(0)
	e.Clock.Add(11 * time.Minute)
	if p := e.Page("acme-util"); len(p.Files) != 5 {
		t.Errorf("upstream back: %d files, want all 5", len(p.Files))
	}
	up.Close()
	e.Clock.Add(11 * time.Minute)
	if p := e.Page("acme-util"); len(p.Files) != 1 {
		t.Errorf("stale page (upstream gone) has %d files, want the cached one", len(p.Files))
	}
	if r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 {
		t.Errorf("cached file with the upstream gone: %d", r.Status)
	}
	if r := e.Get("/mirror/files/acme-util/acme_util-0.1-py3-none-any.whl", nil); r.Status != http.StatusBadGateway {
		t.Errorf("uncached file with the upstream gone: %d %s", r.Status, r.Body)
	}
}

// TestUpstreamDown answers uncached projects with a clean 502/503/504 and a
// message, quickly, whatever the failure.
func TestUpstreamDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(up *mirrortest.Upstream)
		want  int
	}{
		{"503", func(up *mirrortest.Upstream) { up.SetStatus(503) }, 503},
		{"500", func(up *mirrortest.Upstream) { up.SetStatus(500) }, 502},
		{"stopped", func(up *mirrortest.Upstream) { up.Close() }, 502},
		{"slow", func(up *mirrortest.Upstream) { up.SetDelay(5 * time.Second) }, 504},
		{"garbage", func(up *mirrortest.Upstream) {
			up.SetPage("acme-util", mirrortest.Page{Body: "{not json", ContentType: "application/vnd.pypi.simple.v1+json"})
		}, 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := mirrortest.Start(t, false)
			e := newEnv(t, up, "", func(c *mirror.Config) { c.Timeout = 300 * time.Millisecond })
			tc.setup(up)
			start := time.Now()
			r := e.Get("/simple/acme-util/", nil)
			if r.Status != tc.want || !strings.Contains(string(r.Body), "upstream") {
				t.Errorf("got %d %q, want %d with a message", r.Status, r.Body, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestOffline never contacts the upstream: cached pages and files are
// served, anything else is a 503.
func TestOffline(t *testing.T) {
	up := mirrortest.Start(t, false)
	dir := t.TempDir()
	e := newEnv(t, up, dir, nil)
	e.Page("acme-util")
	e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)
	e.Stop()
	total := up.Total()

	off := newEnv(t, up, dir, func(c *mirror.Config) { c.Offline = true })
	off.Clock.Add(24 * time.Hour) // long past the TTL
	// Offline, the page lists only what is cached: pip must not pick a
	// file that cannot be served.
	if p := off.Page("acme-util"); len(p.Files) != 1 || p.Files[0].Filename != "acme_util-0.2-py3-none-any.whl" {
		t.Errorf("offline page: %+v, want only the cached file", p.Files)
	}
	if r := off.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 {
		t.Errorf("offline cached file: %d", r.Status)
	}
	if r := off.Get("/mirror/files/acme-util/acme_util-0.1-py3-none-any.whl", nil); r.Status != 503 {
		t.Errorf("offline uncached file: %d", r.Status)
	}
	if r := off.Get("/simple/setuptools/", nil); r.Status != 503 || !strings.Contains(string(r.Body), "offline") {
		t.Errorf("offline uncached project: %d %s", r.Status, r.Body)
	}
	if up.Total() != total {
		t.Errorf("offline mirror made %d upstream requests", up.Total()-total)
	}
}

// TestPersistence keeps pages and files across a restart (a new catalog on
// the same file), with the upstream gone.
func TestPersistence(t *testing.T) {
	up := mirrortest.Start(t, false)
	dir := t.TempDir()
	e := newEnv(t, up, dir, nil)
	first := e.Page("acme-util")
	e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)
	e.Stop()
	up.Close()

	e2 := newEnv(t, nil, dir, nil)
	e2.Config.Upstream = up.SimpleURL()
	p := e2.Page("acme-util") // within the TTL: no upstream needed
	if len(p.Files) != len(first.Files) || p.Meta.LastSerial != first.Meta.LastSerial {
		t.Errorf("after restart: %d files serial %d, before %d files serial %d", len(p.Files), p.Meta.LastSerial, len(first.Files), first.Meta.LastSerial)
	}
	if r := e2.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 {
		t.Errorf("cached file after restart: %d", r.Status)
	}
}

// TestHostedWins: a hosted name never shows upstream files unless
// merge_upstream lists it.
func TestHostedWins(t *testing.T) {
	for _, tc := range []struct {
		name      string
		merge     []string
		wantFiles int
	}{{"hosted-only", nil, 1}, {"merged", []string{"Acme_Util"}, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			up := mirrortest.Start(t, false)
			e := newEnv(t, up, "", func(c *mirror.Config) { c.MergeUpstream = tc.merge })
			// The hosted acme-util has a release the upstream lacks.
			fn, whl := indextest.Wheel(t, "acme_util", "9.0", "")
			indextest.Seed(t, e.Cat, e.Store, fn, whl)
			p := e.Page("acme-util")
			if len(p.Files) != tc.wantFiles {
				t.Errorf("files = %d, want %d", len(p.Files), tc.wantFiles)
			}
			if tc.merge == nil {
				if up.Total() != 0 {
					t.Errorf("a hosted name reached the upstream (%d requests)", up.Total())
				}
				if r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 404 {
					t.Errorf("upstream file of a hosted name: %d", r.Status)
				}
			}
		})
	}
}

// TestMinAge hides files younger than min_age (and versions left without
// files), per project exemptions aside, and shows them once old enough.
func TestMinAge(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", func(c *mirror.Config) {
		c.MinAge = 72 * time.Hour
		c.MinAgeExempt = []string{"Setuptools"}
	})
	// The clock says 2024-06-02 12:00; 1.0rc1 was uploaded 2024-06-01.
	p := e.Page("acme-util")
	if len(p.Files) != 4 || strings.Join(p.Versions, " ") != "0.1 0.2" {
		t.Errorf("cooling page: %d files, versions %v", len(p.Files), p.Versions)
	}
	if r := e.Get("/mirror/files/acme-util/acme_util-1.0rc1-py3-none-any.whl", nil); r.Status != 404 {
		t.Errorf("cooling file by URL: %d", r.Status)
	}
	e.Clock.Add(48 * time.Hour) // the page is refetched (TTL) and 1.0rc1 is 3.5 days old
	p = e.Page("acme-util")
	if len(p.Files) != 5 {
		t.Errorf("after the cooldown: %d files", len(p.Files))
	}
	// The same page, still within its TTL: the rendered cache must not
	// keep the cooled version.
	e2 := newEnv(t, up, "", func(c *mirror.Config) { c.MinAge = 72 * time.Hour })
	e2.Page("acme-util")
	e2.Clock.Add(5 * time.Minute)
	if n := len(e2.Page("acme-util").Files); n != 4 {
		t.Fatalf("files = %d", n)
	}
	e2.Clock.Add(48 * time.Hour) // revalidated (304): only the clock changes
	if n := len(e2.Page("acme-util").Files); n != 5 {
		t.Errorf("after the cooldown with an unchanged page: %d files", n)
	}

	// HTML upstreams give no upload time: the first sighting counts.
	html := mirrortest.Start(t, true)
	e3 := newEnv(t, html, "", func(c *mirror.Config) { c.MinAge = 72 * time.Hour })
	if n := len(e3.Page("acme-util").Files); n != 0 {
		t.Errorf("files without upload-time, first seen now: %d shown", n)
	}
	// Exempt projects are not cooled.
	if n := len(e.Page("setuptools").Files); n != 1 {
		t.Errorf("exempt project: %d files", n)
	}
}

// TestHashMismatch never caches a file whose bytes differ from the page's
// hash, breaks the first client's download, and recovers once the upstream
// is fixed.
func TestHashMismatch(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	e.Page("acme-util")
	good := distBytes(t, "acme_util-0.2-py3-none-any.whl")
	bad := append([]byte{}, good...)
	bad[len(bad)/2] ^= 0xff
	up.SetFile("acme_util-0.2-py3-none-any.whl", bad)
	r := e.Do(http.MethodGet, "/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)
	if r.Err == nil && r.Status == 200 && sum256(r.Body) == sum256(bad) {
		t.Fatalf("the client got the corrupt file without an error")
	}
	if _, err := e.Store.Stat(context.Background(), storage.Key(sum256(good))); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("a blob was stored for the corrupt file: %v", err)
	}
	if f, err := e.Cat.MirrorFile(context.Background(), "acme-util", "acme_util-0.2-py3-none-any.whl"); err != nil || f.BlobKey != "" {
		t.Errorf("catalog: %+v %v", f, err)
	}
	// A HEAD (no tee) gets a clean 502.
	if r := e.Do(http.MethodHead, "/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 502 {
		t.Errorf("HEAD of a corrupt upstream file: %d", r.Status)
	}
	up.SetFile("acme_util-0.2-py3-none-any.whl", nil)
	if r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil); r.Status != 200 || sum256(r.Body) != sum256(good) {
		t.Errorf("after the fix: %d", r.Status)
	}
}

// TestMetadata passes the upstream's PEP 658 files through (fetched once,
// hash-checked) and extracts METADATA from a cached wheel when the upstream
// has none, advertising it on the page from then on.
func TestMetadata(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	whl := distBytes(t, "acme_util-0.2-py3-none-any.whl")
	want, _ := mirrortest.WheelMetadata(whl)
	e.Page("acme-util")
	for range 2 {
		r := e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl.metadata", nil)
		if r.Status != 200 || string(r.Body) != string(want) {
			t.Fatalf("passthrough metadata: %d %q", r.Status, r.Body)
		}
	}
	if n := up.Count("/packages/acme_util-0.2-py3-none-any.whl.metadata"); n != 1 {
		t.Errorf("upstream metadata GETs = %d", n)
	}

	core := distBytes(t, "acme_core-1.0-py3-none-any.whl")
	coreMeta, _ := mirrortest.WheelMetadata(core)
	p := e.Page("acme-core")
	for _, f := range p.Files {
		if f.CoreMetadata != false {
			t.Errorf("%s advertises metadata before it can be served: %v", f.Filename, f.CoreMetadata)
		}
	}
	if r := e.Get("/mirror/files/acme-core/acme_core-1.0-py3-none-any.whl.metadata", nil); r.Status != 404 {
		t.Errorf("metadata before caching: %d", r.Status)
	}
	e.Get("/mirror/files/acme-core/acme_core-1.0-py3-none-any.whl", nil)
	p2 := e.Page("acme-core")
	if p2.Meta.LastSerial == p.Meta.LastSerial {
		t.Errorf("serial did not change with the page")
	}
	var adv any
	for _, f := range p2.Files {
		if f.Filename == "acme_core-1.0-py3-none-any.whl" {
			adv = f.CoreMetadata
		}
	}
	if md, _ := adv.(map[string]any); md["sha256"] != sum256(coreMeta) {
		t.Errorf("core-metadata after caching = %v, want sha256 %s", adv, sum256(coreMeta))
	}
	if r := e.Get("/mirror/files/acme-core/acme_core-1.0-py3-none-any.whl.metadata", nil); r.Status != 200 || string(r.Body) != string(coreMeta) {
		t.Errorf("extracted metadata: %d", r.Status)
	}
}

// TestSerialBackwards keeps the cached page when the upstream serves an
// older one (a lagging CDN node).
func TestSerialBackwards(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	e.Page("acme-core")
	up.SetPage("acme-core", mirrortest.Page{Body: `{"meta":{"api-version":"1.0"},"name":"acme-core","files":[]}`,
		ContentType: "application/vnd.pypi.simple.v1+json", Serial: "900"})
	e.Clock.Add(time.Hour)
	if p := e.Page("acme-core"); len(p.Files) != 2 {
		t.Errorf("older upstream page replaced the cache: %d files", len(p.Files))
	}
	up.SetPage("acme-core", mirrortest.Page{Body: `{"meta":{"api-version":"1.0"},"name":"acme-core","files":[]}`,
		ContentType: "application/vnd.pypi.simple.v1+json", Serial: "2000"})
	e.Clock.Add(time.Hour)
	if p := e.Page("acme-core"); len(p.Files) != 0 {
		t.Errorf("newer upstream page not taken: %d files", len(p.Files))
	}
}

// TestUpstreamAuth sends basic credentials to the upstream's host.
func TestUpstreamAuth(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", func(c *mirror.Config) { c.Username, c.Password = "mirror", "s3cret" })
	e.Page("acme-core")
	if _, auth := up.LastRequest(); auth != "Basic bWlycm9yOnMzY3JldA==" {
		t.Errorf("Authorization = %q", auth)
	}
}

// TestAdminAPI lists, refreshes and deletes cached projects, admin only.
func TestAdminAPI(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	ctx := context.Background()
	if _, err := e.Cat.AddUser(ctx, "root", "pw-root-123", true, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Cat.AddUser(ctx, "ci", "pw-ci-1234", false, "test"); err != nil {
		t.Fatal(err)
	}
	admin := map[string]string{"Authorization": "Basic cm9vdDpwdy1yb290LTEyMw=="} // root:pw-root-123
	e.Page("acme-util")
	e.Get("/mirror/files/acme-util/acme_util-0.2-py3-none-any.whl", nil)

	if r := e.Get("/api/v1/mirror/projects", nil); r.Status != 401 || !strings.Contains(string(r.Body), `"error"`) {
		t.Errorf("anonymous: %d %s", r.Status, r.Body)
	}
	if r := e.Get("/api/v1/mirror/projects", map[string]string{"Authorization": "Basic Y2k6cHctY2ktMTIzNA=="}); r.Status != 403 {
		t.Errorf("non-admin: %d %s", r.Status, r.Body)
	}
	r := e.Get("/api/v1/mirror/projects", admin)
	var list struct {
		Projects []index.MirrorSummary `json:"projects"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Projects) != 1 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if s := list.Projects[0]; s.Name != "acme-util" || s.Files != 5 || s.CachedFiles != 1 || s.CachedBytes != 1029 || s.FetchedAt.IsZero() {
		t.Errorf("summary = %+v", s)
	}

	if r := e.Do(http.MethodPost, "/api/v1/mirror/projects/acme-util/refresh", admin); r.Status != 200 || up.Count("/simple/acme-util/") != 2 {
		t.Errorf("refresh: %d %s (%d upstream GETs)", r.Status, r.Body, up.Count("/simple/acme-util/"))
	}
	if r := e.Do(http.MethodPost, "/api/v1/mirror/projects/nope/refresh", admin); r.Status != 404 {
		t.Errorf("refresh unknown: %d %s", r.Status, r.Body)
	}

	if r := e.Do(http.MethodDelete, "/api/v1/mirror/projects/acme-util", admin); r.Status != 200 {
		t.Errorf("delete: %d %s", r.Status, r.Body)
	}
	if _, err := e.Store.Stat(ctx, storage.Key("ca367a34d668517f8771a7156d8ee5ade7a04d950be88079fc88018c3c0a14f8")); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("blob kept after delete: %v", err)
	}
	if r := e.Do(http.MethodDelete, "/api/v1/mirror/projects/acme-util", admin); r.Status != 404 {
		t.Errorf("second delete: %d", r.Status)
	}
	// The next request fetches it again.
	if p := e.Page("acme-util"); len(p.Files) != 5 || up.Count("/simple/acme-util/") != 3 {
		t.Errorf("refetch after delete: %d files", len(p.Files))
	}
}

// TestNegativeCache remembers an upstream 404 for negative_ttl.
func TestNegativeCache(t *testing.T) {
	up := mirrortest.Start(t, false)
	e := newEnv(t, up, "", nil)
	for range 3 {
		if r := e.Get("/simple/nope/", nil); r.Status != 404 {
			t.Fatalf("status %d", r.Status)
		}
	}
	if n := up.Count("/simple/nope/"); n != 1 {
		t.Errorf("upstream GETs = %d, want 1", n)
	}
	e.Clock.Add(2 * time.Minute)
	e.Get("/simple/nope/", nil)
	if n := up.Count("/simple/nope/"); n != 2 {
		t.Errorf("after negative_ttl: %d GETs", n)
	}
}
