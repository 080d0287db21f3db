package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The headers of every delivery, beside Content-Type: application/json and
// User-Agent: pyindex-webhook/VERSION.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// body, keyed with the hook's secret (as GitHub's
	// X-Hub-Signature-256).
	SignatureHeader = "X-Pyindex-Signature-256"
	// EventHeader names the event (the body's "event").
	EventHeader = "X-Pyindex-Event"
	// DeliveryHeader is the delivery's id (the body's "delivery"): the
	// same on every attempt at it, so a receiver can drop repeats.
	DeliveryHeader = "X-Pyindex-Delivery"
	// HookHeader names the hook (the body's "hook").
	HookHeader = "X-Pyindex-Hook"
)

// Sign returns the value of SignatureHeader for body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header (a SignatureHeader value) is body's
// signature with secret, comparing in constant time. Receivers written in
// Go can use it; the README shows the same check in Python.
func Verify(secret string, body []byte, header string) bool {
	want := Sign(secret, body)
	return len(header) == len(want) && hmac.Equal([]byte(strings.ToLower(header)), []byte(want))
}
