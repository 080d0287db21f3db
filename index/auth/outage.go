package auth

import (
	"crypto/sha256"
	"errors"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/cache"
)

// outageTTL is how long a credential Resolve verified may still read
// while the catalog is unavailable. Nothing can revoke it meanwhile (a
// revocation is a write, and no write commits while the catalog is
// down), so the bound is for a credential revoked just before the outage
// that this replica had not yet heard of, and for a long outage.
const outageTTL = 10 * time.Minute

// verifiedCredentials remembers the principals of credentials Resolve
// verified recently, keyed by a SHA-256 of the Authorization header
// (never the secret itself), for reads while the catalog is unavailable.
type verifiedCredentials struct {
	m *cache.Map[[32]byte, verified]
}

type verified struct {
	p  index.Principal
	at time.Time
}

func newVerifiedCredentials() *verifiedCredentials {
	return &verifiedCredentials{m: cache.New[[32]byte, verified](10000)}
}

// remember records that authorization verified as p just now.
func (v *verifiedCredentials) remember(authorization string, p index.Principal) {
	v.m.Put(sha256.Sum256([]byte(authorization)), verified{p: p, at: time.Now()})
}

// duringOutage returns the Result of authorization when checking it
// failed with err because the catalog is unavailable: a credential
// verified within outageTTL reads as before (its scope lowered to read),
// with Unverified set so that Check refuses anything more with err; any
// other credential gets err.
func (v *verifiedCredentials) duringOutage(authorization string, err error) (Result, bool) {
	if !errors.Is(err, index.ErrUnavailable) {
		return Result{}, false
	}
	k, ok := v.m.Get(sha256.Sum256([]byte(authorization)))
	if !ok || time.Since(k.at) > outageTTL {
		return Result{}, false
	}
	p := k.p
	p.Scope = min(p.Scope, index.ScopeRead)
	return Result{Principal: p, Present: true, Unverified: err}, true
}
