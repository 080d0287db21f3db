package index

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pyindex/pyindex/index/pep503"
)

// Scope is what a credential may do. Scopes are ordered: each includes the
// ones below it.
type Scope int

// The scopes, weakest first.
const (
	ScopeNone   Scope = iota
	ScopeRead         // read pages and files (matters when anonymous reads are off)
	ScopeUpload       // read, and upload to permitted projects
	ScopeAdmin        // everything, including the admin API
)

// ParseScope parses "read", "upload" or "admin".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return ScopeRead, nil
	case "upload":
		return ScopeUpload, nil
	case "admin":
		return ScopeAdmin, nil
	}
	return ScopeNone, Errorf(ErrInvalid, "scope %q (want read, upload or admin)", s)
}

func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeUpload:
		return "upload"
	case ScopeAdmin:
		return "admin"
	}
	return "none"
}

// MarshalText implements encoding.TextMarshaler.
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// TokenPrefix starts every token, so that secret scanners can recognise a
// leaked one.
const TokenPrefix = "pyi_"

// tokenEncoding is lower-case base32 without padding: 32 random bytes give
// 52 characters (256 bits of entropy).
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Token describes an API token (never its secret).
type Token struct {
	ID          int64      `json:"id"`
	User        string     `json:"user"`
	Scope       Scope      `json:"scope"`
	Projects    []string   `json:"projects"`
	Description string     `json:"description"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Revoked     bool       `json:"revoked"`
}

// NewToken is what CreateToken records.
type NewToken struct {
	User        string
	Scope       Scope
	Projects    []string // project names; normalized on the way in
	Description string
	ExpiresAt   time.Time // zero: never
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken creates a token and returns it with its secret, which is
// shown once and stored only as a SHA-256 hash. A non-admin user cannot
// hold an admin token, and an admin token cannot be limited to projects
// (the admin API manages users, tokens and every project, so a project
// restriction could not hold there). It returns ErrNotFound for an unknown
// user and ErrInvalid for a bad scope, project name or expiry, or an admin
// token with projects.
func (c *Catalog) CreateToken(ctx context.Context, nt NewToken, actor string) (Token, string, error) {
	if nt.Scope < ScopeRead || nt.Scope > ScopeAdmin {
		return Token{}, "", Errorf(ErrInvalid, "scope")
	}
	if nt.Scope == ScopeAdmin && len(nt.Projects) > 0 {
		return Token{}, "", Errorf(ErrInvalid, "an admin token cannot be limited to projects: the admin scope acts on users, tokens and every project; "+
			"create an upload (or read) token limited to the projects instead")
	}
	var projects []string
	for _, p := range nt.Projects {
		if !pep503.Valid(p) {
			return Token{}, "", Errorf(ErrInvalid, "project name %q", p)
		}
		projects = append(projects, pep503.Normalize(p))
	}
	sort.Strings(projects)
	projects = compactStrings(projects)
	if len(nt.Description) > 200 {
		return Token{}, "", Errorf(ErrInvalid, "description longer than 200 characters")
	}
	now := c.now()
	if !nt.ExpiresAt.IsZero() && !nt.ExpiresAt.After(now) {
		return Token{}, "", Errorf(ErrInvalid, "expiry is in the past")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", err
	}
	secret := TokenPrefix + tokenEncoding.EncodeToString(raw[:])
	var t Token
	err := c.write(ctx, func(tx *sql.Tx) error {
		var uid int64
		var admin bool
		err := tx.QueryRowContext(ctx, `SELECT id, is_admin FROM users WHERE name = ?`, nt.User).Scan(&uid, &admin)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: user %q", ErrNotFound, nt.User)
		}
		if err != nil {
			return err
		}
		if nt.Scope == ScopeAdmin && !admin {
			return Errorf(ErrInvalid, "user %q is not an admin, so cannot hold an admin token", nt.User)
		}
		var exp int64
		if !nt.ExpiresAt.IsZero() {
			exp = nt.ExpiresAt.UnixMicro()
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, hash, scope, projects, description, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, uid, hashToken(secret), nt.Scope.String(),
			strings.Join(projects, " "), nt.Description, now.UnixMicro(), exp).Scan(&t.ID)
		if err != nil {
			return err
		}
		t.User, t.Scope, t.Projects, t.Description, t.CreatedAt = nt.User, nt.Scope, projects, nt.Description, time.UnixMicro(now.UnixMicro()).UTC()
		if exp != 0 {
			e := time.UnixMicro(exp).UTC()
			t.ExpiresAt = &e
		}
		if t.Projects == nil {
			t.Projects = []string{}
		}
		return audit(ctx, tx, now.UnixMicro(), Event{Actor: actor, Action: "token create",
			Detail: fmt.Sprintf("token %d for %s, scope %s, projects [%s]", t.ID, nt.User, nt.Scope, strings.Join(projects, " "))})
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Tokens lists tokens, of one user when user is not empty, oldest first.
func (c *Catalog) Tokens(ctx context.Context, user string) ([]Token, error) {
	q := `SELECT t.id, u.name, t.scope, t.projects, t.description, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id`
	var args []any
	if user != "" {
		q += ` WHERE u.name = ?`
		args = append(args, user)
	}
	q += ` ORDER BY t.id`
	rows, err := c.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var scope, projects string
		var created, expires, used, revoked int64
		if err := rows.Scan(&t.ID, &t.User, &scope, &projects, &t.Description, &created, &expires, &used, &revoked); err != nil {
			return nil, err
		}
		t.Scope, _ = ParseScope(scope)
		t.Projects = strings.Fields(projects)
		if t.Projects == nil {
			t.Projects = []string{}
		}
		t.CreatedAt = time.UnixMicro(created).UTC()
		if expires != 0 {
			e := time.UnixMicro(expires).UTC()
			t.ExpiresAt = &e
		}
		if used != 0 {
			u := time.UnixMicro(used).UTC()
			t.LastUsedAt = &u
		}
		t.Revoked = revoked != 0
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token for good. It returns ErrNotFound for an
// unknown or already revoked token.
func (c *Catalog) RevokeToken(ctx context.Context, id int64, actor string) error {
	return c.write(ctx, func(tx *sql.Tx) error {
		now := c.now().UnixMicro()
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: token %d (unknown or already revoked)", ErrNotFound, id)
		}
		return audit(ctx, tx, now, Event{Actor: actor, Action: "token revoke", Detail: fmt.Sprintf("token %d", id)})
	})
}

// ErrTokenExpired is returned by CheckToken for an expired token (callers
// treat it like ErrBadCredentials, but may log the difference).
var ErrTokenExpired = fmt.Errorf("%w: token expired", ErrBadCredentials)

// lastUsed throttles last-used writes to one a minute per token, so a busy
// CI token does not turn every read into a write.
var lastUsed = struct {
	sync.Mutex
	m map[int64]time.Time
}{m: map[int64]time.Time{}}

// CheckToken verifies a token secret and returns its principal. It returns
// ErrBadCredentials for an unknown or revoked token, and ErrTokenExpired.
func (c *Catalog) CheckToken(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+52 {
		return Principal{}, ErrBadCredentials
	}
	var p Principal
	var scope, projects string
	var expires, revoked int64
	start := time.Now()
	err := c.r.QueryRowContext(ctx, `SELECT t.id, u.id, u.name, u.is_admin, t.scope, t.projects, t.expires_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hashToken(secret)).
		Scan(&p.TokenID, &p.UserID, &p.User, &p.Admin, &scope, &projects, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrBadCredentials
	}
	err = formatError(err)
	c.ops.since(opAuth, start, &err)
	if err != nil {
		return Principal{}, err
	}
	now := c.now()
	if revoked != 0 {
		return Principal{}, ErrBadCredentials
	}
	if expires != 0 && now.UnixMicro() >= expires {
		return Principal{}, ErrTokenExpired
	}
	p.Scope, _ = ParseScope(scope)
	p.Projects = strings.Fields(projects)
	if p.Scope == ScopeAdmin && !p.Admin {
		p.Scope = ScopeUpload // the user lost admin rights after the token was made
	}
	if p.Scope == ScopeAdmin && len(p.Projects) > 0 {
		// An admin token limited to projects, made before CreateToken
		// refused them: the restriction cannot hold on the admin API, so
		// the token keeps only what an upload token limited to the same
		// projects may do.
		p.Scope = ScopeUpload
	}
	p.Admin = p.Scope == ScopeAdmin
	c.touchToken(p.TokenID, now)
	return p, nil
}

func (c *Catalog) touchToken(id int64, now time.Time) {
	lastUsed.Lock()
	prev := lastUsed.m[id]
	if now.Sub(prev) < time.Minute {
		lastUsed.Unlock()
		return
	}
	lastUsed.m[id] = now
	lastUsed.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.w.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, now.UnixMicro(), id)
	}()
}
