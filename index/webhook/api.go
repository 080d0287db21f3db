package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
)

// Register adds the webhooks' admin API to g (the server root):
//
//	GET /api/v1/webhooks                               the hooks, with counts and their last delivery
//	GET /api/v1/webhooks/NAME/deliveries?state=&limit= the hook's kept deliveries, newest first
//	GET /api/v1/webhooks/NAME/deliveries/ID            one delivery, with its payload
//	POST /api/v1/webhooks/NAME/deliveries/ID/retry     a failed delivery, sent again now
//	POST /api/v1/webhooks/NAME/ping                    a "ping" event sent now, and the receiver's answer
//
// Like the rest of the admin API, every route needs the admin scope
// without a project restriction. A hook's URL is shown without its
// password, and its secret never.
func (d *Dispatcher) Register(g *echo.Group) {
	g.GET("/api/v1/webhooks", d.adminOnly(d.listHooks))
	g.GET("/api/v1/webhooks/:name/deliveries", d.adminOnly(d.listDeliveries))
	g.GET("/api/v1/webhooks/:name/deliveries/:id", d.adminOnly(d.delivery))
	g.POST("/api/v1/webhooks/:name/deliveries/:id/retry", d.adminOnly(d.retry))
	g.POST("/api/v1/webhooks/:name/ping", d.adminOnly(d.ping))
}

// adminOnly refuses callers without the admin scope, or with a project
// restriction (as the admin API does: hooks see every project).
func (d *Dispatcher) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := d.auth.Require(c, index.ScopeAdmin)
		if err != nil {
			return err
		}
		if len(p.Projects) > 0 {
			return index.Errorf(index.ErrForbidden, "This token is limited to projects (%s) and cannot use the webhooks, which see every project",
				strings.Join(p.Projects, ", "))
		}
		c.Set(actorKey, index.Actor{Name: p.User, RemoteAddr: c.RealIP()})
		return next(c)
	}
}

const actorKey = "pyindex.webhook.actor"

// HookView is a hook as GET /api/v1/webhooks shows it.
type HookView struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Projects    []string `json:"projects"`
	Timeout     string   `json:"timeout"`
	MaxAttempts int      `json:"max_attempts"`
	Backoff     string   `json:"backoff"`
	MaxBackoff  string   `json:"max_backoff"`
	Keep        int      `json:"keep"`
	// Counts are the kept deliveries by state (pending, delivered, failed).
	Counts map[string]int `json:"counts"`
	// Last is the newest delivery, or null.
	Last *DeliveryView `json:"last_delivery"`
}

// DeliveryView is a delivery as the admin API shows it. Times that have
// not happened are null.
type DeliveryView struct {
	ID            string     `json:"id"`
	Event         string     `json:"event"`
	AuditID       int64      `json:"audit_id"`
	Project       string     `json:"project"`
	Version       string     `json:"version"`
	Filename      string     `json:"filename"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	// Payload is the body as last sent (byte for byte; before the first
	// attempt, as it will be sent but for sent_at); only in the view of
	// one delivery.
	Payload json.RawMessage `json:"payload,omitempty"`
}

func view(del index.WebhookDelivery, withPayload bool) DeliveryView {
	v := DeliveryView{ID: del.UUID, Event: del.Event, AuditID: del.AuditID, Project: del.Project, Version: del.Version,
		Filename: del.Filename, State: del.State, Attempts: del.Attempts, LastStatus: del.LastStatus,
		LastError: del.LastError, CreatedAt: del.CreatedAt, LastAttemptAt: timePtr(del.LastAttemptAt),
		NextAttemptAt: timePtr(del.NextAttemptAt), DeliveredAt: timePtr(del.DeliveredAt)}
	if del.State != index.WebhookPending {
		v.NextAttemptAt = nil
	}
	if withPayload {
		// The body as last sent (byte for byte: its signature checks with
		// the secret), or as the first attempt will send it but for
		// sent_at.
		n, at := del.Attempts, del.LastAttemptAt
		if n == 0 {
			n, at = 1, time.Time{}
		}
		if b, err := body(del, n, at); err == nil {
			v.Payload = b
		}
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (d *Dispatcher) listHooks(c echo.Context) error {
	ctx := c.Request().Context()
	out := []HookView{}
	for _, h := range d.hooks {
		counts, err := d.cat.WebhookCounts(ctx, h.Name)
		if err != nil {
			return err
		}
		v := HookView{Name: h.Name, URL: redact(h.URL), Events: h.Events, Projects: h.Projects,
			Timeout: h.Timeout.String(), MaxAttempts: h.MaxAttempts, Backoff: h.Backoff.String(),
			MaxBackoff: h.MaxBackoff.String(), Keep: h.Keep, Counts: counts}
		if len(v.Events) == 0 {
			v.Events = slices.Clone(Events)
		}
		if v.Projects == nil {
			v.Projects = []string{}
		}
		last, err := d.cat.WebhookDeliveries(ctx, h.Name, "", 1)
		if err != nil {
			return err
		}
		if len(last) == 1 {
			lv := view(last[0], false)
			v.Last = &lv
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": out})
}

// hookParam returns the hook the path names, or 404.
func (d *Dispatcher) hookParam(c echo.Context) (*hook, error) {
	name := httpx.Param(c, "name")
	h, ok := d.byName[name]
	if !ok {
		return nil, index.Errorf(index.ErrNotFound, "No webhook named %q is configured", name)
	}
	return h, nil
}

func (d *Dispatcher) listDeliveries(c echo.Context) error {
	h, err := d.hookParam(c)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	switch state {
	case "", index.WebhookPending, index.WebhookDelivered, index.WebhookFailed:
	default:
		return index.Errorf(index.ErrInvalid, "state must be pending, delivered or failed, not %q", state)
	}
	limit := 50
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return index.Errorf(index.ErrInvalid, "limit must be a positive integer")
		}
		limit = min(n, 1000)
	}
	ds, err := d.cat.WebhookDeliveries(c.Request().Context(), h.Name, state, limit)
	if err != nil {
		return err
	}
	out := make([]DeliveryView, 0, len(ds))
	for _, del := range ds {
		out = append(out, view(del, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"hook": h.Name, "deliveries": out})
}

func (d *Dispatcher) delivery(c echo.Context) error {
	h, err := d.hookParam(c)
	if err != nil {
		return err
	}
	id := httpx.Param(c, "id")
	del, err := d.cat.WebhookDeliveryByUUID(c.Request().Context(), h.Name, id)
	if errors.Is(err, index.ErrNotFound) {
		return index.Errorf(index.ErrNotFound, "Webhook %s has no delivery %q (only its newest %d are kept)", h.Name, id, h.Keep)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(del, true))
}

// retry makes a failed delivery pending again and wakes its hook; the
// answer is the delivery as it now is (202: it is being sent).
func (d *Dispatcher) retry(c echo.Context) error {
	h, err := d.hookParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := httpx.Param(c, "id")
	who, _ := c.Get(actorKey).(index.Actor)
	err = d.cat.RetryWebhookDelivery(ctx, h.Name, id, time.Now(), who)
	if errors.Is(err, index.ErrNotFound) {
		return index.Errorf(index.ErrNotFound, "Webhook %s has no delivery %q (only its newest %d are kept)", h.Name, id, h.Keep)
	}
	if err != nil {
		return err
	}
	h.signal()
	del, err := d.cat.WebhookDeliveryByUUID(ctx, h.Name, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, view(del, false))
}

// PingResult is the answer of POST /api/v1/webhooks/NAME/ping.
type PingResult struct {
	// Delivery is the ping's delivery id.
	Delivery string `json:"delivery"`
	// OK is true when the receiver answered 2xx.
	OK bool `json:"ok"`
	// Status is the receiver's HTTP status; 0 when it gave none.
	Status int `json:"status"`
	// Error says what went wrong; empty when OK.
	Error string `json:"error"`
	// Duration is how long the attempt took.
	Duration string `json:"duration"`
}

// ping sends the hook a "ping" event at once, signed like every delivery,
// and answers with the receiver's status: a check of a new hook's URL,
// secret and receiver. It is not queued, retried or recorded.
func (d *Dispatcher) ping(c echo.Context) error {
	h, err := d.hookParam(c)
	if err != nil {
		return err
	}
	who, _ := c.Get(actorKey).(index.Actor)
	now := time.Now().Truncate(time.Microsecond)
	raw, err := json.Marshal(Payload{Event: EventPing, OccurredAt: now, Actor: who.Name, IndexURL: d.base + "/simple/"})
	if err != nil {
		return err
	}
	del := index.WebhookDelivery{UUID: uuid.NewString(), Hook: h.Name, Event: EventPing, Payload: raw}
	status, _, sendErr := d.send(c.Request().Context(), h, del, 1, now)
	res := PingResult{Delivery: del.UUID, OK: sendErr == nil, Status: status,
		Duration: time.Since(now).Round(time.Millisecond).String()}
	if sendErr != nil {
		res.Error = bounded(sendErr.Error())
	}
	return c.JSON(http.StatusOK, res)
}
