package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/webhook"
)

// TestRedirects: only 307/308 on the same host are followed; a redirect to
// another host never reaches it, and a 302 (which would turn the POST
// into a GET without its body) is a failure that says why.
func TestRedirects(t *testing.T) {
	en := newEnv(t)
	elsewhere := newReceiver(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/away":
			http.Redirect(w, r, elsewhere.srv.URL+"/x", http.StatusPermanentRedirect)
		case "/found":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			return false
		}
		return true
	})
	hooks := []webhook.Hook{fast("same", rc.srv.URL+"/same"), fast("away", rc.srv.URL+"/away"), fast("found", rc.srv.URL+"/found")}
	for i := range hooks {
		hooks[i].MaxAttempts = 1
	}
	en.start(hooks...)
	en.upload("acme-svc", "1.0")
	waitFor(t, "every hook's outcome", func() bool {
		for _, h := range []string{"same", "away", "found"} {
			ds := en.deliveries(h)
			if len(ds) != 1 || ds[0].State == index.WebhookPending {
				return false
			}
		}
		return true
	})
	if d := en.deliveries("same")[0]; d.State != index.WebhookDelivered {
		t.Errorf("a 307 on the same host: %+v", d)
	}
	if d := en.deliveries("away")[0]; d.State != index.WebhookFailed || !strings.Contains(d.LastError, "redirected to another host") {
		t.Errorf("a 308 to another host: state %s, error %q", d.State, d.LastError)
	}
	if d := en.deliveries("found")[0]; d.State != index.WebhookFailed || !strings.Contains(d.LastError, "redirected (302)") {
		t.Errorf("a 302: state %s, error %q", d.State, d.LastError)
	}
	if n := elsewhere.requests(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

func TestAPI(t *testing.T) {
	en := newEnv(t)
	ctx := context.Background()
	if _, err := en.cat.AddUser(ctx, "root", "root-password-1", true, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := en.cat.AddUser(ctx, "dev", "dev-password-1", false, "test"); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	h := fast("deploy", strings.Replace(rc.srv.URL, "http://", "http://jenkins:api-token-123@", 1)+"/invoke?token=query-token-456")
	h.Events, h.Projects = []string{"upload"}, []string{"acme-svc"}
	d := en.start(h, fast("quiet", newReceiver(t, nil).srv.URL))
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(en.auth.Middleware())
	d.Register(e.Group(""))
	get := func(path, user, pw string) (int, string) { return do(e, http.MethodGet, path, user, pw) }

	f := en.upload("acme-svc", "1.0")
	got := rc.next()
	if got.header.Get("Authorization") == "" {
		t.Error("the URL's credentials were not sent")
	}
	if got.payload.Event != "upload" {
		t.Errorf("payload %+v", got.payload)
	}
	waitFor(t, "the delivery recorded", func() bool {
		ds := en.deliveries("deploy")
		return len(ds) == 1 && ds[0].State == index.WebhookDelivered
	})

	code, body := get("/api/v1/webhooks", "root", "root-password-1")
	if code != 200 {
		t.Fatalf("GET /api/v1/webhooks: %d %s", code, body)
	}
	if strings.Contains(body, "api-token-123") || strings.Contains(body, "query-token-456") || strings.Contains(body, secret) {
		t.Errorf("the list shows a password or the secret: %s", body)
	}
	var list struct {
		Webhooks []webhook.HookView `json:"webhooks"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Webhooks) != 2 {
		t.Fatalf("hooks: %s", body)
	}
	hv := list.Webhooks[0]
	if hv.Name != "deploy" || !strings.Contains(hv.URL, "jenkins:xxxxx@") || !strings.HasSuffix(hv.URL, "/invoke?token=xxxxx") || hv.Counts["delivered"] != 1 || hv.Counts["pending"] != 0 ||
		hv.Last == nil || hv.Last.ID != got.payload.Delivery || hv.Last.LastStatus != 200 || hv.Last.Filename != f.Filename ||
		hv.Events[0] != "upload" || hv.Projects[0] != "acme-svc" || hv.Timeout != "2s" || hv.Keep != webhook.DefaultKeep {
		t.Errorf("hook view %+v", hv)
	}
	if q := list.Webhooks[1]; len(q.Events) != len(webhook.Events) || q.Last == nil {
		t.Errorf("the second hook: %+v", q)
	}

	code, body = get("/api/v1/webhooks/deploy/deliveries?state=delivered", "root", "root-password-1")
	var dl struct {
		Deliveries []webhook.DeliveryView `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(body), &dl); code != 200 || err != nil || len(dl.Deliveries) != 1 {
		t.Fatalf("deliveries: %d %s", code, body)
	}
	dv := dl.Deliveries[0]
	if dv.State != "delivered" || dv.Attempts != 1 || dv.DeliveredAt == nil || dv.NextAttemptAt != nil || dv.Payload != nil {
		t.Errorf("delivery view %+v", dv)
	}
	code, body = get("/api/v1/webhooks/deploy/deliveries/"+dv.ID, "root", "root-password-1")
	var one webhook.DeliveryView
	if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil {
		t.Fatalf("one delivery: %d %s", code, body)
	}
	var p webhook.Payload
	if err := json.Unmarshal(one.Payload, &p); err != nil || p.SHA256 != f.SHA256 || p.Event != "upload" {
		t.Errorf("payload %s (%v)", one.Payload, err)
	}
	if string(one.Payload) != string(got.body) || !webhook.Verify(secret, one.Payload, got.header.Get(webhook.SignatureHeader)) {
		t.Errorf("the API's payload\n %s\nis not the body sent\n %s", one.Payload, got.body)
	}

	for _, c := range []struct {
		path, user, pw string
		code           int
		msg            string
	}{
		{"/api/v1/webhooks", "", "", 401, "Authentication required"},
		{"/api/v1/webhooks", "dev", "dev-password-1", 403, "scope"},
		{"/api/v1/webhooks/nope/deliveries", "root", "root-password-1", 404, `No webhook named \"nope\"`},
		{"/api/v1/webhooks/deploy/deliveries/nope", "root", "root-password-1", 404, "has no delivery"},
		{"/api/v1/webhooks/deploy/deliveries?state=done", "root", "root-password-1", 400, "state must be"},
		{"/api/v1/webhooks/deploy/deliveries?limit=0", "root", "root-password-1", 400, "limit must be"},
	} {
		code, body := get(c.path, c.user, c.pw)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("GET %s as %q: %d %s, want %d with %q", c.path, c.user, code, body, c.code, c.msg)
		}
	}
	// A ping reaches the receiver, signed, and its answer comes back.
	code, body = do(e, http.MethodPost, "/api/v1/webhooks/deploy/ping", "root", "root-password-1")
	var pr webhook.PingResult
	if err := json.Unmarshal([]byte(body), &pr); code != 200 || err != nil || !pr.OK || pr.Status != 200 || pr.Error != "" {
		t.Errorf("ping: %d %s", code, body)
	}
	if ping := rc.next().payload; ping.Event != webhook.EventPing || ping.Delivery != pr.Delivery || ping.Actor != "root" || ping.Hook != "deploy" {
		t.Errorf("ping payload %+v", ping)
	}
	failing := fast("failing", newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "wrong token", http.StatusForbidden)
		return true
	}).srv.URL)
	d2 := en.start(failing)
	e2 := echo.New()
	e2.HTTPErrorHandler = e.HTTPErrorHandler
	e2.Use(en.auth.Middleware())
	d2.Register(e2.Group(""))
	code, body = do(e2, http.MethodPost, "/api/v1/webhooks/failing/ping", "root", "root-password-1")
	if err := json.Unmarshal([]byte(body), &pr); code != 200 || err != nil || pr.OK || pr.Status != 403 || pr.Error != "HTTP 403: wrong token" {
		t.Errorf("a refused ping: %d %s", code, body)
	}
	if n := len(en.deliveries("failing")); n != 0 {
		t.Errorf("a ping was recorded: %d deliveries", n)
	}

	// Only a failed delivery can be retried.
	code, body = do(e, http.MethodPost, "/api/v1/webhooks/deploy/deliveries/"+dv.ID+"/retry", "root", "root-password-1")
	if code != http.StatusConflict || !strings.Contains(body, "is delivered; only failed deliveries are retried") {
		t.Errorf("retrying a delivered one: %d %s", code, body)
	}
	if code, _ := do(e, http.MethodPost, "/api/v1/webhooks/deploy/deliveries/"+dv.ID+"/retry", "dev", "dev-password-1"); code != http.StatusForbidden {
		t.Errorf("retry by a non-admin: %d", code)
	}
}

func do(e *echo.Echo, method, path, user, pw string) (int, string) {
	req := httptest.NewRequest(method, path, nil)
	if user != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestRetry: a failed delivery retried through the admin API is sent again
// at once, with the same id, and the retry is audited.
func TestRetry(t *testing.T) {
	en := newEnv(t)
	ctx := context.Background()
	if _, err := en.cat.AddUser(ctx, "root", "root-password-1", true, "test"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	up := false
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	h := fast("deploy", rc.srv.URL)
	h.MaxAttempts = 2
	d := en.start(h)
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.Use(en.auth.Middleware())
	d.Register(e.Group(""))
	en.upload("acme-svc", "1.0")
	waitFor(t, "the delivery to fail", func() bool {
		ds := en.deliveries("deploy")
		return len(ds) == 1 && ds[0].State == index.WebhookFailed
	})
	failed := en.deliveries("deploy")[0]
	mu.Lock()
	up = true
	mu.Unlock()
	code, body := do(e, http.MethodPost, "/api/v1/webhooks/deploy/deliveries/"+failed.UUID+"/retry", "root", "root-password-1")
	// The answer shows it pending, or delivered already: the hook is woken
	// at once.
	if code != http.StatusAccepted || (!strings.Contains(body, `"state":"pending"`) && !strings.Contains(body, `"state":"delivered"`)) {
		t.Fatalf("retry: %d %s", code, body)
	}
	if p := rc.next().payload; p.Delivery != failed.UUID || p.Attempt != 1 {
		t.Errorf("retried as %+v", p)
	}
	events, err := en.cat.AuditEvents(ctx, index.AuditQuery{Action: "webhook retry"})
	if err != nil || len(events) != 1 || events[0].Actor != "root" || !strings.Contains(events[0].Detail, failed.UUID) {
		t.Errorf("audit %+v, %v", events, err)
	}
	if code, _ := do(e, http.MethodPost, "/api/v1/webhooks/deploy/deliveries/nope/retry", "root", "root-password-1"); code != http.StatusNotFound {
		t.Errorf("retrying an unknown delivery: %d", code)
	}
}
