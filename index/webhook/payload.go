package webhook

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
)

// Payload is the JSON body of a delivery. Every field is always present
// (empty or 0 when it does not apply), so a receiver can read it without
// checks. An upload, as a Jenkins job would get it:
//
//	{
//	  "delivery": "5f0c7f0e-3b7a-4c1e-9a55-0c8f5d1f2a6b",
//	  "hook": "deploy",
//	  "attempt": 1,
//	  "sent_at": "2026-12-02T01:02:03.456789Z",
//	  "event": "upload",
//	  "occurred_at": "2026-12-02T01:02:03.123456Z",
//	  "audit_id": 4711,
//	  "actor": "ci",
//	  "project": "acme-svc",
//	  "version": "1.2.4.dev2",
//	  "filename": "acme_svc-1.2.4.dev2-py3-none-any.whl",
//	  "packagetype": "bdist_wheel",
//	  "url": "https://pypi.example.com/files/9f86d0.../acme_svc-1.2.4.dev2-py3-none-any.whl",
//	  "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//	  "size": 18734,
//	  "scope": "file",
//	  "reason": "",
//	  "detail": "",
//	  "index_url": "https://pypi.example.com/simple/"
//	}
//
// The receiver checks X-Pyindex-Signature-256 against the raw body first,
// then refuses a sent_at too far from its own clock (a replay: sent_at is
// set at each attempt and covered by the signature), then drops a delivery
// id it has already handled (a retry whose answer was lost). Deliveries of
// one hook are not ordered: order them by audit_id.
type Payload struct {
	// Delivery is the delivery's id, as in X-Pyindex-Delivery: the same on
	// every attempt.
	Delivery string `json:"delivery"`
	// Hook is the name of the [[webhooks]] entry.
	Hook string `json:"hook"`
	// Attempt counts the attempts at this delivery, from 1.
	Attempt int `json:"attempt"`
	// SentAt is when this attempt was made.
	SentAt time.Time `json:"sent_at"`
	// Event is one of Events.
	Event string `json:"event"`
	// OccurredAt is when the change was committed to the catalog.
	OccurredAt time.Time `json:"occurred_at"`
	// AuditID is the change's audit-log entry (GET /api/v1/audit), which
	// increases with every change.
	AuditID int64 `json:"audit_id"`
	// Actor is who made the change: a user or token owner, "cli:NAME",
	// "retention".
	Actor string `json:"actor"`
	// Project is the normalized project (or generic) name.
	Project string `json:"project"`
	// Version is the release's version; empty for a whole project.
	Version string `json:"version"`
	// Filename is the file's name; empty for a release or a project.
	Filename string `json:"filename"`
	// PackageType is "bdist_wheel" or "sdist" for an uploaded
	// distribution.
	PackageType string `json:"packagetype"`
	// URL is where this server serves the uploaded file (upload and
	// generic-upload).
	URL string `json:"url"`
	// SHA256 is the uploaded file's hex sha256.
	SHA256 string `json:"sha256"`
	// Size is the uploaded file's size in bytes.
	Size int64 `json:"size"`
	// Scope is what the event is about: "file", "release" or "project".
	Scope string `json:"scope"`
	// Reason is a yank's reason.
	Reason string `json:"reason"`
	// Detail is the audit entry's detail (for deletes: what went, and for
	// prunes the rule that chose it).
	Detail string `json:"detail"`
	// IndexURL is this server's simple index, for pip --index-url.
	IndexURL string `json:"index_url"`
}

// newPayload returns the payload of change ch delivered as event, with
// links under base (the server's URL, no trailing slash). The per-attempt
// fields are set when it is sent.
func newPayload(ch index.WebhookChange, event, base string) Payload {
	p := Payload{
		Event: event, OccurredAt: ch.At, AuditID: ch.ID, Actor: ch.Actor,
		Project: ch.Project, Version: ch.Version, Filename: ch.Filename,
		Detail: ch.Detail, IndexURL: base + "/simple/",
	}
	switch {
	case ch.Filename != "":
		p.Scope = "file"
	case ch.Version != "":
		p.Scope = "release"
	default:
		p.Scope = "project"
	}
	switch event {
	case EventUpload:
		p.SHA256, p.Size, p.PackageType = ch.SHA256, ch.Size, ch.PackageType
		if ch.SHA256 != "" {
			// The read side's file route (index/simple RouteFile).
			p.URL = base + "/files/" + ch.SHA256 + "/" + httpx.EscapeFilename(ch.Filename)
		}
	case EventGenericUpload:
		p.SHA256, p.Size = ch.SHA256, ch.Size
		if ch.Filename != "" {
			p.URL = base + "/generic/" + url.PathEscape(ch.Project) + "/" + url.PathEscape(ch.Version) + "/" +
				httpx.EscapeFilename(ch.Filename)
		}
	case EventYank:
		p.Reason, p.Detail = ch.Detail, ""
	case EventUnyank:
		p.Detail = ""
	}
	return p
}

// body returns the JSON sent for attempt n at delivery d, made at now: its
// stored payload with the delivery's fields.
func body(d index.WebhookDelivery, n int, now time.Time) ([]byte, error) {
	var p Payload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, err
	}
	p.Delivery, p.Hook, p.Attempt, p.SentAt = d.UUID, d.Hook, n, now.UTC().Truncate(time.Microsecond)
	return json.Marshal(p)
}

// trimBase returns base without its trailing slash.
func trimBase(base string) string { return strings.TrimSuffix(base, "/") }
