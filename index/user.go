package index

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/pyindex/pyindex/index/cache"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"
)

// User is an account that can upload (and, as admin, manage the index).
type User struct {
	ID        int64     `json:"-"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`

	passwordHash string
}

// ErrBadCredentials is returned by CheckPassword for an unknown user or a
// wrong password (the two are not distinguished).
var ErrBadCredentials = errors.New("invalid credentials")

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidUserName reports whether name can be a user name. "__token__" is
// reserved for API tokens.
func ValidUserName(name string) bool {
	return userNameRE.MatchString(name) && name != "__token__"
}

// MinPasswordLength is the shortest password AddUser and SetPassword accept.
const MinPasswordLength = 8

// MaxPasswordLength is the longest password, in bytes, AddUser and
// SetPassword accept and CheckPassword verifies. bcrypt reads only the
// first 72 bytes of a password: a longer one would be cut silently, and
// any suffix of a 72-byte password would log in.
const MaxPasswordLength = 72

func hashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", Errorf(ErrInvalid, "password must be at least %d characters", MinPasswordLength)
	}
	if len(password) > MaxPasswordLength {
		return "", Errorf(ErrInvalid, "password must be at most %d bytes (bcrypt ignores the rest); this one has %d",
			MaxPasswordLength, len(password))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	return string(h), err
}

// AddUser creates a user. It returns ErrInvalid for a bad name or a
// password shorter than MinPasswordLength or longer than MaxPasswordLength,
// and ErrExists when the name is taken.
func (c *Catalog) AddUser(ctx context.Context, name, password string, admin bool, actor string) (User, error) {
	if !ValidUserName(name) {
		return User{}, Errorf(ErrInvalid, "user name %q (letters, digits, '.', '_', '@', '-'; at most 64)", name)
	}
	h, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = c.write(ctx, func(tx *sql.Tx) error {
		now := c.now().UnixMicro()
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			name, h, admin, now).Scan(&u.ID)
		if err != nil {
			return formatError(err)
		}
		u.Name, u.Admin, u.CreatedAt = name, admin, time.UnixMicro(now).UTC()
		detail := ""
		if admin {
			detail = "admin"
		}
		return audit(ctx, tx, now, Event{Actor: actor, Action: "user add", Detail: "user " + name + " " + detail})
	})
	if errors.Is(err, ErrExists) {
		return User{}, fmt.Errorf("%w: user %q", ErrExists, name)
	}
	return u, err
}

// SetPassword changes a user's password. It returns ErrInvalid for a
// password AddUser would refuse and ErrNotFound for an unknown user.
func (c *Catalog) SetPassword(ctx context.Context, name, password, actor string) error {
	h, err := hashPassword(password)
	if err != nil {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ?`, h, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: user %q", ErrNotFound, name)
		}
		return audit(ctx, tx, c.now().UnixMicro(), Event{Actor: actor, Action: "user passwd", Detail: "user " + name})
	})
}

// RemoveUser deletes a user. It returns ErrNotFound for an unknown user
// and an *OwnsProjectsError (which matches ErrExists) for a user who owns
// projects: hand them on first (AddOwner), or use ForceRemoveUser.
func (c *Catalog) RemoveUser(ctx context.Context, name, actor string) error {
	_, err := c.removeUser(ctx, name, actor, false)
	return err
}

// ForceRemoveUser deletes a user even if it owns projects, and returns
// those projects with the owners they keep (none: the project is
// admin-only). Each lost ownership and the removal are audited. It returns
// ErrNotFound for an unknown user.
func (c *Catalog) ForceRemoveUser(ctx context.Context, name, actor string) ([]ProjectOwners, error) {
	return c.removeUser(ctx, name, actor, true)
}

// Users lists every user by name.
func (c *Catalog) Users(ctx context.Context) ([]User, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT id, name, is_admin, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, formatError(err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.ID, &u.Name, &u.Admin, &created); err != nil {
			return nil, err
		}
		u.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// GetUser returns the named user, or ErrNotFound.
func (c *Catalog) GetUser(ctx context.Context, name string) (u User, err error) {
	defer c.ops.since(opAuth, time.Now(), &err)
	var created int64
	err = c.r.QueryRowContext(ctx, `SELECT id, name, is_admin, created_at, password_hash FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.Admin, &created, &u.passwordHash)
	u.CreatedAt = time.UnixMicro(created).UTC()
	return u, formatError(err)
}

// pwCache remembers which (user, password) pairs verified against which
// stored bcrypt hash, so that a CI job uploading many files pays for bcrypt
// once. The key is a SHA-256 of the pair, never the password itself; an
// entry only counts while the stored hash is unchanged, so a password
// change or a removed user takes effect at once.
var pwCache = cache.New[[32]byte, cachedHash](10000)

type cachedHash struct {
	hash    string
	expires time.Time
}

// CheckPassword verifies a user's password. It returns ErrBadCredentials for
// an unknown user or a wrong password, and for any password longer than
// MaxPasswordLength (no password that long can be set, and bcrypt would
// compare only its first 72 bytes), without running bcrypt.
func (c *Catalog) CheckPassword(ctx context.Context, name, password string) (User, error) {
	if len(password) > MaxPasswordLength {
		return User{}, ErrBadCredentials
	}
	u, err := c.GetUser(ctx, name)
	if errors.Is(err, ErrNotFound) {
		// Spend comparable time so that user names cannot be probed.
		_ = bcrypt.CompareHashAndPassword(dummyHashFor(), []byte(password))
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	key := c.passwordKey(name, password)
	if c.passwordCached(key, &u) {
		return u, nil
	}
	// Requests with the same credentials at once (a CI fleet starting
	// its uploads against a server just started) share one comparison:
	// each costs tens of milliseconds of CPU. The hash is part of the key,
	// so a comparison against a password just replaced is never shared
	// with a request that read the new one.
	ok, _, _ := pwFlight.Do(string(key[:])+u.passwordHash, func() (any, error) {
		if compareHash([]byte(u.passwordHash), []byte(password)) != nil {
			return false, nil
		}
		pwCache.Put(key, cachedHash{hash: u.passwordHash, expires: time.Now().Add(10 * time.Minute)})
		return true, nil
	})
	if !ok.(bool) {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// pwFlight joins concurrent bcrypt comparisons of the same credentials
// against the same hash.
var pwFlight singleflight.Group

// compareHash is bcrypt's comparison (a test counts the calls).
var compareHash = bcrypt.CompareHashAndPassword

// ErrNotCached is CheckPasswordCached's answer for a password that would
// need a bcrypt comparison.
var ErrNotCached = errors.New("password not verified recently")

// CheckPasswordCached is CheckPassword without bcrypt: it succeeds only
// when the password was verified recently (and the hash has not changed
// since), and returns ErrNotCached otherwise, wrong passwords included,
// or ErrUnavailable when the catalog cannot be asked.
func (c *Catalog) CheckPasswordCached(ctx context.Context, name, password string) (User, error) {
	if len(password) > MaxPasswordLength {
		return User{}, ErrNotCached // CheckPassword refuses it
	}
	u, err := c.GetUser(ctx, name)
	if errors.Is(err, ErrUnavailable) {
		return User{}, err // not a password to verify later: nothing can be
	}
	if err != nil || !c.passwordCached(c.passwordKey(name, password), &u) {
		return User{}, ErrNotCached
	}
	return u, nil
}

func (c *Catalog) passwordKey(name, password string) [32]byte {
	return sha256.Sum256([]byte(c.path + "\x00" + name + "\x00" + password))
}

// passwordCached reports whether key was verified recently against u's
// current hash.
func (c *Catalog) passwordCached(key [32]byte, u *User) bool {
	ch, ok := pwCache.Get(key)
	return ok && time.Now().Before(ch.expires) && subtle.ConstantTimeCompare([]byte(ch.hash), []byte(u.passwordHash)) == 1
}

// PasswordCost is the bcrypt cost of new password hashes. Tests lower it
// to bcrypt.MinCost to stay fast under the race detector; never lower it
// in a server.
var PasswordCost = bcrypt.DefaultCost

// dummyHash is compared against for unknown users, at the current cost.
var dummyHash = func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("pyindex-dummy-password"), PasswordCost)
	return h
}

var (
	dummyMu   sync.Mutex
	dummyCost int
	dummyVal  []byte
)

func dummyHashFor() []byte {
	dummyMu.Lock()
	defer dummyMu.Unlock()
	if dummyVal == nil || dummyCost != PasswordCost {
		dummyVal, dummyCost = dummyHash(), PasswordCost
	}
	return dummyVal
}
