package index_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pgtest"
)

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestPostgresMultiHostURL: a URL naming several hosts with
// target_session_attrs=read-write opens on the host that answers as a
// primary, as after a failover the old primary is gone; the catalog then
// reads and writes as usual.
func TestPostgresMultiHostURL(t *testing.T) {
	postgresOnly(t)
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = deadAddr(t) + "," + u.Host
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	cat := openPG(t, u.String())
	ctx := context.Background()
	if _, err := cat.AddUser(ctx, "alice", "correct horse battery", false, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CheckPassword(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatalf("check password through the second host: %v", err)
	}
}

// TestPostgresURLErrorsHidePassword: a catalog that cannot be opened says
// where it tried without the URL's password.
func TestPostgresURLErrorsHidePassword(t *testing.T) {
	postgresOnly(t)
	cfg := index.DefaultConfig()
	cfg.URL = "postgres://pyindex:s3cret-pw@" + deadAddr(t) + "/pyindex?sslmode=disable&connect_timeout=2"
	_, err := index.OpenPostgres(context.Background(), cfg)
	if err == nil {
		t.Fatal("opened a catalog on a dead address")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error shows the password: %v", err)
	}
}
