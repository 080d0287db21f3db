package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/pep503"
)

// The events a hook can ask for, named as the audit log names the changes.
const (
	EventUpload        = "upload"         // a file was uploaded (twine, the legacy API)
	EventYank          = "yank"           // a release was yanked (PEP 592)
	EventUnyank        = "unyank"         // a release's yank was undone
	EventDelete        = "delete"         // a project, release or file was deleted (or pruned)
	EventGenericUpload = "generic-upload" // a generic file was uploaded
	EventGenericDelete = "generic-delete" // a generic file was deleted
)

// EventPing is the event of POST /api/v1/webhooks/NAME/ping: a check of
// the hook, sent whatever its events.
const EventPing = "ping"

// Events lists every event, in the order the documentation gives them.
var Events = []string{EventUpload, EventYank, EventUnyank, EventDelete, EventGenericUpload, EventGenericDelete}

// eventOf maps an audit action to the event it is delivered as. Prunes
// (by hand or by retention) are deletes: the files are gone either way,
// and the payload's detail says why.
func eventOf(action string) (string, bool) {
	if action == "prune" {
		return EventDelete, true
	}
	return action, slices.Contains(Events, action)
}

// MaxHooks bounds the number of [[webhooks]] entries: each has a goroutine
// and its own kept deliveries.
const MaxHooks = 32

// The defaults of a hook's optional keys (a key left out, or 0).
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 8
	DefaultBackoff     = 10 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultKeep        = 100
)

// Hook is a [[webhooks]] entry: where to send which changes, and how.
type Hook struct {
	// Name identifies the hook in the admin API, the logs and its kept
	// deliveries (letters, digits, '.', '_', '-'; unique). It is required:
	// pending retries belong to it, so a position would send them to
	// another receiver once the entries are reordered.
	Name string `toml:"name"`
	// URL is where deliveries are POSTed (http or https). Credentials in
	// it (https://user:token@host/...) are sent as Basic authentication
	// and never shown.
	URL string `toml:"url"`
	// Events are the events to deliver (see Events); empty: all of them.
	Events []string `toml:"events"`
	// Projects limits deliveries to these projects (or generic names):
	// names or shell patterns ("acme-*"), compared normalized. Empty: all.
	Projects []string `toml:"projects"`
	// Secret keys the HMAC-SHA256 signature of every body (at least 16
	// characters).
	Secret string `toml:"secret"`
	// Timeout bounds one attempt, from connecting to the end of the
	// answer (0: DefaultTimeout).
	Timeout time.Duration `toml:"timeout"`
	// MaxAttempts is how often a delivery is tried before it is marked
	// failed (0: DefaultMaxAttempts).
	MaxAttempts int `toml:"max_attempts"`
	// Backoff is the wait before the first retry; each further retry waits
	// twice as long, up to MaxBackoff, less a random part of up to half
	// (jitter). 0: DefaultBackoff.
	Backoff time.Duration `toml:"backoff"`
	// MaxBackoff caps the wait between attempts (0: DefaultMaxBackoff).
	MaxBackoff time.Duration `toml:"max_backoff"`
	// Keep is how many of the hook's newest deliveries the catalog keeps
	// (for the admin API); older ones are deleted, pending or not
	// (0: DefaultKeep).
	Keep int `toml:"keep"`
}

// withDefaults fills the optional keys left at 0.
func (h Hook) withDefaults() Hook {
	if h.Timeout == 0 {
		h.Timeout = DefaultTimeout
	}
	if h.MaxAttempts == 0 {
		h.MaxAttempts = DefaultMaxAttempts
	}
	if h.Backoff == 0 {
		h.Backoff = DefaultBackoff
	}
	if h.MaxBackoff == 0 {
		h.MaxBackoff = DefaultMaxBackoff
	}
	if h.Keep == 0 {
		h.Keep = DefaultKeep
	}
	return h
}

// wants reports whether the hook delivers event for project (normalized).
func (h Hook) wants(event, project string) bool {
	if len(h.Events) > 0 && !slices.Contains(h.Events, event) {
		return false
	}
	if len(h.Projects) == 0 {
		return true
	}
	for _, p := range h.Projects {
		if ok, _ := path.Match(normalizePattern(p), project); ok {
			return true
		}
	}
	return false
}

// normalizePattern normalizes the name parts of a project pattern (PEP
// 503: lower case, runs of '-', '_' and '.' as one '-'), keeping its '*',
// '?' and '[...]' as they are.
func normalizePattern(p string) string {
	p = strings.ToLower(p)
	return separators.ReplaceAllString(p, "-")
}

var (
	separators = regexp.MustCompile(`[-_.]+`)
	hookName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	patternOK  = regexp.MustCompile(`^[A-Za-z0-9._*?\[\]-]+$`)
)

// Limits on the tuning keys, so that a typo cannot make a hook hammer its
// receiver or never finish.
const (
	maxTimeout     = 5 * time.Minute
	maxMaxAttempts = 50
	maxKeep        = 100000
	minSecret      = 16
)

// Config is the webhooks the server delivers: the [[webhooks]] entries.
type Config struct {
	Hooks []Hook
}

// Validate reports every invalid key of every hook, named as in the
// configuration file (webhooks[0].url, ...).
func (c Config) Validate() error {
	var errs []error
	if len(c.Hooks) > MaxHooks {
		errs = append(errs, fmt.Errorf("webhooks: %d entries; at most %d are allowed", len(c.Hooks), MaxHooks))
	}
	names := map[string]int{}
	for i, raw := range c.Hooks {
		bad := func(key, format string, args ...any) {
			errs = append(errs, fmt.Errorf("webhooks[%d].%s: %s", i, key, fmt.Sprintf(format, args...)))
		}
		switch {
		case raw.Name == "":
			bad("name", "is required (it names the hook in the admin API and keys its deliveries)")
		case !hookName.MatchString(raw.Name):
			bad("name", "%q must be letters, digits, '.', '_' or '-' (at most 64)", raw.Name)
		default:
			if j, dup := names[raw.Name]; dup {
				bad("name", "%q is also the name of webhooks[%d]", raw.Name, j)
			} else {
				names[raw.Name] = i
			}
		}
		if err := checkURL(raw.URL); err != nil {
			bad("url", "%v", err)
		}
		seen := map[string]bool{}
		for _, e := range raw.Events {
			switch {
			case !slices.Contains(Events, e):
				bad("events", "%q is not an event (%s)", e, strings.Join(Events, ", "))
			case seen[e]:
				bad("events", "%q is listed twice", e)
			}
			seen[e] = true
		}
		for _, p := range raw.Projects {
			_, err := path.Match(p, "")
			switch {
			case !patternOK.MatchString(p) || err != nil:
				bad("projects", "%q is neither a project name nor a pattern like \"acme-*\"", p)
			case !strings.ContainsAny(p, "*?[") && !pep503.Valid(p):
				bad("projects", "%q is not a valid project name", p)
			}
		}
		if len(raw.Secret) < minSecret {
			bad("secret", "must be at least %d characters (the receiver checks the signature with it)", minSecret)
		}
		h := raw.withDefaults()
		if h.Timeout < 0 || h.Timeout > maxTimeout {
			bad("timeout", "must be positive and at most %s", maxTimeout)
		}
		if h.MaxAttempts < 1 || h.MaxAttempts > maxMaxAttempts {
			bad("max_attempts", "must be between 1 and %d", maxMaxAttempts)
		}
		if h.Backoff < 0 {
			bad("backoff", "must be positive")
		}
		if h.MaxBackoff < 0 {
			bad("max_backoff", "must be positive")
		} else if h.Backoff > h.MaxBackoff {
			bad("max_backoff", "%s is less than backoff (%s)", h.MaxBackoff, h.Backoff)
		}
		if h.Keep < 1 || h.Keep > maxKeep {
			bad("keep", "must be between 1 and %d", maxKeep)
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts an absolute http or https URL with a host and no
// fragment.
func checkURL(s string) error {
	if s == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redact(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must be an http or https URL", redact(s))
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", redact(s))
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment (#...)", redact(s))
	}
	return nil
}

// redact returns the URL s with its password and query values replaced
// (receivers such as Jenkins' Generic Webhook Trigger and GitLab's pipeline
// triggers take a token in the query), for messages and the admin API; a
// string that does not parse is cut to its scheme.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.Index(s, "://"); i >= 0 {
			return s[:i+3] + "..."
		}
		return "..."
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
