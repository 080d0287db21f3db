package webhook_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index/webhook"
)

func TestValidate(t *testing.T) {
	good := webhook.Hook{Name: "deploy", URL: "https://jenkins.example.com/generic-webhook-trigger/invoke", Secret: secret}
	if err := (webhook.Config{Hooks: []webhook.Hook{good}}).Validate(); err != nil {
		t.Errorf("a minimal hook: %v", err)
	}
	full := good
	full.Events = []string{"upload", "generic-upload"}
	full.Projects = []string{"acme-svc", "Acme_*", "tool?"}
	full.Timeout, full.MaxAttempts, full.Backoff, full.MaxBackoff, full.Keep = time.Second, 3, time.Millisecond, time.Minute, 10
	if err := (webhook.Config{Hooks: []webhook.Hook{full}}).Validate(); err != nil {
		t.Errorf("a hook with every key: %v", err)
	}

	// One bad hook with every key wrong reports every key.
	bad := webhook.Hook{Name: "no spaces", URL: "ftp://host/x", Events: []string{"upload", "push", "upload"},
		Projects: []string{"-bad-", "a/b"}, Secret: "short", Timeout: time.Hour, MaxAttempts: -1,
		Backoff: -time.Second, MaxBackoff: -time.Second, Keep: -5}
	err := (webhook.Config{Hooks: []webhook.Hook{good, bad, {URL: "http://"}, {Name: "deploy", URL: "http://h/#x", Secret: secret}}}).Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`webhooks[1].name: "no spaces" must be letters`,
		`webhooks[1].url: "ftp://host/x" must be an http or https URL`,
		`webhooks[1].events: "push" is not an event (upload, yank, unyank, delete, generic-upload, generic-delete)`,
		`webhooks[1].events: "upload" is listed twice`,
		`webhooks[1].projects: "-bad-" is not a valid project name`,
		`webhooks[1].projects: "a/b" is neither a project name nor a pattern`,
		`webhooks[1].secret: must be at least 16 characters`,
		`webhooks[1].timeout: must be positive and at most 5m0s`,
		`webhooks[1].max_attempts: must be between 1 and 50`,
		`webhooks[1].backoff: must be positive`,
		`webhooks[1].max_backoff: must be positive`,
		`webhooks[1].keep: must be between 1 and 100000`,
		`webhooks[2].name: is required`,
		`webhooks[2].url: "http:" has no host`,
		`webhooks[2].secret: must be at least 16 characters`,
		`webhooks[3].name: "deploy" is also the name of webhooks[0]`,
		`webhooks[3].url: "http://h/#x" must not have a fragment`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}

	// A password in a URL is never repeated in a message.
	err = (webhook.Config{Hooks: []webhook.Hook{{Name: "x", URL: "gopher://user:hunter2hunter2@host/", Secret: secret}}}).Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want one without the password", err)
	}

	var many []webhook.Hook
	for i := range webhook.MaxHooks + 1 {
		h := good
		h.Name = fmt.Sprintf("h%d", i)
		many = append(many, h)
	}
	if err := (webhook.Config{Hooks: many}).Validate(); err == nil || !strings.Contains(err.Error(), "at most 32") {
		t.Errorf("%d hooks: %v", len(many), err)
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"event":"upload"}`)
	sig := webhook.Sign("key", body)
	// echo -n '{"event":"upload"}' | openssl dgst -sha256 -hmac key
	if sig != "sha256=5e8196a86db1c07cf086c4fd30f422c217ea72c9f9d5bd59c34e1c99e91c4b96" {
		t.Errorf("Sign = %q", sig)
	}
	if !webhook.Verify("key", body, sig) || !webhook.Verify("key", body, strings.ToUpper(sig[:6])+sig[6:]) {
		t.Error("Verify refuses its own signature")
	}
	for _, bad := range []string{"", "sha256=", sig[:len(sig)-1], webhook.Sign("other", body), "sha1=" + sig[7:]} {
		if webhook.Verify("key", body, bad) {
			t.Errorf("Verify accepts %q", bad)
		}
	}
	if webhook.Verify("key", []byte(`{"event":"delete"}`), sig) {
		t.Error("Verify accepts another body")
	}
}
