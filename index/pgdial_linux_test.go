package index

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPgDialerUserTimeout: the catalog's connections give up on data the
// server does not acknowledge after pgTCPUserTimeout.
func TestPgDialerUserTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := pgDialer()(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got, keep int
	var gerr, kerr error
	rc.Control(func(fd uintptr) {
		got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		keep, kerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	})
	if gerr != nil || got != int(pgTCPUserTimeout.Milliseconds()) {
		t.Errorf("TCP_USER_TIMEOUT = %d, %v; want %d", got, gerr, pgTCPUserTimeout.Milliseconds())
	}
	if kerr != nil || keep != 1 {
		t.Errorf("SO_KEEPALIVE = %d, %v", keep, kerr)
	}
}
