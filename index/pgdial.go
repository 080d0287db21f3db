package index

import (
	"context"
	"net"
	"syscall"
	"time"
)

// A PostgreSQL server that stops answering without closing its
// connections (a network partition, a host that froze, a failover that
// moved the address) would leave a query on a pooled connection waiting
// for as long as the kernel retransmits, a quarter of an hour: the server's
// statement_timeout cannot end it, since the server never hears of it.
// pgDialer's connections give up much sooner, as libpq's keepalives and
// tcp_user_timeout settings make them: data the server has not
// acknowledged within pgTCPUserTimeout fails the connection (Linux), and
// keepalive probes find a silent peer of an idle or waiting connection
// within about 20 seconds. A slow query is not affected: the server's
// kernel acknowledges the data at once, however long the query runs.
const (
	pgTCPUserTimeout = 10 * time.Second
	pgKeepAliveIdle  = 5 * time.Second
	pgKeepAliveCount = 3
)

// pgDialer returns the dial function of the catalog's connections.
func pgDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: pgKeepAliveIdle, Interval: pgKeepAliveIdle, Count: pgKeepAliveCount},
		Control: func(network, _ string, rc syscall.RawConn) error {
			if network != "tcp" && network != "tcp4" && network != "tcp6" {
				return nil
			}
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = setUserTimeout(fd, pgTCPUserTimeout) }); err != nil {
				return err
			}
			return serr
		},
	}
	return d.DialContext
}
