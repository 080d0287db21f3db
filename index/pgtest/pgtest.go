// Package pgtest starts a throwaway PostgreSQL cluster for tests: Debian's
// postgresql-15 (or the newest server under /usr/lib/postgresql), on
// 127.0.0.1 with a free port, in a temporary folder, with fsync off. It
// starts once per test binary, on first use, and every test gets a fresh
// database of it, dropped when the test ends. Stop (from TestMain) stops
// the cluster and removes its folder; should the test binary die first,
// the server is sent SIGQUIT with it (Pdeathsig).
//
// PostgreSQL refuses to run as root, so when the tests run as root the
// server runs as the postgres user that Debian's package creates, in a
// folder owned by it.
//
// Without PostgreSQL a test calling URL is skipped with the reason, and
// fails when CI=true: CI must run every test.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Cluster is a running test cluster.
type Cluster struct {
	dir   string
	port  int
	cmd   *exec.Cmd
	done  chan struct{}
	admin *sql.DB
	seq   atomic.Int64
}

var (
	once    sync.Once
	cluster *Cluster
	failure error
)

// Available starts the cluster if it is not running yet, and reports why
// it cannot run, if it cannot.
func Available() error {
	once.Do(func() { cluster, failure = start() })
	return failure
}

// URL returns the URL of a new, empty database on the test cluster, which
// is dropped when t ends. Without PostgreSQL it skips t (fails it with
// CI=true).
func URL(t testing.TB) string {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is needed (CI=true): %v; .ci/run installs postgresql-15", err)
		}
		t.Skipf("no PostgreSQL for this test: %v (is postgresql-15 installed?)", err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), cluster.seq.Add(1))
	if _, err := cluster.admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := cluster.admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return cluster.url(name)
}

// AdminURL returns the URL of the test cluster's postgres database (for
// tests that stop and start the server, or look at it as an operator).
func AdminURL(t testing.TB) string {
	t.Helper()
	URL(t) // starts, or skips
	return cluster.url("postgres")
}

func (c *Cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Stop stops the cluster, if it was started, and removes its folder. Call
// it from TestMain after m.Run.
func Stop() {
	if cluster == nil {
		return
	}
	c := cluster
	cluster, failure = nil, fmt.Errorf("pgtest: stopped")
	c.admin.Close()
	c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	os.RemoveAll(c.dir)
}

// binDir returns the folder of the newest PostgreSQL server installed the
// Debian way, preferring 15.
func binDir() (string, error) {
	if d := os.Getenv("PYINDEX_TEST_PGBIN"); d != "" {
		return d, nil
	}
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/postgres"); err == nil {
		return "/usr/lib/postgresql/15/bin", nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(found) == 0 {
		return "", fmt.Errorf("no PostgreSQL server under /usr/lib/postgresql")
	}
	sort.Slice(found, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[i]))))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[j]))))
		return a < b
	})
	return filepath.Dir(found[len(found)-1]), nil
}

// credential returns who the server runs as: the postgres user when this
// process is root, nobody else otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	// The postgres user must reach the folder: a TMPDIR a test made
	// private (0700, owned by root) would not do, /tmp does.
	base := ""
	if cred != nil {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pyindex-pgtest-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	for attempt := 0; ; attempt++ {
		c, err := run(bin, dir, data, cred, 0)
		if err == nil {
			ok = true
			return c, nil
		}
		if attempt == 3 {
			return nil, err
		}
	}
}

// run starts the server on port (0: a free one) and waits until it
// answers.
func run(bin, dir, data string, cred *syscall.Credential, port int) (*Cluster, error) {
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	logf, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	if cred != nil {
		os.Chown(logf.Name(), int(cred.Uid), int(cred.Gid))
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	c := &Cluster{dir: dir, port: port, cmd: cmd, done: make(chan struct{})}
	// Pdeathsig fires when the thread that started the server ends, not
	// the process: start it from a goroutine locked to its thread that
	// lives until the server exits.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			cmd.Wait()
		}
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	c.admin, _ = sql.Open("pgx", c.url("postgres"))
	c.admin.SetMaxOpenConns(4)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			c.admin.Close()
			return nil, fmt.Errorf("postgres exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.admin.Close()
			cmd.Process.Kill()
			<-c.done
			return nil, fmt.Errorf("postgres did not answer on port %d: %v", port, err)
		}
	}
}

// Restart stops the server and starts it again on the same port, after
// down has run with the server stopped (tests of an outage).
func Restart(t testing.TB, down func()) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	c := cluster
	c.admin.Close()
	c.cmd.Process.Signal(syscall.SIGINT)
	<-c.done
	down()
	bin, _ := binDir()
	cred, _ := credential()
	for attempt := 0; ; attempt++ {
		nc, err := run(bin, c.dir, filepath.Join(c.dir, "data"), cred, c.port)
		if err == nil {
			c.cmd, c.done, c.admin = nc.cmd, nc.done, nc.admin
			return
		}
		if attempt == 20 {
			t.Fatalf("restart postgres: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Installed reports why a cluster cannot be started here, without
// starting one: no server binaries, or root without a postgres user.
func Installed() error {
	if _, err := binDir(); err != nil {
		return err
	}
	_, err := credential()
	return err
}
