package index

import (
	"context"
	"net/http"
	"strings"
)

// Principal is an authenticated caller.
type Principal struct {
	User  string // the user name; for a token, its owner
	Admin bool
}

// Authenticate checks the credentials of a request: HTTP Basic with a user
// name and password. It returns ok = false when the request carries no
// credentials, and ErrBadCredentials when it carries wrong ones.
func (c *Catalog) Authenticate(ctx context.Context, r *http.Request) (p Principal, ok bool, err error) {
	user, pass, has := r.BasicAuth()
	if !has {
		if strings.TrimSpace(r.Header.Get("Authorization")) != "" {
			return Principal{}, true, ErrBadCredentials
		}
		return Principal{}, false, nil
	}
	u, err := c.CheckPassword(ctx, user, pass)
	if err != nil {
		return Principal{}, true, err
	}
	return Principal{User: u.Name, Admin: u.Admin}, true, nil
}
