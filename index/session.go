package index

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// Session is a logged-in browser of the web interface.
type Session struct {
	User      User
	CSRF      string // the token every state-changing form carries
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrNoSession is Session's answer for a secret that names no live
// session: unknown, expired, ended by a logout, a password change or the
// user's removal.
var ErrNoSession = errors.New("no such session")

// sessionID is the key a session's secret is stored under: its SHA-256.
func sessionID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// passwordCheck fingerprints a password hash, so that a session can tell
// that the password changed without storing the hash twice.
func passwordCheck(hash string) string {
	sum := sha256.Sum256([]byte("pyindex session\x00" + hash))
	return hex.EncodeToString(sum[:])
}

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateSession starts a session of the user (whose password the caller
// has just verified) lasting ttl, and returns it with the secret for the
// browser's cookie, which is stored only as a hash. Sessions that have
// expired are deleted on the way. It returns ErrNotFound for an unknown
// user and ErrInvalid for a ttl that is not positive.
func (c *Catalog) CreateSession(ctx context.Context, user string, ttl time.Duration, remoteAddr string) (Session, string, error) {
	if ttl <= 0 {
		return Session{}, "", Errorf(ErrInvalid, "a session's lifetime must be positive")
	}
	secret, err := randomSecret()
	if err != nil {
		return Session{}, "", err
	}
	csrf, err := randomSecret()
	if err != nil {
		return Session{}, "", err
	}
	var s Session
	err = c.write(ctx, func(tx *sql.Tx) error {
		now := c.now()
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, name, is_admin, created_at, password_hash FROM users WHERE name = ?`, user).
			Scan(&s.User.ID, &s.User.Name, &s.User.Admin, &created, &s.User.passwordHash)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ErrNotFound, "user %q", user)
		}
		if err != nil {
			return err
		}
		s.User.CreatedAt = time.UnixMicro(created).UTC()
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, now.UnixMicro()); err != nil {
			return err
		}
		s.CSRF = csrf
		s.CreatedAt = time.UnixMicro(now.UnixMicro()).UTC()
		s.ExpiresAt = time.UnixMicro(now.Add(ttl).UnixMicro()).UTC()
		_, err = tx.ExecContext(ctx, `INSERT INTO web_sessions (id, user_id, csrf, password_check, created_at, expires_at, remote_addr)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, sessionID(secret), s.User.ID, csrf, passwordCheck(s.User.passwordHash),
			s.CreatedAt.UnixMicro(), s.ExpiresAt.UnixMicro(), remoteAddr)
		return err
	})
	if err != nil {
		return Session{}, "", err
	}
	s.User.passwordHash = ""
	return s, secret, nil
}

// Session returns the live session whose cookie secret is given, with its
// user as the catalog has it now (a user made admin or no longer admin is
// seen at once). It returns ErrNoSession for an unknown or expired secret,
// and for a session whose user's password changed since the login (that
// session is deleted).
func (c *Catalog) Session(ctx context.Context, secret string) (Session, error) {
	if secret == "" {
		return Session{}, ErrNoSession
	}
	id := sessionID(secret)
	var s Session
	var check, hash string
	var userCreated, created, expires int64
	err := c.r.QueryRowContext(ctx, `SELECT u.id, u.name, u.is_admin, u.created_at, u.password_hash,
			s.csrf, s.password_check, s.created_at, s.expires_at
		FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, id).
		Scan(&s.User.ID, &s.User.Name, &s.User.Admin, &userCreated, &hash, &s.CSRF, &check, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, formatError(err)
	}
	if subtle.ConstantTimeCompare([]byte(check), []byte(passwordCheck(hash))) != 1 {
		_ = c.EndSession(ctx, secret)
		return Session{}, ErrNoSession
	}
	if c.now().UnixMicro() >= expires {
		return Session{}, ErrNoSession
	}
	s.User.CreatedAt = time.UnixMicro(userCreated).UTC()
	s.CreatedAt, s.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return s, nil
}

// EndSession ends the session of secret (a logout). Ending a session that
// does not exist is not an error.
func (c *Catalog) EndSession(ctx context.Context, secret string) error {
	if secret == "" {
		return nil
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE id = ?`, sessionID(secret))
		return err
	})
}
