// Package webhook delivers the catalog's changes (uploads, yanks, unyanks,
// deletes, generic files) to the [[webhooks]] of the configuration: a JSON
// body (Payload) POSTed with an HMAC-SHA256 signature (Sign), retried with
// exponential backoff and jitter, each delivery recorded in the catalog and
// shown by the admin API (API).
//
// Deliveries are driven by the catalog's audit log, not by the request
// that made a change: every change writes its audit entry in its own
// transaction, so a Dispatcher that reads the entries after the last one it
// handled sees every change, made by this server, the CLI or another
// server on the same catalog, and never slows or fails the request. Its
// position and its queued deliveries live in the catalog, so a restart
// loses nothing; a first start begins at the end of the log. Several
// servers on one catalog queue each change once and send each delivery once
// (the catalog's claims are compare-and-set).
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/storage"
)

// Deps are what a Dispatcher works with.
type Deps struct {
	// Catalog holds the audit log and the deliveries (required).
	Catalog *index.Catalog
	// Auth authorizes the admin API (required).
	Auth *auth.Service
	// Log receives failed deliveries and the dispatcher's errors; nil:
	// slog.Default().
	Log *slog.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// BaseURL is this server's external URL (index.base_url), for the
	// links in payloads; empty: the URL Start is given.
	BaseURL string
	// UserAgent is sent with every delivery; empty: "pyindex-webhook".
	UserAgent string
}

// How the dispatcher learns of changes and paces itself.
const (
	// signalInterval is how often the catalog's change token is read (a few
	// memory loads with SQLite); the log is read only when it moved.
	signalInterval = 100 * time.Millisecond
	// pollInterval is how often the log and the queue are read even when
	// the token did not move (a missed signal, another server's queue).
	pollInterval = 10 * time.Second
	// gapWait is how long a hole in the audit ids is waited for before it
	// is taken as a transaction that rolled back: with PostgreSQL an id is
	// taken before its transaction commits, so a later id can be seen
	// first. SQLite never leaves holes.
	gapWait = 10 * time.Second
	// batch is how many audit entries and due deliveries are read at once.
	batch = 256
	// leaseSlack is added to a hook's timeout for the claim of an attempt.
	leaseSlack = 30 * time.Second
	// errorWait is the pause after the catalog failed.
	errorWait = 5 * time.Second
	// maxErrorLen bounds a recorded error, maxAnswer the receiver's answer
	// read (its start is kept in the error), maxDrain what is read after it
	// to reuse the connection.
	maxErrorLen = 500
	maxAnswer   = 256
	maxDrain    = 64 << 10
	// maxRedirects bounds the same-host 307/308 redirects followed.
	maxRedirects = 3
	// forgetAfter is how long the deliveries of a hook no longer
	// configured are kept.
	forgetAfter = 30 * 24 * time.Hour
)

// Delivery results, the label of pyindex_webhook_deliveries_total.
const (
	ResultDelivered = "delivered" // the receiver answered 2xx
	ResultRetry     = "retry"     // an attempt failed; it is tried again later
	ResultFailed    = "failed"    // the last allowed attempt failed
	ResultDropped   = "dropped"   // trimmed (keep) before it was delivered
)

// Dispatcher queues and sends the configured hooks' deliveries. Start
// starts it, Stop stops it; Register adds its admin API.
type Dispatcher struct {
	cat       *index.Catalog
	auth      *auth.Service
	log       *slog.Logger
	base      string
	userAgent string
	hooks     []*hook
	byName    map[string]*hook

	deliveries *prometheus.CounterVec
	duration   prometheus.Histogram

	mu     sync.Mutex
	cancel context.CancelFunc // nil until Start
	wg     sync.WaitGroup
}

// hook is a configured hook with its client and wake-up signal.
type hook struct {
	Hook
	client *http.Client
	wake   chan struct{}
}

// New returns a dispatcher of cfg's hooks (validated here) over
// deps.Catalog, registering pyindex_webhook_deliveries_total (by result)
// and pyindex_webhook_attempt_duration_seconds on deps.Registerer. With no
// hooks it sends nothing, and Start forgets the log position (see
// index.Catalog.ResetWebhookCursor).
func New(cfg Config, deps Deps) (*Dispatcher, error) {
	if deps.Catalog == nil || deps.Auth == nil {
		return nil, errors.New("webhook.New: nil catalog or auth")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.BaseURL != "" {
		if err := checkURL(deps.BaseURL); err != nil {
			return nil, fmt.Errorf("webhook.New: base URL %w", err)
		}
	}
	d := &Dispatcher{cat: deps.Catalog, auth: deps.Auth, log: deps.Log, base: trimBase(deps.BaseURL),
		userAgent: deps.UserAgent, byName: map[string]*hook{}}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.log = d.log.With("component", "webhook")
	if d.userAgent == "" {
		d.userAgent = "pyindex-webhook"
	}
	d.deliveries = storage.Register(deps.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "pyindex", Subsystem: "webhook", Name: "deliveries_total",
		Help: "Webhook delivery attempts and outcomes by result: delivered (2xx), retry (an attempt failed and is tried again), " +
			"failed (the last attempt failed), dropped (deleted by keep before it was delivered).",
	}, []string{"result"}))
	d.duration = storage.Register(deps.Registerer, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "pyindex", Subsystem: "webhook", Name: "attempt_duration_seconds",
		Help:    "How long webhook delivery attempts took, until the receiver's answer or the failure.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}))
	for _, r := range []string{ResultDelivered, ResultRetry, ResultFailed, ResultDropped} {
		d.deliveries.WithLabelValues(r)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 2
	transport.ResponseHeaderTimeout = 0 // the client's Timeout covers the whole attempt
	for _, h := range cfg.Hooks {
		h = h.withDefaults()
		h.Projects = slices.Clone(h.Projects)
		for i, p := range h.Projects {
			h.Projects[i] = normalizePattern(p)
		}
		hk := &hook{Hook: h, wake: make(chan struct{}, 1)}
		hk.client = &http.Client{Timeout: h.Timeout, Transport: transport, CheckRedirect: sameHostRedirect}
		d.hooks = append(d.hooks, hk)
		d.byName[h.Name] = hk
	}
	return d, nil
}

// sameHostRedirect follows only 307 and 308 redirects (which keep the POST
// and its body) to the same host, without a downgrade to http, at most
// maxRedirects times: a receiver cannot send a signed body elsewhere.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.Response != nil && req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect {
		return fmt.Errorf("redirected (%d) to %s: webhooks follow only 307 and 308 redirects, which keep the POST", req.Response.StatusCode, req.URL.Redacted())
	}
	if !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("redirected to another host (%s): webhooks are sent only to the configured host", req.URL.Redacted())
	}
	if first.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirected from https to %s", req.URL.Redacted())
	}
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// Start positions the dispatcher in the audit log (at its end on a first
// start; where it stopped on a restart) and starts its goroutines: one that
// queues deliveries for new changes, one per hook that sends them. With no
// hooks it forgets the position and starts nothing. serverURL is the URL
// the server listens on, for the links in payloads when Deps.BaseURL is
// empty. It is called once.
func (d *Dispatcher) Start(ctx context.Context, serverURL string) error {
	names := make([]string, len(d.hooks))
	for i, h := range d.hooks {
		names[i] = h.Name
	}
	if n, err := d.cat.ForgetWebhookDeliveries(ctx, names, time.Now().Add(-forgetAfter)); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	} else if n > 0 {
		d.log.Info("deleted the old deliveries of webhooks no longer configured", "count", n)
	}
	if len(d.hooks) == 0 {
		return d.cat.ResetWebhookCursor(ctx)
	}
	if d.base == "" {
		if err := checkURL(serverURL); err != nil {
			return fmt.Errorf("webhooks: server URL %w", err)
		}
		d.base = trimBase(serverURL)
	}
	if _, err := d.cat.StartWebhookCursor(ctx, time.Now()); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel != nil {
		return errors.New("webhooks: started twice")
	}
	d.log.Info("webhooks deliver the catalog's changes", "hooks", strings.Join(names, ", "), "links", d.base)
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.wg.Add(1 + len(d.hooks))
	go d.watch(ctx)
	for _, h := range d.hooks {
		go d.work(ctx, h)
	}
	return nil
}

// Stop stops the goroutines, cutting attempts in flight (they are tried
// again at the next start), and waits for them. It may be called more than
// once, and without Start.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	cancel := d.cancel
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.wg.Wait()
}

// watch queues deliveries whenever the catalog's change token moves, and
// every pollInterval in any case.
func (d *Dispatcher) watch(ctx context.Context) {
	defer d.wg.Done()
	tick := time.NewTicker(signalInterval)
	defer tick.Stop()
	last, polled := int64(-1), time.Time{}
	for {
		// The token is read before the log: a change committed after it
		// moves it again, so the next tick reads the log again.
		tok, tokErr := d.cat.ChangeToken()
		if tokErr != nil || tok != last || time.Since(polled) >= pollInterval {
			held, err := d.queue(ctx)
			switch {
			case err != nil:
				if ctx.Err() != nil {
					return
				}
				d.log.Error("reading the audit log for webhooks", "err", err)
				sleep(ctx, errorWait)
			case held:
				// Waiting for a hole in the ids to fill: read again at the
				// next tick, whatever the token.
			default:
				last, polled = tok, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// queue reads the audit log after the cursor and queues a delivery for
// every hook that wants each change, moving the cursor in the same
// transaction; then it wakes the hooks it queued for. held reports that it
// stopped at a hole in the ids (see plan).
func (d *Dispatcher) queue(ctx context.Context) (held bool, err error) {
	for {
		pos, ok, err := d.cat.WebhookCursor(ctx)
		if err != nil {
			return false, err
		}
		if !ok { // reset by a server started without hooks
			if pos, err = d.cat.StartWebhookCursor(ctx, time.Now()); err != nil {
				return false, err
			}
		}
		changes, err := d.cat.WebhookChanges(ctx, pos, batch)
		if err != nil || len(changes) == 0 {
			return false, err
		}
		now := time.Now()
		through, ds := d.plan(pos, changes, now)
		held = through != changes[len(changes)-1].ID
		if through == pos {
			return held, nil
		}
		keep := map[string]int{}
		for _, h := range d.hooks {
			keep[h.Name] = h.Keep
		}
		moved, dropped, err := d.cat.QueueWebhookDeliveries(ctx, pos, through, ds, keep, now)
		if err != nil {
			return false, err
		}
		if dropped > 0 {
			d.deliveries.WithLabelValues(ResultDropped).Add(float64(dropped))
			d.log.Warn("webhook deliveries deleted before they were delivered (keep)", "count", dropped)
		}
		if moved {
			for _, nd := range ds {
				d.byName[nd.Hook].signal()
			}
		}
		if held || len(changes) < batch {
			return held, nil
		}
	}
}

// plan returns the deliveries for changes (read after pos) and the id up
// to which they are handled: up to the first hole in the ids younger than
// gapWait, so that a change still committing (PostgreSQL) is not skipped.
func (d *Dispatcher) plan(pos int64, changes []index.WebhookChange, now time.Time) (int64, []index.NewWebhookDelivery) {
	through := pos
	var ds []index.NewWebhookDelivery
	for _, ch := range changes {
		if ch.ID != through+1 && now.Sub(ch.At) < gapWait {
			break
		}
		through = ch.ID
		event, ok := eventOf(ch.Action)
		if !ok {
			continue
		}
		for _, h := range d.hooks {
			if !h.wants(event, ch.Project) {
				continue
			}
			p := newPayload(ch, event, d.base)
			body, err := json.Marshal(p)
			if err != nil {
				d.log.Error("webhook payload", "err", err)
				continue
			}
			ds = append(ds, index.NewWebhookDelivery{UUID: uuid.NewString(), Hook: h.Name, AuditID: ch.ID, Event: event,
				Project: ch.Project, Version: ch.Version, Filename: ch.Filename, Payload: body, Due: now})
		}
	}
	return through, ds
}

// signal wakes the hook's sender without blocking.
func (h *hook) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// work sends h's due deliveries, then waits for the next one to be due, a
// signal, or pollInterval.
func (d *Dispatcher) work(ctx context.Context, h *hook) {
	defer d.wg.Done()
	for {
		wait := d.sendDue(ctx, h)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendDue sends h's due deliveries, oldest first, one at a time, and
// returns how long to wait for the next one.
func (d *Dispatcher) sendDue(ctx context.Context, h *hook) time.Duration {
	for ctx.Err() == nil {
		due, err := d.cat.DueWebhookDeliveries(ctx, h.Name, time.Now(), batch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("reading webhook deliveries", "hook", h.Name, "err", err)
			}
			return errorWait
		}
		if len(due) == 0 {
			break
		}
		claimed := 0
		for _, del := range due {
			if ctx.Err() != nil {
				return 0
			}
			if d.attempt(ctx, h, del) {
				claimed++
			}
		}
		if claimed == 0 {
			// Every claim failed: the catalog is failing (a claim lost to
			// another process leaves the delivery no longer due).
			return errorWait
		}
	}
	next, ok, err := d.cat.NextWebhookAttempt(ctx, h.Name)
	if err != nil || !ok {
		return pollInterval
	}
	return min(max(time.Until(next), time.Millisecond), pollInterval)
}

// attempt claims delivery del, sends it once and records the outcome. It
// returns false when it could not claim it.
func (d *Dispatcher) attempt(ctx context.Context, h *hook, del index.WebhookDelivery) bool {
	start := time.Now().Truncate(time.Microsecond) // as stored, so the recorded attempt time is sent_at
	claimed, err := d.cat.ClaimWebhookDelivery(ctx, del, start, start.Add(h.Timeout+leaseSlack))
	if err != nil || !claimed {
		if err != nil && ctx.Err() == nil {
			d.log.Error("claiming a webhook delivery", "hook", h.Name, "delivery", del.UUID, "err", err)
		}
		return false
	}
	n := del.Attempts + 1
	status, retryAfter, sendErr := d.send(ctx, h, del, n, start)
	end := time.Now()
	d.duration.Observe(end.Sub(start).Seconds())
	a := index.WebhookAttempt{Status: status, At: end}
	result := ResultDelivered
	switch {
	case sendErr == nil:
		a.State = index.WebhookDelivered
	case ctx.Err() != nil:
		// Stopping: due again at the next start, this attempt not held
		// against it beyond its count.
		a.State, a.Err, a.Next, result = index.WebhookPending, "cut short: the server stopped", end, ResultRetry
	case n >= h.MaxAttempts:
		a.State, a.Err, result = index.WebhookFailed, bounded(sendErr.Error()), ResultFailed
	default:
		a.State, a.Err, result = index.WebhookPending, bounded(sendErr.Error()), ResultRetry
		a.Next = end.Add(max(h.backoff(n), min(retryAfter, h.MaxBackoff)))
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), errorWait)
	defer cancel()
	if err := d.cat.FinishWebhookAttempt(fctx, del.ID, a); err != nil && !errors.Is(err, index.ErrNotFound) {
		d.log.Error("recording a webhook attempt", "hook", h.Name, "delivery", del.UUID, "err", err)
	}
	d.deliveries.WithLabelValues(result).Inc()
	switch result {
	case ResultRetry:
		d.log.Warn("webhook attempt failed; it is tried again", "hook", h.Name, "delivery", del.UUID, "event", del.Event,
			"attempt", n, "status", status, "err", a.Err, "next", a.Next.UTC().Format(time.RFC3339))
	case ResultFailed:
		d.log.Error("webhook delivery failed; no attempts left", "hook", h.Name, "delivery", del.UUID, "event", del.Event,
			"attempts", n, "status", status, "err", a.Err)
	}
	return true
}

// backoff returns the wait after the n-th failed attempt: Backoff doubled
// n-1 times, capped at MaxBackoff, of which a random part of up to half is
// taken off (jitter, so that retries of many deliveries spread out).
func (h *hook) backoff(n int) time.Duration {
	d := h.Backoff
	for i := 1; i < n && d < h.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, h.MaxBackoff)
	if half := int64(d / 2); half > 0 {
		d -= time.Duration(rand.Int64N(half + 1))
	}
	return d
}

// send POSTs attempt n at del to h and returns the receiver's status, its
// Retry-After (0 when none) and, unless it answered 2xx, what went wrong.
func (d *Dispatcher) send(ctx context.Context, h *hook, del index.WebhookDelivery, n int, now time.Time) (int, time.Duration, error) {
	b, err := body(del, n, now)
	if err != nil {
		return 0, 0, fmt.Errorf("stored payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(b))
	if err != nil {
		return 0, 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.userAgent)
	req.Header.Set(SignatureHeader, Sign(h.Secret, b))
	req.Header.Set(EventHeader, del.Event)
	req.Header.Set(DeliveryHeader, del.UUID)
	req.Header.Set(HookHeader, h.Name)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, 0, describe(err, h.Timeout)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	var retryAfter time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if text := printable(answer); text != "" {
		msg += ": " + text
	}
	return resp.StatusCode, retryAfter, errors.New(msg)
}

// describe says what a failed request did, without the URL (which may
// hold credentials; the hook is named beside it).
func describe(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s", timeout)
		}
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no answer within %s", timeout)
	}
	return err
}

// printable returns b as one line of valid UTF-8, control characters
// replaced.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// bounded cuts s to maxErrorLen bytes, on a rune boundary.
func bounded(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	s = s[:maxErrorLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
