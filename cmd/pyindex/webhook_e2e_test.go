package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index/webhook"
)

// hookReceiver is a deploy job's endpoint: it checks each request's
// signature, fails the first two (a 500, then no answer within the hook's
// timeout) and accepts the rest.
type hookReceiver struct {
	t       *testing.T
	srv     *httptest.Server
	secret  string
	mu      sync.Mutex
	n       int
	fail    int
	got     chan webhook.Payload
	release chan struct{}
	raw     [][2]string // body and signature of each accepted delivery
}

func newHookReceiver(t *testing.T, secret string, fail int) *hookReceiver {
	rc := &hookReceiver{t: t, secret: secret, fail: fail, got: make(chan webhook.Payload, 32), release: make(chan struct{})}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify(rc.secret, body, r.Header.Get(webhook.SignatureHeader)) {
			t.Errorf("bad signature on %s", body)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		switch {
		case n == 1 && rc.fail >= 1:
			http.Error(w, "Jenkins is restarting", http.StatusInternalServerError)
			return
		case n == 2 && rc.fail >= 2:
			select {
			case <-r.Context().Done():
			case <-rc.release:
			}
			return
		case rc.fail < 0: // never answers: a receiver that hangs
			select {
			case <-r.Context().Done():
			case <-rc.release:
			}
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		if r.Header.Get(webhook.EventHeader) != p.Event || r.Header.Get(webhook.DeliveryHeader) != p.Delivery {
			t.Errorf("headers %v, body %s", r.Header, body)
		}
		rc.mu.Lock()
		rc.raw = append(rc.raw, [2]string{string(body), r.Header.Get(webhook.SignatureHeader)})
		rc.mu.Unlock()
		rc.got <- p
	}))
	t.Cleanup(func() {
		close(rc.release)
		rc.srv.Close()
	})
	return rc
}

func (rc *hookReceiver) next(what string) webhook.Payload {
	rc.t.Helper()
	select {
	case p := <-rc.got:
		return p
	case <-time.After(60 * time.Second):
		rc.t.Fatalf("no webhook for %s", what)
		return webhook.Payload{}
	}
}

// TestWebhookAfterTwineUpload: a deploy job learns of a twine upload from
// a webhook, although its first two attempts fail, and fetches the file
// from the URL the payload gives; a yank made with the CLI while the server
// runs is delivered too; a receiver that hangs never holds up an upload;
// the admin API and the metrics show what happened.
func TestWebhookAfterTwineUpload(t *testing.T) {
	const secret = "jenkins-shared-secret-1"
	deploy := newHookReceiver(t, secret, 2)
	hang := newHookReceiver(t, secret, -1)
	// The hooks as a configuration file has them.
	cfgFile := filepath.Join(t.TempDir(), "pyindex.toml")
	toml := fmt.Sprintf(`
[[webhooks]]
name = "deploy"
url = %q
events = ["upload", "yank"]
projects = ["e2e-hook*"]
secret = %q
timeout = "1s"
backoff = "10ms"
max_backoff = "50ms"

[[webhooks]]
name = "hangs"
url = %q
secret = %q
timeout = "5m0s"
`, deploy.srv.URL+"/generic-webhook-trigger/invoke", secret, hang.srv.URL, secret)
	if err := os.WriteFile(cfgFile, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := pyindex.LoadConfig(cfgFile, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := startServer(t, func(c *pyindex.Config) { c.Webhooks = loaded.Webhooks })
	addUser(t, m, "ci", "ci-password-1", false)
	addUser(t, m, "root", "root-password-1", true)
	dist := t.TempDir()
	buildWheel(t, dist, "e2e-hooked", "1.0")
	whl := filepath.Join(dist, "e2e_hooked-1.0-py2.py3-none-any.whl")

	start := time.Now()
	twineUpload(t, m, "ci", "ci-password-1", whl)
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("twine took %v", d) // the hanging hook's 5m timeout never applies to the upload
	}
	p := deploy.next("the upload")
	if p.Event != "upload" || p.Project != "e2e-hooked" || p.Version != "1.0" || p.Filename != filepath.Base(whl) ||
		p.Actor != "ci" || p.PackageType != "bdist_wheel" || p.Attempt != 3 || p.Hook != "deploy" {
		t.Errorf("payload %+v", p)
	}
	if !strings.HasPrefix(p.URL, m.URL()+"/files/") || p.IndexURL != m.URL()+"/simple/" {
		t.Errorf("url %s, index_url %s; want them on %s", p.URL, p.IndexURL, m.URL())
	}
	// The deploy job fetches the file from the payload's URL.
	resp, err := http.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(data)
	if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != p.SHA256 || int64(len(data)) != p.Size || p.SHA256 != sha256File(t, whl) {
		t.Errorf("GET %s: %d, %d bytes with sha256 %x; payload says %d bytes, %s", p.URL, resp.StatusCode, len(data), sum, p.Size, p.SHA256)
	}

	// A yank with the CLI, while the server runs.
	pyindexCLI(t, m, "yank", "e2e-hooked", "1.0", "--reason", "breaks the deploy")
	if y := deploy.next("the CLI's yank"); y.Event != "yank" || y.Reason != "breaks the deploy" || y.Version != "1.0" || y.Attempt != 1 {
		t.Errorf("yank payload %+v", y)
	}

	// The admin API shows both deliveries and the hanging hook's pending ones.
	var list struct {
		Webhooks []webhook.HookView `json:"webhooks"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		list.Webhooks = nil
		getJSON(t, m, "/api/v1/webhooks", &list)
		if len(list.Webhooks) == 2 && list.Webhooks[0].Counts["delivered"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks %+v", list.Webhooks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h := list.Webhooks[1]; h.Name != "hangs" || h.Counts["pending"] != 2 {
		t.Errorf("the hanging hook: %+v", h)
	}
	var dl struct {
		Deliveries []webhook.DeliveryView `json:"deliveries"`
	}
	getJSON(t, m, "/api/v1/webhooks/deploy/deliveries", &dl)
	if len(dl.Deliveries) != 2 {
		t.Fatalf("deliveries %+v", dl.Deliveries)
	}
	up := dl.Deliveries[1]
	if up.Event != "upload" || up.Attempts != 3 || up.LastStatus != 200 || up.State != "delivered" || up.ID != p.Delivery {
		t.Errorf("the upload's delivery %+v", up)
	}

	// The README's Python receiver accepts the delivery, and refuses it
	// repeated or with another secret.
	deploy.mu.Lock()
	first := deploy.raw[0]
	deploy.mu.Unlock()
	readmeReceiver(t, secret, first[0], first[1])

	metrics := getBody(t, m, "/metrics")
	for _, want := range []string{`pyindex_webhook_deliveries_total{result="delivered"} 2`, `pyindex_webhook_deliveries_total{result="retry"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func getJSON(t *testing.T, m *pyindex.Main, path string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, m.URL()+path, nil)
	req.SetBasicAuth("root", "root-password-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func getBody(t *testing.T, m *pyindex.Main, path string) string {
	t.Helper()
	resp, err := http.Get(m.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// readmeReceiver runs the Python receiver of the README's Webhooks section
// on a delivery's body and signature.
func readmeReceiver(t *testing.T, secret, body, sig string) {
	t.Helper()
	python := need(t, "/usr/bin/python3")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)[strings.Index(string(readme), "### Webhooks"):]
	start := strings.Index(section, "```python\n")
	if start < 0 {
		t.Fatal("no Python receiver in the README's Webhooks section")
	}
	code := section[start+len("```python\n"):]
	code = code[:strings.Index(code, "```")]
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	script := code + `
import sys
secret, body, sig = sys.argv[1].encode(), open(sys.argv[2], "rb").read(), sys.argv[3]
seen = set()
event = accept(secret, body, {"X-Pyindex-Signature-256": sig}, seen)
assert event and event["event"] == "upload", event
assert accept(secret, body, {"X-Pyindex-Signature-256": sig}, seen) is None, "a repeat was accepted"
assert accept(b"another-secret-16", body, {"X-Pyindex-Signature-256": sig}, set()) is None, "a bad signature was accepted"
assert accept(secret, body.replace(b"upload", b"delete"), {"X-Pyindex-Signature-256": sig}, set()) is None, "a changed body was accepted"
print("receiver ok")
`
	scriptFile := filepath.Join(dir, "receiver.py")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(t, dir, nil, python, scriptFile, secret, bodyFile, sig); !strings.Contains(out, "receiver ok") {
		t.Errorf("the README's receiver: %s", out)
	}
}
