package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
)

// TestPasswordLengthAPI: the admin API refuses passwords bcrypt would cut
// (over 72 bytes) and says so, and a 72-byte password followed by anything
// does not log in.
func TestPasswordLengthAPI(t *testing.T) {
	en := newAdminEnv(t)
	pw72 := strings.Repeat("a", 72)
	for _, tc := range []struct{ name, method, path, body string }{
		{"create", "POST", "/api/v1/users", `{"name": "long", "password": "` + pw72 + `b"}`},
		{"reset", "PUT", "/api/v1/users/dev/password", `{"password": "` + pw72 + `b"}`},
	} {
		rec := en.call(tc.method, tc.path, en.rootAuth, tc.body, nil)
		if rec.Code != http.StatusBadRequest || !strings.Contains(errorBody(t, rec), "at most 72 bytes") {
			t.Errorf("%s with 73 bytes: %d %s", tc.name, rec.Code, rec.Body.String())
		}
	}
	if _, err := en.cat.GetUser(context.Background(), "long"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("the refused user exists: %v", err)
	}
	if _, err := en.cat.CheckPassword(context.Background(), "dev", devPassword); err != nil {
		t.Errorf("the refused reset changed dev's password: %v", err)
	}
	if rec := en.call("POST", "/api/v1/users", en.rootAuth, `{"name": "long", "password": "`+pw72+`", "admin": true}`, nil); rec.Code != http.StatusCreated {
		t.Fatalf("create with 72 bytes: %d %s", rec.Code, rec.Body.String())
	}
	for _, tc := range []struct {
		pw   string
		want int
	}{
		{pw72, http.StatusOK},
		{pw72 + "b", http.StatusUnauthorized},
		{pw72 + strings.Repeat("anything", 50), http.StatusUnauthorized},
		{pw72, http.StatusOK}, // and again, now from the cache of verified passwords
		{pw72 + "b", http.StatusUnauthorized},
	} {
		if rec := en.call("GET", "/api/v1/users", basic("long", tc.pw), nil, nil); rec.Code != tc.want {
			t.Errorf("login with %d bytes: %d, want %d", len(tc.pw), rec.Code, tc.want)
		}
	}
}
