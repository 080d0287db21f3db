package index_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

// TestWebhookState: the cursor starts at the end of the log once, queueing
// is a compare-and-set on it, a delivery is claimed once per attempt, and
// trimming keeps each hook's newest.
func TestWebhookState(t *testing.T) {
	ctx := context.Background()
	cat, store := indextest.Catalog(t), indextest.Store(t)
	now := time.Now()
	indextest.SeedDist(t, cat, store, "acme_core-1.0-py3-none-any.whl")
	if _, ok, err := cat.WebhookCursor(ctx); ok || err != nil {
		t.Fatalf("a new catalog has a cursor (%v)", err)
	}
	pos, err := cat.StartWebhookCursor(ctx, now)
	if err != nil || pos != 1 {
		t.Fatalf("StartWebhookCursor = %d, %v; want the end of the log (1)", pos, err)
	}
	f := indextest.Seed(t, cat, store, "acme_core-1.1-py3-none-any.whl", mustWheel(t, "acme_core", "1.1"))
	if again, _ := cat.StartWebhookCursor(ctx, now); again != 1 {
		t.Errorf("a second start moved the cursor to %d", again)
	}
	changes, err := cat.WebhookChanges(ctx, pos, 10)
	if err != nil || len(changes) != 1 {
		t.Fatalf("changes %+v, %v", changes, err)
	}
	if ch := changes[0]; ch.ID != 2 || ch.Action != "upload" || ch.SHA256 != f.SHA256 || ch.Size != f.Size || ch.PackageType != "bdist_wheel" {
		t.Errorf("change %+v", ch)
	}

	nd := func(hook, uuid string, audit int64) index.NewWebhookDelivery {
		return index.NewWebhookDelivery{UUID: uuid, Hook: hook, AuditID: audit, Event: "upload", Project: "acme-core",
			Payload: []byte(`{"event":"upload"}`), Due: now}
	}
	moved, _, err := cat.QueueWebhookDeliveries(ctx, 1, 2, []index.NewWebhookDelivery{nd("a", "u1", 2), nd("b", "u2", 2)}, nil, now)
	if err != nil || !moved {
		t.Fatalf("queue: %v, %v", moved, err)
	}
	// A second process that read the same entries changes nothing.
	moved, _, err = cat.QueueWebhookDeliveries(ctx, 1, 2, []index.NewWebhookDelivery{nd("a", "u3", 2)}, nil, now)
	if err != nil || moved {
		t.Fatalf("a stale queue: %v, %v", moved, err)
	}
	if ds, _ := cat.WebhookDeliveries(ctx, "a", "", 10); len(ds) != 1 || ds[0].UUID != "u1" {
		t.Fatalf("deliveries of a: %+v", ds)
	}

	due, err := cat.DueWebhookDeliveries(ctx, "a", now, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due %+v, %v", due, err)
	}
	lease := now.Add(time.Minute)
	if ok, err := cat.ClaimWebhookDelivery(ctx, due[0], now, lease); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if ok, _ := cat.ClaimWebhookDelivery(ctx, due[0], now, lease); ok {
		t.Error("claimed twice")
	}
	if d, _ := cat.DueWebhookDeliveries(ctx, "a", now, 10); len(d) != 0 {
		t.Errorf("a claimed delivery is due: %+v", d)
	}
	if next, ok, _ := cat.NextWebhookAttempt(ctx, "a"); !ok || !next.Equal(lease.Truncate(time.Microsecond)) {
		t.Errorf("next attempt %v, %v; want the lease's end %v", next, ok, lease)
	}
	if err := cat.FinishWebhookAttempt(ctx, due[0].ID, index.WebhookAttempt{State: index.WebhookDelivered, Status: 204, At: now}); err != nil {
		t.Fatal(err)
	}
	d, err := cat.WebhookDeliveryByUUID(ctx, "a", "u1")
	if err != nil || d.State != index.WebhookDelivered || d.Attempts != 1 || d.LastStatus != 204 || !d.NextAttemptAt.IsZero() || d.DeliveredAt.IsZero() {
		t.Errorf("delivered: %+v, %v", d, err)
	}
	if _, err := cat.WebhookDeliveryByUUID(ctx, "b", "u1"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("another hook's delivery: %v", err)
	}
	if err := cat.FinishWebhookAttempt(ctx, 999, index.WebhookAttempt{State: index.WebhookFailed}); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("finishing an unknown delivery: %v", err)
	}
	if err := cat.FinishWebhookAttempt(ctx, d.ID, index.WebhookAttempt{State: "lost"}); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("an unknown state: %v", err)
	}

	// Trimming: keep 2 of b's; the pending ones deleted are counted.
	var more []index.NewWebhookDelivery
	for i := int64(3); i <= 6; i++ {
		more = append(more, nd("b", "b"+string(rune('0'+i)), i))
	}
	_, dropped, err := cat.QueueWebhookDeliveries(ctx, 2, 6, more, map[string]int{"b": 2}, now)
	if err != nil || dropped != 3 {
		t.Fatalf("trim: dropped %d, %v; want 3", dropped, err)
	}
	ds, _ := cat.WebhookDeliveries(ctx, "b", "", 10)
	if len(ds) != 2 || ds[0].UUID != "b6" || ds[1].UUID != "b5" {
		t.Errorf("kept %+v", ds)
	}
	counts, err := cat.WebhookCounts(ctx, "b")
	if err != nil || counts[index.WebhookPending] != 2 || counts[index.WebhookDelivered] != 0 {
		t.Errorf("counts %v, %v", counts, err)
	}

	// Deliveries of hooks no longer configured go once they are old.
	if n, err := cat.ForgetWebhookDeliveries(ctx, []string{"b"}, now); err != nil || n != 0 {
		t.Errorf("forgot %d recent deliveries (%v)", n, err)
	}
	if n, err := cat.ForgetWebhookDeliveries(ctx, []string{"b", "c"}, now.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("forgot %d old deliveries of a, want 1 (%v)", n, err)
	}
	if ds, _ := cat.WebhookDeliveries(ctx, "b", "", 10); len(ds) != 2 {
		t.Errorf("a configured hook's deliveries went: %+v", ds)
	}
	if n, err := cat.ForgetWebhookDeliveries(ctx, nil, now.Add(time.Second)); err != nil || n != 2 {
		t.Errorf("with no hooks, forgot %d, want 2 (%v)", n, err)
	}

	if err := cat.ResetWebhookCursor(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := cat.WebhookCursor(ctx); ok {
		t.Error("the cursor survived a reset")
	}
	if pos, _ := cat.StartWebhookCursor(ctx, now); pos != 2 {
		t.Errorf("after a reset the cursor starts at %d, want the end of the log (2)", pos)
	}
}

func mustWheel(t *testing.T, name, version string) []byte {
	_, data := indextest.Wheel(t, name, version, "")
	return data
}

// TestWebhookChangesGeneric: a generic upload's size and sha256 come from
// its audit entry.
func TestWebhookChangesGeneric(t *testing.T) {
	ctx := context.Background()
	cat := indextest.Catalog(t)
	sha := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for _, e := range []index.Event{
		{Actor: "ci", Action: "generic-upload", Project: "myapp", Version: "1.4", Filename: "myapp.zip", Detail: "18734 bytes, sha256 " + sha},
		{Actor: "ci", Action: "generic-upload", Project: "odd", Version: "1", Filename: "x.zip", Detail: "something else"},
	} {
		if err := cat.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	changes, err := cat.WebhookChanges(ctx, 0, 10)
	if err != nil || len(changes) != 2 {
		t.Fatalf("changes %+v, %v", changes, err)
	}
	if c := changes[0]; c.Size != 18734 || c.SHA256 != sha {
		t.Errorf("generic upload: size %d, sha256 %q", c.Size, c.SHA256)
	}
	if c := changes[1]; c.Size != 0 || c.SHA256 != "" {
		t.Errorf("an unreadable detail gave size %d, sha256 %q", c.Size, c.SHA256)
	}
}
