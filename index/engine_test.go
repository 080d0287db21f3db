package index

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestFormatPgErrorUnavailable: every way of losing PostgreSQL is
// ErrUnavailable with a one-line reason that never shows the cause (which
// may hold the connection string); the server's other answers keep their
// kinds.
func TestFormatPgErrorUnavailable(t *testing.T) {
	cfg, err := pgconn.ParseConfig("postgres://pyindex:s3cret@db1:5433,db2/pyindex?target_session_attrs=read-write")
	if err != nil {
		t.Fatal(err)
	}
	connect := &pgconn.ConnectError{Config: cfg}
	for _, tc := range []struct {
		name string
		err  error
		kind error
		msg  string // the client's message (ErrUnavailable only)
	}{
		{"connect", connect, ErrUnavailable, "catalog unavailable: PostgreSQL at db1:5433,db2:5432 is not answering"},
		{"wrapped connect", fmt.Errorf("query: %w", connect), ErrUnavailable, "catalog unavailable: PostgreSQL at db1:5433,db2:5432 is not answering"},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, ErrUnavailable, "catalog unavailable: PostgreSQL is shutting down"},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, ErrUnavailable, "catalog unavailable: PostgreSQL is starting up or shutting down"},
		{"connection exception", &pgconn.PgError{Code: "08006"}, ErrUnavailable, "catalog unavailable: the connection to PostgreSQL was lost"},
		{"read-only standby", &pgconn.PgError{Code: "25006"}, ErrUnavailable, "catalog unavailable: PostgreSQL is read-only (a standby: is a failover under way?)"},
		{"conn closed", errors.New("conn closed"), ErrUnavailable, "catalog unavailable: the connection to PostgreSQL was lost"},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ErrUnavailable, "catalog unavailable: the connection to PostgreSQL was lost"},
		{"bad conn", driver.ErrBadConn, ErrUnavailable, "catalog unavailable: the connection to PostgreSQL was lost"},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, ErrBusy, ""},
		{"lock timeout", &pgconn.PgError{Code: "55P03"}, ErrBusy, ""},
		{"unique", &pgconn.PgError{Code: "23505"}, ErrExists, ""},
		{"disk full", &pgconn.PgError{Code: "53100"}, ErrFull, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := formatError(tc.err)
			if !errors.Is(got, tc.kind) {
				t.Fatalf("formatError(%v) = %v, want kind %v", tc.err, got, tc.kind)
			}
			if tc.msg == "" {
				return
			}
			var e *Error
			if !errors.As(got, &e) || e.Error() != tc.msg {
				t.Errorf("message %q, want %q", e.Error(), tc.msg)
			}
			if strings.Contains(e.Error(), "s3cret") || strings.ContainsAny(e.Error(), "\r\n") {
				t.Errorf("message %q shows the password or spans lines", e.Error())
			}
		})
	}
	if formatError(context.Canceled) != context.Canceled {
		t.Error("a cancelled request is not the database's failure")
	}
}
