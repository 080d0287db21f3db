package mirror

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/pep503"
)

// Config configures the mirror of an upstream index.
type Config struct {
	// Upstream is the simple-API root of the index mirrored (PyPI, a
	// bandersnatch tree, devpi, Artifactory, another pyindex). Empty turns
	// the mirror off.
	Upstream string `toml:"upstream"`
	// TTL is how long a cached page is served before the upstream is asked
	// again (with a conditional request).
	TTL time.Duration `toml:"ttl"`
	// NegativeTTL is how long an upstream 404 is remembered.
	NegativeTTL time.Duration `toml:"negative_ttl"`
	// Offline serves only what is cached and never contacts the upstream.
	Offline bool `toml:"offline"`
	// MergeUpstream lists hosted projects whose pages also show the
	// upstream's files. By default a hosted name hides the upstream project
	// entirely (dependency-confusion protection).
	MergeUpstream []string `toml:"merge_upstream"`
	// MinAge hides upstream files uploaded more recently than this (a
	// supply-chain cooldown); 0 turns it off. Files whose upload time the
	// upstream does not give count as uploaded when the mirror first saw
	// them.
	MinAge time.Duration `toml:"min_age"`
	// MinAgeExempt lists projects the cooldown does not apply to.
	MinAgeExempt []string `toml:"min_age_exempt"`
	// InternalNames are the site's own project names (patterns: * and ?
	// stand for characters, e.g. "acme-*"; compared as normalized names):
	// anyone who may upload may create such a project. The first upload of
	// any other project whose name the upstream serves needs an admin
	// (claim.go), since a hosted project hides the upstream's.
	InternalNames []string `toml:"internal_names"`
	// Username and Password are sent (HTTP basic) to the upstream's host
	// only, never to file hosts elsewhere.
	Username string `toml:"username"`
	Password string `toml:"password"`
	// Timeout bounds one upstream page request, and the wait for the
	// response headers of a file.
	Timeout time.Duration `toml:"timeout"`
	// FileTimeout bounds a whole file download from the upstream.
	FileTimeout time.Duration `toml:"file_timeout"`
	// UserAgent is sent to the upstream; empty means "pyindex-mirror/1".
	UserAgent string `toml:"user_agent"`
	// UpstreamChanged says what a mirror does when the catalog's cached
	// pages come from another upstream than Upstream (the catalog records
	// it): "refuse" to start (the default: pages of two indexes never
	// mix), "keep" them (each is refreshed from the new upstream when next
	// asked for, keeping the cached files it still lists), or "drop" them
	// (and the files only they used) and start afresh. Keep and drop act
	// once: the new upstream is then the recorded one.
	UpstreamChanged string `toml:"upstream_changed"`
}

// The values of Config.UpstreamChanged.
const (
	UpstreamChangedRefuse = "refuse"
	UpstreamChangedKeep   = "keep"
	UpstreamChangedDrop   = "drop"
)

// DefaultConfig returns the defaults: PyPI, a 10 minute TTL, no cooldown.
func DefaultConfig() Config {
	return Config{
		Upstream:      "https://pypi.org/simple/",
		TTL:           10 * time.Minute,
		NegativeTTL:   time.Minute,
		MergeUpstream: []string{},
		MinAgeExempt:  []string{},
		InternalNames: []string{},
		Timeout:       30 * time.Second,
		FileTimeout:   30 * time.Minute,

		UpstreamChanged: UpstreamChangedRefuse,
	}
}

// Enabled reports whether the mirror runs: an upstream is configured, or
// the mirror is offline (an air-gapped instance serving what was synced or
// imported, with no upstream to name).
func (c Config) Enabled() bool { return c.hasUpstream() || c.Offline }

func (c Config) hasUpstream() bool { return strings.TrimSpace(c.Upstream) != "" }

// Validate reports every invalid setting at once; keys are named as in the
// configuration file's [mirror] section.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mirror.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.hasUpstream() {
		u, err := url.Parse(c.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("upstream", "%q is not an absolute http(s) URL", redact(c.Upstream))
		} else if u.RawQuery != "" || u.Fragment != "" {
			bad("upstream", "must not have a query or fragment")
		}
	}
	if c.TTL < 0 {
		bad("ttl", "must not be negative")
	}
	if c.NegativeTTL < 0 {
		bad("negative_ttl", "must not be negative")
	}
	if c.MinAge < 0 {
		bad("min_age", "must not be negative")
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be positive")
	}
	if c.FileTimeout <= 0 {
		bad("file_timeout", "must be positive")
	}
	switch c.UpstreamChanged {
	case UpstreamChangedRefuse, UpstreamChangedKeep, UpstreamChangedDrop, "":
	default:
		bad("upstream_changed", "%q is not refuse, keep or drop", c.UpstreamChanged)
	}
	if (c.Username == "") != (c.Password == "") {
		bad("username", "username and password go together")
	}
	for _, n := range c.MergeUpstream {
		if !pep503.Valid(n) {
			bad("merge_upstream", "%q is not a valid project name", n)
		}
	}
	for _, n := range c.MinAgeExempt {
		if !pep503.Valid(n) {
			bad("min_age_exempt", "%q is not a valid project name", n)
		}
	}
	for _, n := range c.InternalNames {
		if _, ok := internalPattern(n); !ok {
			bad("internal_names", "%q is not a project name pattern (letters, digits, - _ . and the wildcards * and ?)", n)
		}
	}
	return errors.Join(errs...)
}

// redact hides the password of a URL with user information.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// RedactedUpstream is Upstream without the password of its user
// information, for logs.
func (c Config) RedactedUpstream() string { return redact(c.Upstream) }
