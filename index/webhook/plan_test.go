package webhook

import (
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
)

// TestPlanWaitsForHoles: the log is handled up to a hole in the ids (a
// transaction still committing, with PostgreSQL) until the hole is older
// than gapWait; then it is taken as a rollback and passed.
func TestPlanWaitsForHoles(t *testing.T) {
	d := &Dispatcher{hooks: []*hook{{Hook: Hook{Name: "all"}.withDefaults()}}, base: "https://x"}
	now := time.Now()
	ch := func(id int64, age time.Duration) index.WebhookChange {
		return index.WebhookChange{Event: index.Event{ID: id, At: now.Add(-age), Action: "upload", Project: "p"}}
	}
	for _, c := range []struct {
		name    string
		changes []index.WebhookChange
		through int64
		queued  int
	}{
		{"contiguous", []index.WebhookChange{ch(11, 0), ch(12, 0), ch(13, 0)}, 13, 3},
		{"young hole", []index.WebhookChange{ch(11, 0), ch(13, 0)}, 11, 1},
		{"young hole first", []index.WebhookChange{ch(12, 0)}, 10, 0},
		{"old hole", []index.WebhookChange{ch(11, 0), ch(13, gapWait+time.Second), ch(14, 0)}, 14, 3},
		{"other actions count", []index.WebhookChange{{Event: index.Event{ID: 11, At: now, Action: "user add"}}, ch(12, 0)}, 12, 1},
	} {
		through, ds := d.plan(10, c.changes, now)
		if through != c.through || len(ds) != c.queued {
			t.Errorf("%s: through %d with %d deliveries, want %d with %d", c.name, through, len(ds), c.through, c.queued)
		}
	}
}

func TestBackoff(t *testing.T) {
	h := &hook{Hook: Hook{Backoff: time.Second, MaxBackoff: 10 * time.Second}}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		for range 20 {
			if got := h.backoff(n); got < want/2 || got > want {
				t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, got, want/2, want)
			}
		}
	}
	// Jitter: not always the same.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[h.backoff(3)] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter")
	}
}
