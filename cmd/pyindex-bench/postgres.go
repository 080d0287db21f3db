package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// pgBinDir is where Debian's postgresql-15 installs the server.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// pgBin returns the folder of the server binaries: pgBinDir, or else the
// newest version installed the Debian way.
func pgBin() (string, error) {
	if _, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err == nil {
		return pgBinDir, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	best, bestV := "", -1
	for _, f := range found {
		dir := filepath.Dir(f)
		if v, err := strconv.Atoi(filepath.Base(filepath.Dir(dir))); err == nil && v > bestV {
			best, bestV = dir, v
		}
	}
	if best == "" {
		return "", fmt.Errorf("no PostgreSQL server at %s or under /usr/lib/postgresql (apt-get install -y postgresql-15, or pass --catalog URL or --skip-postgres)", pgBinDir)
	}
	return best, nil
}

// pgDatabase is the database the bench creates on its own cluster.
const pgDatabase = "pyindex_bench"

// pgCluster is a throwaway PostgreSQL server the bench started: a new
// cluster in a temporary folder, on 127.0.0.1 with a free port, tuned for
// speed over durability (fsync off), as the postgres user when the bench
// runs as root (PostgreSQL refuses to run as root). It is stopped and its
// folder removed at the end of the run.
type pgCluster struct {
	*child
	dir string
	url string // of pgDatabase
}

// pgCredential is who the server runs as: the postgres user when this
// process is root, nobody else otherwise.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startPostgres initialises a cluster (from pgBin) and starts it, returning once the
// bench database exists.
func startPostgres(ctx context.Context) (*pgCluster, error) {
	bin, err := pgBin()
	if err != nil {
		return nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	// The postgres user must be able to reach the folder: the bench's
	// working folder may be private to root, /tmp is not.
	base := ""
	if cred != nil {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pyindex-bench-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+port, "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=128MB", "-c", "log_min_messages=warning")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	c, err := startChildSignals("postgres", cmd, syscall.SIGINT, syscall.SIGQUIT)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	pg := &pgCluster{child: c, dir: dir,
		url: fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", port, pgDatabase)}
	admin, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", port))
	if err != nil {
		pg.stop()
		return nil, err
	}
	defer admin.Close()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err = admin.PingContext(pctx)
		cancel()
		if err == nil {
			break
		}
		if c.exited() || ctx.Err() != nil || time.Since(start) > 30*time.Second {
			pg.stop()
			return nil, fmt.Errorf("PostgreSQL did not answer on %s: %v\n%s", addr, err, c.out)
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pgDatabase+" TEMPLATE template0"); err != nil {
		pg.stop()
		return nil, fmt.Errorf("create database: %w", err)
	}
	return pg, nil
}

// stop shuts the server down (fast shutdown) and removes its folder.
func (pg *pgCluster) stop() error {
	err := pg.child.stop()
	os.RemoveAll(pg.dir)
	return err
}

// pgVersion returns the server's version string, for the report.
func pgVersion(ctx context.Context, url string) string {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "?"
	}
	return v
}
