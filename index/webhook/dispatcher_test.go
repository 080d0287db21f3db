package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/indextest"
	"github.com/pyindex/pyindex/index/webhook"
)

func TestMain(m *testing.M) {
	index.PasswordCost = bcrypt.MinCost
	os.Exit(indextest.Main(m)) // on SQLite, then on PostgreSQL
}

const secret = "s3cret-for-tests-only"

// received is one request the receiver accepted for inspection.
type received struct {
	header  http.Header
	body    []byte
	payload webhook.Payload
}

// receiver is a local webhook receiver. It checks every request's
// signature and headers, and answers the n-th request (from 1) as behave
// says: it returns false to answer 200 itself.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	got    chan received
	mu     sync.Mutex
	n      int
	behave func(n int, w http.ResponseWriter, r *http.Request) bool
}

func newReceiver(t *testing.T, behave func(n int, w http.ResponseWriter, r *http.Request) bool) *receiver {
	t.Helper()
	rc := &receiver{t: t, got: make(chan received, 100), behave: behave}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("%s with Content-Type %q, want a JSON POST", r.Method, r.Header.Get("Content-Type"))
	}
	if !webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader)) {
		rc.t.Errorf("bad signature %q for %s", r.Header.Get(webhook.SignatureHeader), body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("body %s: %v", body, err)
	}
	if r.Header.Get(webhook.DeliveryHeader) != p.Delivery || r.Header.Get(webhook.EventHeader) != p.Event ||
		r.Header.Get(webhook.HookHeader) != p.Hook {
		rc.t.Errorf("headers %v do not match the body %s", r.Header, body)
	}
	rc.mu.Lock()
	rc.n++
	n := rc.n
	rc.mu.Unlock()
	if rc.behave != nil && rc.behave(n, w, r) {
		return
	}
	rc.got <- received{header: r.Header, body: body, payload: p}
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// next returns the next accepted delivery.
func (rc *receiver) next() received {
	rc.t.Helper()
	select {
	case g := <-rc.got:
		return g
	case <-time.After(20 * time.Second):
		rc.t.Fatal("no delivery")
		return received{}
	}
}

// none checks that nothing more arrives while the dispatcher catches up
// (the caller made a change afterwards that is delivered, or waited).
func (rc *receiver) none() {
	rc.t.Helper()
	select {
	case g := <-rc.got:
		rc.t.Errorf("unexpected delivery %s", g.body)
	default:
	}
}

type env struct {
	t    *testing.T
	path string
	cat  *index.Catalog
	reg  *prometheus.Registry
	auth *auth.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	en := &env{t: t, path: path, cat: indextest.OpenCatalog(t, path)}
	en.reopen(en.cat)
	return en
}

func (en *env) reopen(cat *index.Catalog) {
	en.cat = cat
	en.reg = prometheus.NewRegistry()
	var err error
	en.auth, err = auth.New(auth.DefaultConfig(), auth.Deps{Catalog: cat})
	if err != nil {
		en.t.Fatal(err)
	}
}

// start starts a dispatcher of hooks (Secret filled in) and stops it when
// the test ends.
func (en *env) start(hooks ...webhook.Hook) *webhook.Dispatcher {
	en.t.Helper()
	for i := range hooks {
		if hooks[i].Secret == "" {
			hooks[i].Secret = secret
		}
	}
	d, err := webhook.New(webhook.Config{Hooks: hooks}, webhook.Deps{Catalog: en.cat, Auth: en.auth,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: en.reg, BaseURL: "https://pypi.example.com/"})
	if err != nil {
		en.t.Fatal(err)
	}
	if err := d.Start(context.Background(), "http://127.0.0.1:1"); err != nil {
		en.t.Fatal(err)
	}
	en.t.Cleanup(d.Stop)
	return d
}

// upload records a wheel of project at version, as twine would.
func (en *env) upload(project, version string) index.File {
	en.t.Helper()
	fn, data := indextest.Wheel(en.t, strings.ReplaceAll(project, "-", "_"), version, "")
	return indextest.Seed(en.t, en.cat, indextest.Store(en.t), fn, data)
}

func (en *env) counter(result string) float64 {
	return testutil.ToFloat64(counterVec(en.t, en.reg).WithLabelValues(result))
}

func counterVec(t *testing.T, reg *prometheus.Registry) *prometheus.CounterVec {
	t.Helper()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pyindex", Subsystem: "webhook", Name: "deliveries_total",
		Help: "Webhook delivery attempts and outcomes by result: delivered (2xx), retry (an attempt failed and is tried again), " +
			"failed (the last attempt failed), dropped (deleted by keep before it was delivered)."}, []string{"result"})
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			return are.ExistingCollector.(*prometheus.CounterVec)
		}
		t.Fatal(err)
	}
	t.Fatal("the dispatcher registered no deliveries counter")
	return nil
}

// waitFor waits until cond holds (the dispatcher records an outcome just
// after the receiver answered).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (en *env) deliveries(hook string) []index.WebhookDelivery {
	en.t.Helper()
	ds, err := en.cat.WebhookDeliveries(context.Background(), hook, "", 1000)
	if err != nil {
		en.t.Fatal(err)
	}
	return ds
}

// fast is a hook whose retries come within milliseconds.
func fast(name, url string) webhook.Hook {
	return webhook.Hook{Name: name, URL: url, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 2 * time.Second}
}

// TestRetriesUntilDelivered: the receiver fails the first attempts (a 500,
// a closed connection, no answer within the timeout) and then accepts; the
// delivery is retried with backoff, signed each time, with the same id,
// and recorded as delivered after four attempts.
func TestRetriesUntilDelivered(t *testing.T) {
	en := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch n {
		case 1:
			http.Error(w, "Jenkins is restarting\x00\n<html>", http.StatusInternalServerError)
			return true
		case 2:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		case 3:
			select { // no answer until the client gives up
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return true
		}
		return false
	})
	h := fast("deploy", rc.srv.URL+"/hook")
	h.Timeout = 300 * time.Millisecond
	en.start(h)
	f := en.upload("acme-svc", "1.2.4.dev2")

	got := rc.next()
	p := got.payload
	if p.Attempt != 4 || rc.requests() != 4 {
		t.Errorf("delivered at attempt %d after %d requests, want 4", p.Attempt, rc.requests())
	}
	want := webhook.Payload{Delivery: p.Delivery, Hook: "deploy", Attempt: 4, SentAt: p.SentAt, Event: "upload",
		OccurredAt: f.UploadTime, AuditID: p.AuditID, Actor: "seed", Project: "acme-svc", Version: "1.2.4.dev2",
		Filename: f.Filename, PackageType: "bdist_wheel", SHA256: f.SHA256, Size: f.Size, Scope: "file",
		URL:      "https://pypi.example.com/files/" + f.SHA256 + "/" + f.Filename,
		IndexURL: "https://pypi.example.com/simple/"}
	if p != want {
		t.Errorf("payload\n got  %+v\n want %+v", p, want)
	}
	if time.Since(p.SentAt) > time.Minute || p.SentAt.Before(p.OccurredAt) {
		t.Errorf("sent_at %v is not the time of the attempt (occurred %v)", p.SentAt, p.OccurredAt)
	}
	if ua := got.header.Get("User-Agent"); ua != "pyindex-webhook" {
		t.Errorf("User-Agent %q", ua)
	}

	waitFor(t, "the delivery recorded as delivered", func() bool {
		ds := en.deliveries("deploy")
		return len(ds) == 1 && ds[0].State == index.WebhookDelivered
	})
	d := en.deliveries("deploy")[0]
	if d.UUID != p.Delivery || d.Attempts != 4 || d.LastStatus != 200 || d.LastError != "" || d.DeliveredAt.IsZero() ||
		d.Event != "upload" || d.Project != "acme-svc" || d.Filename != f.Filename {
		t.Errorf("recorded %+v", d)
	}
	if got, want := en.counter(webhook.ResultRetry), 3.0; got != want {
		t.Errorf("retry count %v, want %v", got, want)
	}
	if got := en.counter(webhook.ResultDelivered); got != 1 {
		t.Errorf("delivered count %v, want 1", got)
	}
}

// TestLastErrorRecorded: a delivery that keeps failing records each
// attempt's status and error (bounded, one printable line) and is marked
// failed after max_attempts.
func TestLastErrorRecorded(t *testing.T) {
	en := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream\x01 broke "+strings.Repeat("x", 100<<10))
		return true
	})
	h := fast("ci", rc.srv.URL)
	h.MaxAttempts = 3
	en.start(h)
	en.upload("acme-svc", "1.0")
	waitFor(t, "the delivery to fail", func() bool {
		ds := en.deliveries("ci")
		return len(ds) == 1 && ds[0].State == index.WebhookFailed
	})
	d := en.deliveries("ci")[0]
	if d.Attempts != 3 || d.LastStatus != 502 || !strings.HasPrefix(d.LastError, "HTTP 502: upstream  broke xxx") || len(d.LastError) > 600 {
		t.Errorf("recorded %d attempts, status %d, error %q", d.Attempts, d.LastStatus, d.LastError)
	}
	if rc.requests() != 3 {
		t.Errorf("%d requests, want 3", rc.requests())
	}
	if got := en.counter(webhook.ResultFailed); got != 1 {
		t.Errorf("failed count %v", got)
	}
	if got := en.counter(webhook.ResultRetry); got != 2 {
		t.Errorf("retry count %v", got)
	}
}

// TestFilters: each hook gets only its events and projects; the changes
// are made by the catalog itself, by a second process (the CLI) and
// through every action that maps to an event.
func TestFilters(t *testing.T) {
	en := newEnv(t)
	yanks := newReceiver(t, nil)
	other := newReceiver(t, nil)
	all := newReceiver(t, nil)
	y := fast("yanks", yanks.srv.URL)
	y.Events, y.Projects = []string{"yank", "unyank"}, []string{"Acme_*"}
	o := fast("other", other.srv.URL)
	o.Projects = []string{"other-tool"}
	en.start(y, o, fast("all", all.srv.URL))
	cli := indextest.OpenCatalog(t, en.path) // a second process on the same catalog
	ctx := context.Background()

	en.upload("acme-svc", "1.0")
	en.upload("other-tool", "2.0")
	if _, err := cli.Yank(ctx, "acme-svc", "1.0", "broken build", index.Actor{Name: "cli:root"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Yank(ctx, "other-tool", "2.0", "", index.Actor{Name: "cli:root"}); err != nil {
		t.Fatal(err)
	}
	if _, err := en.cat.Unyank(ctx, "acme-svc", "1.0", index.Actor{Name: "root"}); err != nil {
		t.Fatal(err)
	}
	if _, err := en.cat.DeleteReleaseRows(ctx, "other-tool", "2.0", index.Actor{Name: "root"}); err != nil {
		t.Fatal(err)
	}
	if _, err := en.cat.DeleteProjectRows(ctx, "acme-svc", index.Actor{Name: "root"}); err != nil {
		t.Fatal(err)
	}

	type ev struct{ event, project, scope, reason, actor string }
	collect := func(rc *receiver, n int) []ev {
		var out []ev
		for range n {
			p := rc.next().payload
			out = append(out, ev{p.Event, p.Project, p.Scope, p.Reason, p.Actor})
		}
		return out
	}
	wantYanks := []ev{{"yank", "acme-svc", "release", "broken build", "cli:root"}, {"unyank", "acme-svc", "release", "", "root"}}
	wantOther := []ev{{"upload", "other-tool", "file", "", "seed"}, {"yank", "other-tool", "release", "", "cli:root"},
		{"delete", "other-tool", "release", "", "root"}}
	wantAll := []ev{{"upload", "acme-svc", "file", "", "seed"}, {"upload", "other-tool", "file", "", "seed"},
		{"yank", "acme-svc", "release", "broken build", "cli:root"}, {"yank", "other-tool", "release", "", "cli:root"},
		{"unyank", "acme-svc", "release", "", "root"}, {"delete", "other-tool", "release", "", "root"},
		{"delete", "acme-svc", "project", "", "root"}}
	for _, c := range []struct {
		name string
		rc   *receiver
		want []ev
	}{{"yanks", yanks, wantYanks}, {"other", other, wantOther}, {"all", all, wantAll}} {
		got := collect(c.rc, len(c.want))
		if !sameEvents(got, c.want) {
			t.Errorf("%s got\n %v\nwant\n %v", c.name, got, c.want)
		}
	}
	// Nothing else is queued for the filtered hooks.
	waitFor(t, "every delivery recorded", func() bool {
		return len(en.deliveries("all")) == 7 && len(en.deliveries("yanks")) == 2 && len(en.deliveries("other")) == 3
	})
	yanks.none()
	other.none()
}

// sameEvents compares regardless of order: deliveries of one hook are not
// ordered (a retry may come after a newer delivery).
func sameEvents[T comparable](got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	left := map[T]int{}
	for _, g := range got {
		left[g]++
	}
	for _, w := range want {
		if left[w] == 0 {
			return false
		}
		left[w]--
	}
	return true
}

// TestFirstStartSkipsHistory: changes made before webhooks were on are not
// replayed; a server started without hooks forgets the position, so
// turning them on later does not replay the changes made meanwhile.
func TestFirstStartSkipsHistory(t *testing.T) {
	en := newEnv(t)
	en.upload("old-one", "1.0")
	rc := newReceiver(t, nil)
	d := en.start(fast("deploy", rc.srv.URL))
	en.upload("new-one", "1.0")
	if p := rc.next().payload; p.Project != "new-one" {
		t.Errorf("first delivery is of %s, want new-one", p.Project)
	}
	waitFor(t, "the delivery recorded", func() bool {
		ds := en.deliveries("deploy")
		return len(ds) == 1 && ds[0].State == index.WebhookDelivered
	})
	d.Stop()

	// A start without hooks, then changes, then hooks again.
	en.start()
	if _, ok, _ := en.cat.WebhookCursor(context.Background()); ok {
		t.Error("a start without hooks kept the position")
	}
	en.upload("meanwhile", "1.0")
	en.start(fast("deploy", rc.srv.URL))
	en.upload("after", "1.0")
	if p := rc.next().payload; p.Project != "after" {
		t.Errorf("delivery of %s, want after (meanwhile is history)", p.Project)
	}
	rc.none()
}

// TestRestartWithPending: a delivery still failing when the server stops,
// and a change made while it is down (by the CLI), are both delivered
// after a restart; the pending one keeps its id.
func TestRestartWithPending(t *testing.T) {
	en := newEnv(t)
	var down sync.Mutex
	failing := true
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		down.Lock()
		defer down.Unlock()
		if failing {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	h := fast("deploy", rc.srv.URL)
	h.MaxAttempts = 50
	h.Backoff, h.MaxBackoff = time.Second, time.Second
	d := en.start(h)
	en.upload("acme-svc", "1.0")
	waitFor(t, "a failed attempt recorded", func() bool {
		ds := en.deliveries("deploy")
		return len(ds) == 1 && ds[0].LastStatus == 503
	})
	d.Stop()
	before := en.deliveries("deploy")
	if len(before) != 1 || before[0].State != index.WebhookPending || before[0].LastStatus != 503 {
		t.Fatalf("after the stop: %+v", before)
	}
	if err := en.cat.Close(); err != nil {
		t.Fatal(err)
	}

	// Down: the CLI uploads.
	cli := indextest.OpenCatalog(t, en.path)
	indextest.Seed(t, cli, indextest.Store(t), "acme_svc-1.1-py3-none-any.whl", mustWheel(t, "acme_svc", "1.1"))
	cli.Close()

	down.Lock()
	failing = false
	down.Unlock()
	en.reopen(indextest.OpenCatalog(t, en.path))
	en.start(h)
	got := map[string]webhook.Payload{}
	for range 2 {
		p := rc.next().payload
		got[p.Version] = p
	}
	if got["1.0"].Delivery != before[0].UUID || got["1.0"].Attempt < 2 {
		t.Errorf("the pending delivery came as %+v, want id %s at a later attempt", got["1.0"], before[0].UUID)
	}
	if got["1.1"].Event != "upload" || got["1.1"].Attempt != 1 {
		t.Errorf("the change made while down came as %+v", got["1.1"])
	}
}

func mustWheel(t *testing.T, name, version string) []byte {
	_, data := indextest.Wheel(t, name, version, "")
	return data
}

// TestKeep: only a hook's newest keep deliveries are kept; pending ones
// deleted so are counted as dropped.
func TestKeep(t *testing.T) {
	en := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "no", http.StatusInternalServerError)
		return true
	})
	h := fast("deploy", rc.srv.URL)
	h.Keep, h.Backoff, h.MaxBackoff = 3, time.Hour, time.Hour
	en.start(h)
	for i := range 5 {
		en.upload("acme-svc", "1."+string(rune('0'+i)))
	}
	waitFor(t, "the drops", func() bool { return en.counter(webhook.ResultDropped) == 2 })
	ds := en.deliveries("deploy")
	if len(ds) != 3 {
		t.Fatalf("%d deliveries kept, want 3", len(ds))
	}
	for i, d := range ds {
		if want := "1." + string(rune('4'-i)); d.Version != want {
			t.Errorf("kept delivery %d is of %s, want %s", i, d.Version, want)
		}
	}
}

// TestTwoServers: two dispatchers on one catalog (two replicas, or a
// restart overlapping the old process), with changes made through both,
// queue every change once and send every delivery once (the cursor and
// each delivery are claimed compare-and-set in the catalog).
func TestTwoServers(t *testing.T) {
	en := newEnv(t)
	rc := newReceiver(t, nil)
	h := fast("deploy", rc.srv.URL)
	en.start(h)
	second := &env{t: t, path: en.path}
	second.reopen(indextest.OpenCatalog(t, en.path))
	second.start(h)
	const n = 12
	for i := range n { // changes made through both
		[]*env{en, second}[i%2].upload("acme-svc", "2."+strconv.Itoa(i))
	}
	seen, ids := map[string]int{}, map[string]bool{}
	for range n {
		p := rc.next().payload
		seen[p.Version]++
		if ids[p.Delivery] {
			t.Errorf("delivery %s sent twice", p.Delivery)
		}
		ids[p.Delivery] = true
	}
	waitFor(t, "every delivery recorded", func() bool {
		ds := en.deliveries("deploy")
		for _, d := range ds {
			if d.State != index.WebhookDelivered {
				return false
			}
		}
		return len(ds) == n
	})
	rc.none()
	if len(seen) != n || rc.requests() != n {
		t.Errorf("%d requests for %d versions (%v), want %d each once", rc.requests(), len(seen), seen, n)
	}
}

// TestGenericEvents: generic uploads and deletes (audited by the generic
// files' catalog methods) are delivered with their file's link, size and
// sha256.
func TestGenericEvents(t *testing.T) {
	en := newEnv(t)
	rc := newReceiver(t, nil)
	h := fast("bundles", rc.srv.URL)
	h.Events = []string{"generic-upload", "generic-delete"}
	en.start(h)
	ctx := context.Background()
	sha := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	en.upload("acme-svc", "1.0") // not asked for
	for _, e := range []index.Event{
		{Actor: "ci", Action: "generic-upload", Project: "vendor-dlls", Version: "2019.3", Filename: "bundle win64.zip", Detail: "4096 bytes, sha256 " + sha},
		{Actor: "root", Action: "generic-delete", Project: "vendor-dlls", Version: "2019.3", Filename: "bundle win64.zip", Detail: "4096 bytes"},
	} {
		if err := en.cat.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	up, del := rc.next().payload, rc.next().payload
	if up.Event == "generic-delete" {
		up, del = del, up
	}
	if up.Event != "generic-upload" || up.SHA256 != sha || up.Size != 4096 || up.Scope != "file" ||
		up.URL != "https://pypi.example.com/generic/vendor-dlls/2019.3/bundle%20win64.zip" {
		t.Errorf("generic upload %+v", up)
	}
	if del.Event != "generic-delete" || del.URL != "" || del.Detail != "4096 bytes" || del.Actor != "root" {
		t.Errorf("generic delete %+v", del)
	}
	rc.none()
}
