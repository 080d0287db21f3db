package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// freeAddr returns a free 127.0.0.1 address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last bytes written to it (a child's output, for errors).
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 64<<10 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-32<<10:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// child is a started process that dies with this one (Pdeathsig) and is
// stopped with SIGTERM (or its own stop signal), then SIGKILL after a
// grace period.
type child struct {
	name  string
	cmd   *exec.Cmd
	out   *tail
	done  chan error
	stopS syscall.Signal
}

func startChild(name string, cmd *exec.Cmd) (*child, error) {
	return startChildSignals(name, cmd, syscall.SIGTERM, syscall.SIGTERM)
}

// startChildSignals starts cmd, which is sent stop to end it and death
// when this process dies. A SysProcAttr already set on cmd (a
// credential) is kept.
func startChildSignals(name string, cmd *exec.Cmd, stop, death syscall.Signal) (*child, error) {
	c := &child{name: name, cmd: cmd, out: &tail{}, done: make(chan error, 1), stopS: stop}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = death
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { c.done <- cmd.Wait() }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return true
	default:
		return false
	}
}

func (c *child) stop() error {
	if c.exited() {
		return nil
	}
	c.cmd.Process.Signal(c.stopS)
	select {
	case <-c.done:
		return nil
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within 15s of %s; killed", c.name, c.stopS)
	}
}

// pyindexProc is a pyindex server under test: the one on SQLite, or a
// replica on PostgreSQL.
type pyindexProc struct {
	*child
	url   string
	pprof string // the pprof listener's address (with --pprof)
}

// startPyindex starts pyindex on the seeded SQLite data folder and
// records the time from process start to the first 200 from /readyz.
func (b *bench) startPyindex(ctx context.Context) error {
	p, took, err := b.startServer(ctx, "pyindex", filepath.Join(b.out, "data"))
	if err != nil {
		return err
	}
	b.py, b.startTime = p, took
	return nil
}

// startServer starts a pyindex server on the data folder data with the
// bench's settings plus env, and returns once /readyz answers 200, with
// the time that took.
func (b *bench) startServer(ctx context.Context, name, data string, env ...string) (*pyindexProc, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(b.bin, "serve", "--data", data, "--listen", addr)
	cmd.Env = append(cleanEnv(),
		// The local upstream, never PyPI (which a first upload of a new
		// name would ask).
		"PYINDEX_MIRROR_UPSTREAM="+b.upstream.url+"/simple/",
		// Keep the warm mirror page warm for the whole run.
		"PYINDEX_MIRROR_TTL=6h",
		// The 1 GiB case: the wheel is 1 GiB plus its zip headers.
		"PYINDEX_UPLOAD_MAX_FILE_SIZE=2GiB",
		"PYINDEX_UPLOAD_BODY_TIMEOUT=10m",
	)
	cmd.Env = append(cmd.Env, env...)
	var paddr string
	if b.o.cpuProfile != "" {
		if paddr, err = freeAddr(); err != nil {
			return nil, 0, err
		}
		cmd.Env = append(cmd.Env, "PYINDEX_PPROF_LISTEN="+paddr)
	}
	start := time.Now()
	c, err := startChild(name, cmd)
	if err != nil {
		return nil, 0, err
	}
	p := &pyindexProc{child: c, url: "http://" + addr, pprof: paddr}
	hc := &http.Client{Timeout: time.Second}
	for {
		if err := ctx.Err(); err != nil {
			p.stop()
			return nil, 0, err
		}
		if c.exited() {
			return nil, 0, fmt.Errorf("%s exited during start:\n%s", name, c.out)
		}
		if resp, err := hc.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 2*time.Minute {
			p.stop()
			return nil, 0, fmt.Errorf("%s not ready after 2 minutes:\n%s", name, c.out)
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	b.logf("%s ready on %s in %s", name, addr, took.Round(time.Millisecond))
	return p, took, nil
}

// memory returns the process's peak and current resident set (bytes).
func (p *pyindexProc) memory() (hwm, rss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			hwm = n << 10
		case "VmRSS":
			rss = n << 10
		}
	}
	return hwm, rss
}

// resetPeak resets VmHWM to the current RSS (Linux clear_refs 5).
func (p *pyindexProc) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid()), []byte("5"), 0)
}

// nginxProc is nginx serving the static tree.
type nginxProc struct {
	*child
	url string
}

// startNginx writes nginx's configuration and starts it on the static
// tree: one exact location per case with the Content-Type pyindex sent,
// gzip_static for the .gz variants, sendfile for files.
func (b *bench) startNginx(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	prefix := filepath.Join(b.out, "nginx")
	for _, d := range []string{"tmp", "logs"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return err
		}
	}
	var conf bytes.Buffer
	fmt.Fprintf(&conf, "# Written by pyindex-bench.\ndaemon off;\nmaster_process on;\nworker_processes auto;\n")
	if os.Geteuid() == 0 {
		conf.WriteString("user root;\n")
	}
	fmt.Fprintf(&conf, "pid %s;\nerror_log %s warn;\n", filepath.Join(prefix, "nginx.pid"), filepath.Join(prefix, "logs", "error.log"))
	conf.WriteString("events { worker_connections 4096; }\nhttp {\n")
	fmt.Fprintf(&conf, "  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 10000000;\n  keepalive_timeout 120s;\n")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&conf, "  %s_temp_path %s;\n", t, filepath.Join(prefix, "tmp", t))
	}
	conf.WriteString("  types { }\n  default_type application/octet-stream;\n  gzip_static on;\n  gzip_vary on;\n")
	fmt.Fprintf(&conf, "  server {\n    listen %s;\n    root %s;\n", addr, filepath.Join(b.out, "static"))
	for _, c := range b.cases {
		if c.ctype != "" {
			fmt.Fprintf(&conf, "    location = %s { default_type %q; }\n", c.nginxPath, c.ctype)
		}
	}
	conf.WriteString("  }\n}\n")
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("nginx", "-p", prefix, "-c", path, "-e", filepath.Join(prefix, "logs", "error.log"))
	c, err := startChild("nginx", cmd)
	if err != nil {
		return err
	}
	b.ngx = &nginxProc{child: c, url: "http://" + addr}
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.exited() {
			log, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			return fmt.Errorf("nginx exited during start:\n%s%s", c.out, log)
		}
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
		if time.Since(start) > 20*time.Second {
			return errors.New("nginx did not listen within 20s")
		}
	}
	b.logf("nginx (%s) on %s", b.ngxVersion(), addr)
	return nil
}

func (b *bench) ngxVersion() string {
	out, _ := exec.Command("nginx", "-v").CombinedOutput()
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: "))
}

// The mirrored project and the file the warm-mirror cases read.
const (
	upstreamProject = "upstream-pkg"
	upstreamVersion = "1.9"
)

// upstream is a tiny PEP 691 index standing in for PyPI: one project page
// with 20 files, of which one (the 1.9 wheel) can be downloaded.
type upstream struct {
	srv      *httptest.Server
	url      string
	filename string
	mu       sync.Mutex
	hits     map[string]int
}

func startUpstream(sc scale) (*upstream, error) {
	payload := int64(1 << 20)
	if sc.name == "toy" {
		payload = 64 << 10
	}
	var wheel bytes.Buffer
	if _, err := buildWheel(&wheel, "upstream_pkg", upstreamVersion, payload); err != nil {
		return nil, err
	}
	u := &upstream{filename: "upstream_pkg-" + upstreamVersion + "-py3-none-any.whl", hits: map[string]int{}}
	sum, _, _ := digests(wheel.Bytes())
	type file struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython string            `json:"requires-python"`
		Size           int64             `json:"size"`
		UploadTime     string            `json:"upload-time"`
	}
	var files []file
	var versions []string
	for i := range 10 {
		v := fmt.Sprintf("1.%d", i)
		versions = append(versions, v)
		for _, fn := range []string{"upstream_pkg-" + v + "-py3-none-any.whl", "upstream_pkg-" + v + ".tar.gz"} {
			s, _, _ := digests([]byte(fn))
			size := int64(12345)
			if fn == u.filename {
				s, size = sum, int64(wheel.Len())
			}
			files = append(files, file{Filename: fn, URL: "../../packages/" + fn, Hashes: map[string]string{"sha256": s},
				RequiresPython: ">=3.8", Size: size, UploadTime: "2024-01-02T03:04:05.000000Z"})
		}
	}
	page, err := json.Marshal(map[string]any{
		"meta": map[string]any{"api-version": "1.1", "_last-serial": 42},
		"name": upstreamProject, "files": files, "versions": versions,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/"+upstreamProject+"/", func(w http.ResponseWriter, r *http.Request) {
		u.hit("page")
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		w.Header().Set("X-PyPI-Last-Serial", "42")
		w.Write(page)
	})
	mux.HandleFunc("/packages/"+u.filename, func(w http.ResponseWriter, r *http.Request) {
		u.hit("file")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(wheel.Bytes())
	})
	u.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	u.url = u.srv.URL
	return u, nil
}

func (u *upstream) hit(kind string) {
	u.mu.Lock()
	u.hits[kind]++
	u.mu.Unlock()
}

func (u *upstream) count(kind string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[kind]
}

func (u *upstream) close() { u.srv.Close() }
