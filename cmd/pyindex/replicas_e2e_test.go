package main_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to look at the catalog

	"github.com/pyindex/pyindex/index/pgtest"
	"github.com/pyindex/pyindex/storage"
	"github.com/pyindex/pyindex/storage/s3"
	"github.com/pyindex/pyindex/storage/s3/miniotest"
)

// The replica tests run three "pyindex serve" processes of the built binary
// (so that kill -9 is real), each with its own data folder, on one
// PostgreSQL catalog (index/pgtest) and one MinIO bucket, as the README's
// "Running several replicas" describes, and check what issue 18 promises:
// a change through one replica shows on the others within a second, the
// invariants hold across them, and a dead replica or a PostgreSQL restart
// breaks nothing that is listed.

// replicaLag is how long a change committed through one replica (or the
// CLI) may take to show on another.
const replicaLag = time.Second

// replicaLinkRE matches a file link of a simple page: its URL, sha256 and
// filename.
var replicaLinkRE = regexp.MustCompile(`href="([^"#]+)#sha256=([0-9a-f]{64})"[^>]*>([^<]+)<`)

// replicaClient is the HTTP client of the replica tests: bounded, and with
// enough idle connections for the concurrent phases.
var replicaClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
}

// replica is one "pyindex serve" process.
type replica struct {
	name   string
	config string // its config.toml
	data   string
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// fleet is the three replicas and what they share.
type fleet struct {
	catalog  string // the PostgreSQL URL
	db       *sql.DB
	store    storage.Store // the bucket, to check what is stored
	s3       s3.Config
	replicas []*replica
	password string // of the user ci
	read     string // a read token of ci
	upload   string // an upload token of ci
}

// replicaConfig is the config.toml of a replica: its own data folder, the
// shared catalog and bucket, reads need a credential (so that revoked
// credentials show), no failed-login limit (the tests poll with refused
// credentials from one address) and no mirror (no test reaches the
// internet).
func replicaConfig(t *testing.T, data, catalog string, s s3.Config) string {
	t.Helper()
	body := fmt.Sprintf(`data = %q

[catalog]
url = %q
max_conns = 8
statement_timeout = "10s"

[storage]
backend = "s3"

[storage.s3]
endpoint = %q
bucket = %q
prefix = %q
access_key = %q
secret_key = %q
create_bucket = true

[auth]
anonymous_read = false
max_failed_logins = 0

[mirror]
upstream = ""
`, data, catalog, s.Endpoint, s.Bucket, s.Prefix, s.AccessKey, s.SecretKey)
	p := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, p, body)
	return p
}

// replicaEnv is the environment of a replica process: this one without
// any PYINDEX_ setting of the developer's, and quiet logs.
func replicaEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYINDEX_") {
			env = append(env, kv)
		}
	}
	return append(env, "PYINDEX_LOG_LEVEL=warn")
}

// newReplica makes a replica of a data folder (not started).
func newReplica(t *testing.T, name, data, catalog string, s s3.Config) *replica {
	r := &replica{name: name, data: data, config: replicaConfig(t, data, catalog, s), logs: &syncBuffer{}}
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			t.Logf("%s output (the end):\n%s", r.name, lastLines(r.logs.String(), 30))
		}
	})
	return r
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// start runs the replica's process on a free port and returns once it
// answers /readyz, or the error.
func (r *replica) start(t *testing.T) error {
	addr := freePort(t)
	cmd := exec.Command(pyindexBinary(t), "serve", "--config", r.config, "--listen", addr)
	cmd.Env = replicaEnv()
	fmt.Fprintf(r.logs, "--- %s started on %s\n", r.name, addr)
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.cmd, r.exited, r.url = cmd, exited, "http://"+addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _, err := fetch(http.MethodGet, r.url+"/readyz", "", nil); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited at start:\n%s", r.name, r.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after a minute:\n%s", r.name, r.logs.String())
		}
	}
}

// kill sends SIGKILL to the replica's process, if it runs, and waits for
// it to go.
func (r *replica) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}

// running reports whether the replica's process is alive.
func (r *replica) running() bool {
	if r.cmd == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// fetch makes a request with an Authorization header value (empty: none)
// and returns the status and body; a transport error is returned, never
// fatal, so that goroutines may call it.
func fetch(method, u, auth string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(req)
}

func send(req *http.Request) (int, []byte, error) {
	resp, err := replicaClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func bearerAuth(tok string) string { return "Bearer " + tok }

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// upload posts a wheel's bytes to a replica's /legacy/ with a credential.
func (r *replica) upload(filename string, data []byte, name, version, auth string) (int, string, error) {
	req := uploadBytes(r.url, filename, data, name, version)
	req.Header.Set("Authorization", auth)
	code, body, err := send(req)
	return code, string(body), err
}

// listedFile is a file link of a simple page.
type listedFile struct {
	filename, url, sha256 string
}

// listed returns the files of a project's simple page on r (nil for a
// 404), or an error.
func (r *replica) listed(project, auth string) ([]listedFile, error) {
	page := r.url + "/simple/" + project + "/"
	code, body, err := fetch(http.MethodGet, page, auth, nil)
	if err != nil {
		return nil, err
	}
	if code == http.StatusNotFound {
		return nil, nil
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", page, code, body)
	}
	base, _ := url.Parse(page)
	var out []listedFile
	for _, m := range replicaLinkRE.FindAllStringSubmatch(string(body), -1) {
		ref, err := base.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			return nil, err
		}
		out = append(out, listedFile{filename: m[3], url: ref.String(), sha256: m[2]})
	}
	return out, nil
}

// downloadSHA downloads a file and returns the sha256 of what came.
func downloadSHA(u, auth string) (string, error) {
	code, body, err := fetch(http.MethodGet, u, auth, nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("%s: %d", u, code)
	}
	return sha256Hex(body), nil
}

// checkListed downloads every file of the projects' pages on r and fails
// t for any that does not come whole with its listed sha256. It returns
// the listed files by filename.
func (f *fleet) checkListed(t *testing.T, r *replica, projects []string) map[string]string {
	t.Helper()
	all := map[string]string{}
	for _, p := range projects {
		files, err := r.listed(p, bearerAuth(f.read))
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		for _, lf := range files {
			all[lf.filename] = lf.sha256
			got, err := downloadSHA(lf.url, bearerAuth(f.read))
			if err != nil || got != lf.sha256 {
				t.Errorf("%s: %s listed with sha256 %s downloads as %s (%v)", r.name, lf.filename, lf.sha256, got, err)
			}
		}
	}
	return all
}

// blobSHA returns the sha256 of a stored blob.
func blobSHA(ctx context.Context, st storage.Store, key string) (string, error) {
	rc, _, err := st.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// eventually polls ok until it holds or d has passed, and returns how long
// it took and whether it held.
func eventually(d time.Duration, ok func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if ok() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// onEvery runs ok against every replica at once, polling each until it
// holds or lag has passed since start, and fails t naming the replicas
// where it did not hold in time.
func (f *fleet) onEvery(t *testing.T, what string, start time.Time, ok func(r *replica) bool) {
	t.Helper()
	var wg sync.WaitGroup
	late := make([]string, len(f.replicas))
	for i, r := range f.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !ok(r) {
				if time.Since(start) > replicaLag {
					late[i] = r.name
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for _, name := range late {
		if name != "" {
			t.Errorf("%s: not on %s within %v of the commit", what, name, replicaLag)
		}
	}
	t.Logf("%s: on every replica after %v", what, time.Since(start).Round(time.Millisecond))
}

// syntheticWheel builds a valid wheel of project name (filename form)
// and version with payload bytes of random content (stored, not
// compressed: quick to build under -race).
func syntheticWheel(t *testing.T, name, version string, payload int) (string, []byte) {
	t.Helper()
	blob := make([]byte, payload)
	rand.Read(blob)
	di := name + "-" + version + ".dist-info/"
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range []struct {
		name string
		body []byte
	}{
		{name + "/blob.bin", blob},
		{di + "METADATA", []byte("Metadata-Version: 2.1\nName: " + strings.ReplaceAll(name, "_", "-") + "\nVersion: " + version + "\n")},
		{di + "WHEEL", []byte("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
		{di + "RECORD", nil},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return name + "-" + version + "-py3-none-any.whl", b.Bytes()
}

// TestReplicas is issue 18's end-to-end test: three replicas on one
// PostgreSQL and one MinIO bucket. The phases run in order on the same
// fleet; each says what it checks.
func TestReplicas(t *testing.T) {
	if testing.Short() && !inCI() {
		t.Skip("replica test skipped with -short")
	}
	python := need(t, "/usr/bin/python3")
	need(t, "twine")
	catalog := pgtest.URL(t)
	endpoint, ak, sk := miniotest.Start(t)
	s3cfg := s3.DefaultConfig()
	s3cfg.Endpoint, s3cfg.AccessKey, s3cfg.SecretKey = endpoint, ak, sk
	s3cfg.Bucket, s3cfg.Prefix = "replicas-"+randHex(t), "pyindex"
	s3cfg.CreateBucket = true

	f := &fleet{catalog: catalog, s3: s3cfg, password: "ci-password-1"}
	db, err := sql.Open("pgx", catalog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db

	// The three start together on an empty database and an absent bucket:
	// one of them migrates (an advisory lock), and each creates or finds
	// the bucket.
	for i := 1; i <= 3; i++ {
		f.replicas = append(f.replicas, newReplica(t, "replica"+strconv.Itoa(i), filepath.Join(t.TempDir(), "data"), catalog, s3cfg))
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, r := range f.replicas {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.start(t) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st, err := s3.New(t.Context(), s3cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.store = st

	// Users and tokens through the CLI, on the catalog alone (a fresh data
	// folder: the catalog is the database).
	cliData := t.TempDir()
	if out, err := runCLI(t, nil, f.password+"\n", "user", "add", "ci", "--password-stdin", "--data", cliData, "--catalog", catalog); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "root-password-1\n", "user", "add", "root", "--admin", "--password-stdin", "--data", cliData, "--catalog", catalog); err != nil {
		t.Fatalf("user add root: %v\n%s", err, out)
	}
	f.read = createToken(t, nil, "ci", "--scope", "read", "--data", cliData, "--catalog", catalog)
	f.upload = createToken(t, nil, "ci", "--scope", "upload", "--data", cliData, "--catalog", catalog)
	admin := createToken(t, nil, "root", "--scope", "admin", "--data", cliData, "--catalog", catalog)

	t.Run("twine-pip", func(t *testing.T) { f.twinePip(t, python) })
	t.Run("revocation", func(t *testing.T) { f.revocation(t, cliData, admin) })
	t.Run("races", f.races)
	t.Run("dev-numbers", f.devNumbers)
	t.Run("kill", f.killDuringUploads)
	t.Run("postgres-restart", f.postgresRestart)
	t.Run("catalog-copy", f.catalogCopy)

	// Whatever happened above, the store and the catalog agree: fsck finds
	// no missing or corrupt file (a replica killed mid-upload may leave an
	// unreferenced blob, which fsck reports and which is harmless).
	out, err := runCLI(t, nil, "", "fsck", "--config", f.replicas[0].config, "--verify-hashes")
	if err != nil || !strings.Contains(out, "no problems") {
		t.Errorf("fsck: %v\n%s", err, out)
	}
	t.Logf("fsck: %s", strings.TrimSpace(out))
}

// twinePip: twine uploads through replica 1; the other two list each new
// version within a second, and pip installs it through replica 2 (1.0)
// and replica 3 (1.1).
func (f *fleet) twinePip(t *testing.T, python string) {
	twine := need(t, "twine")
	dist := t.TempDir()
	buildWheel(t, dist, "rep-app", "1.0")
	buildWheel(t, dist, "rep-app", "1.1")
	r1, others := f.replicas[0], f.replicas[1:]
	for i, v := range []string{"1.0", "1.1"} {
		wheel := filepath.Join(dist, "rep_app-"+v+"-py2.py3-none-any.whl")
		run(t, "", nil, twine, "upload", "--non-interactive", "--disable-progress-bar",
			"--repository-url", r1.url+"/legacy/", "-u", "ci", "-p", f.password, wheel)
		committed := time.Now()
		want := sha256File(t, wheel)
		f.onEvery(t, "rep-app "+v, committed, func(r *replica) bool {
			files, err := r.listed("rep-app", bearerAuth(f.read))
			if err != nil {
				return false
			}
			for _, lf := range files {
				if lf.filename == filepath.Base(wheel) && lf.sha256 == want {
					return true
				}
			}
			return false
		})
		// The JSON API follows as fast.
		f.onEvery(t, "rep-app "+v+" in the JSON API", committed, func(r *replica) bool {
			code, body, err := fetch(http.MethodGet, r.url+"/pypi/rep-app/json", bearerAuth(f.read), nil)
			var doc struct {
				Info struct{ Version string }
			}
			return err == nil && code == http.StatusOK && json.Unmarshal(body, &doc) == nil && doc.Info.Version == v
		})
		// pip of 1.0 through replica 2, of 1.1 through replica 3 (both list
		// both: checked above).
		for _, r := range others[i : i+1] {
			target := t.TempDir()
			index := strings.Replace(r.url, "http://", "http://ci:"+f.password+"@", 1) + "/simple/"
			run(t, "", nil, python, "-m", "pip", "install", "--no-cache-dir", "--index-url", index, "--target", target, "rep-app")
			if got := installed(t, target); len(got) != 1 || got[0] != "rep-app=="+v {
				t.Errorf("pip through %s installed %v, want rep-app==%s", r.name, got, v)
			}
		}
	}
}

// revocation: a token revoked through one replica's API and a password
// changed through the CLI are refused by every replica within a second of
// the commit, though each had just accepted them (the fast lane's cache of
// verified passwords included: the pages are warm).
func (f *fleet) revocation(t *testing.T, cliData, admin string) {
	victim := createToken(t, nil, "ci", "--scope", "read", "--data", cliData, "--catalog", f.catalog)
	var id int
	if err := f.db.QueryRow(`SELECT max(id) FROM tokens`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	page := "/simple/rep-app/"
	accepts := func(r *replica, auth string) bool {
		code, _, err := fetch(http.MethodGet, r.url+page, auth, nil)
		return err == nil && code == http.StatusOK
	}
	refuses := func(r *replica, auth string) bool {
		code, _, err := fetch(http.MethodGet, r.url+page, auth, nil)
		return err == nil && code == http.StatusUnauthorized
	}
	oldPass := basicAuth("ci", f.password)
	for _, r := range f.replicas {
		for range 3 { // warm: rendered page, verified password cached
			if !accepts(r, bearerAuth(victim)) || !accepts(r, oldPass) {
				t.Fatalf("%s refuses the token or password before the change", r.name)
			}
		}
	}

	code, body, err := fetch(http.MethodDelete, f.replicas[1].url+"/api/v1/tokens/"+strconv.Itoa(id), bearerAuth(admin), nil)
	if err != nil || (code != http.StatusOK && code != http.StatusNoContent) {
		t.Fatalf("revoke through %s: %d %s %v", f.replicas[1].name, code, body, err)
	}
	committed := time.Now()
	f.onEvery(t, "token revocation", committed, func(r *replica) bool { return refuses(r, bearerAuth(victim)) })

	newPass := "ci-password-2"
	if out, err := runCLI(t, nil, newPass+"\n", "user", "passwd", "ci", "--password-stdin", "--data", cliData, "--catalog", f.catalog); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	committed = time.Now()
	f.onEvery(t, "password change", committed, func(r *replica) bool { return refuses(r, oldPass) })
	f.password = newPass
	for _, r := range f.replicas {
		if !accepts(r, basicAuth("ci", newPass)) {
			t.Errorf("%s refuses the new password", r.name)
		}
	}
}

// races: six races of one filename through two replicas at once (each a
// new project): the same bytes give two 200s and one stored file; other
// bytes give exactly one 200 and one 409, and the loser's bytes are not
// kept. The catalog has one row with the winner's sha256, the bucket has
// its blob, the project has one owner, and every page lists the file with
// that sha256.
func (f *fleet) races(t *testing.T) {
	auth := bearerAuth(f.upload)
	for i := range 6 {
		a, b := f.replicas[i%3], f.replicas[(i+1)%3]
		same := i < 3
		name := fmt.Sprintf("rep_race_%d", i)
		project := strings.ReplaceAll(name, "_", "-")
		filename, dataA := syntheticWheel(t, name, "1.0", 64<<10)
		dataB := dataA
		if !same {
			_, dataB = syntheticWheel(t, name, "1.0", 64<<10)
		}
		var codes [2]int
		var bodies [2]string
		var ready, wg sync.WaitGroup
		gate := make(chan struct{})
		for j, x := range []struct {
			r    *replica
			data []byte
		}{{a, dataA}, {b, dataB}} {
			ready.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := uploadBytes(x.r.url, filename, x.data, project, "1.0")
				req.Header.Set("Authorization", auth)
				ready.Done()
				<-gate
				code, body, err := send(req)
				codes[j], bodies[j] = code, string(body)
				if err != nil {
					bodies[j] = err.Error()
				}
			}()
		}
		ready.Wait()
		close(gate)
		wg.Wait()
		desc := fmt.Sprintf("race %d (%s and %s, same bytes %v)", i, a.name, b.name, same)
		winner := ""
		switch {
		case same:
			if codes != [2]int{200, 200} {
				t.Errorf("%s: %d %q, %d %q; want both 200", desc, codes[0], bodies[0], codes[1], bodies[1])
			}
			winner = sha256Hex(dataA)
		case codes == [2]int{200, 409}:
			winner = sha256Hex(dataA)
		case codes == [2]int{409, 200}:
			winner = sha256Hex(dataB)
		default:
			t.Errorf("%s: %d %q, %d %q; want one 200 and one 409", desc, codes[0], bodies[0], codes[1], bodies[1])
			continue
		}
		var rows int
		var sha, key string
		if err := f.db.QueryRow(`SELECT count(*), min(sha256), min(blob_key) FROM files WHERE filename = $1`, filename).Scan(&rows, &sha, &key); err != nil || rows != 1 || sha != winner {
			t.Errorf("%s: the catalog has %d rows, sha256 %s (%v); want one with %s", desc, rows, sha, err, winner)
		}
		if got, err := blobSHA(t.Context(), f.store, key); err != nil || got != winner {
			t.Errorf("%s: the stored blob %s has sha256 %s (%v), want %s", desc, key, got, err, winner)
		}
		if !same {
			loser := sha256Hex(dataA)
			if loser == winner {
				loser = sha256Hex(dataB)
			}
			if _, err := f.store.Stat(t.Context(), storage.Key(loser)); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("%s: the refused bytes are stored (%v)", desc, err)
			}
		}
		var owners int
		if err := f.db.QueryRow(`SELECT count(*) FROM project_owners o JOIN projects p ON p.id = o.project_id WHERE p.name = $1`, project).Scan(&owners); err != nil || owners != 1 {
			t.Errorf("%s: %d owners (%v), want 1", desc, owners, err)
		}
		f.onEvery(t, desc, time.Now(), func(r *replica) bool {
			files, err := r.listed(project, bearerAuth(f.read))
			return err == nil && len(files) == 1 && files[0].filename == filename && files[0].sha256 == winner
		})
		for _, r := range f.replicas {
			files, _ := r.listed(project, bearerAuth(f.read))
			for _, lf := range files {
				if got, err := downloadSHA(lf.url, bearerAuth(f.read)); err != nil || got != winner {
					t.Errorf("%s: %s downloads from %s with sha256 %s (%v), want %s", desc, filename, r.name, got, err, winner)
				}
			}
		}
	}
}

// devNumbers: 30 concurrent requests for dev numbers, spread over the
// three replicas, get distinct numbers 1..30, increasing in the order the
// allocations committed (the audit log's order, and real time: a request
// sent after another was answered gets a greater number); a repeated
// commit gets its number again, through any replica.
func (f *fleet) devNumbers(t *testing.T) {
	const n = 30
	type result struct {
		commit       string
		number       int
		sent, answer time.Time
		err          string
	}
	res := make([]result, n)
	path := "/api/v1/projects/rep-app/dev-versions"
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum := sha1.Sum([]byte("commit " + strconv.Itoa(i)))
			res[i].commit = hex.EncodeToString(sum[:])
			body, _ := json.Marshal(map[string]string{"base": "2.0", "commit": res[i].commit, "branch": "main"})
			res[i].sent = time.Now()
			code, out, err := fetch(http.MethodPost, f.replicas[i%3].url+path, bearerAuth(f.upload), body)
			res[i].answer = time.Now()
			var dv struct{ Number int }
			if err != nil || code != http.StatusOK || json.Unmarshal(out, &dv) != nil {
				res[i].err = fmt.Sprintf("%d %s %v", code, out, err)
				return
			}
			res[i].number = dv.Number
		}()
	}
	wg.Wait()
	seen := map[int]int{}
	for i, r := range res {
		if r.err != "" {
			t.Fatalf("dev number %d through %s: %s", i, f.replicas[i%3].name, r.err)
		}
		if j, dup := seen[r.number]; dup {
			t.Errorf("requests %d and %d both got number %d", j, i, r.number)
		}
		seen[r.number] = i
	}
	for k := 1; k <= n; k++ {
		if _, ok := seen[k]; !ok {
			t.Errorf("no request got number %d; numbers must be 1..%d", k, n)
		}
	}
	for i, a := range res {
		for j, b := range res {
			if a.answer.Before(b.sent) && a.number >= b.number {
				t.Errorf("request %d was answered (%d) before request %d was sent, which got %d", i, a.number, j, b.number)
			}
		}
	}
	rows, err := f.db.Query(`SELECT version FROM audit WHERE action = 'dev version' AND project = 'rep-app' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		order = append(order, v)
	}
	rows.Close()
	want := make([]string, n)
	for k := range want {
		want[k] = "2.0.dev" + strconv.Itoa(k+1)
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("dev versions in commit (audit) order: %v, want %v", order, want)
	}
	for i := range 3 {
		r, again := f.replicas[(i+1)%3], res[i*7]
		body, _ := json.Marshal(map[string]string{"base": "2.0", "commit": again.commit, "branch": "main"})
		code, out, err := fetch(http.MethodPost, r.url+path, bearerAuth(f.upload), body)
		var dv struct {
			Number int
			Reused bool
		}
		if err != nil || code != http.StatusOK || json.Unmarshal(out, &dv) != nil || dv.Number != again.number || !dv.Reused {
			t.Errorf("repeated commit through %s: %d %s %v; want number %d again", r.name, code, out, err, again.number)
		}
	}
}

// killDuringUploads: replica 3 is killed (SIGKILL) while several clients
// upload to it. Every file replica 1 lists then downloads whole with its
// listed sha256, every upload that got 200 is listed there, and the killed
// replica restarts on its data folder and serves (no temporary upload
// left behind).
func (f *fleet) killDuringUploads(t *testing.T) {
	victim, witness := f.replicas[2], f.replicas[0]
	const uploaders = 6
	var mu sync.Mutex
	acked := map[string]string{} // filename -> sha256
	var projects []string
	enough := make(chan struct{})
	var once sync.Once
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	for u := range uploaders {
		name := fmt.Sprintf("rep_kill_%d", u)
		projects = append(projects, strings.ReplaceAll(name, "_", "-"))
		type wheel struct {
			fn   string
			data []byte
		}
		var wheels []wheel
		for v := 1; v <= 8; v++ {
			fn, data := syntheticWheel(t, name, "1."+strconv.Itoa(v), 256<<10)
			wheels = append(wheels, wheel{fn, data})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each uploads new versions back to back until the replica is
			// gone, so that uploads are in flight when it dies.
			for i, w := range wheels {
				v, fn, data := i+1, w.fn, w.data
				code, _, err := victim.upload(fn, data, strings.ReplaceAll(name, "_", "-"), "1."+strconv.Itoa(v), bearerAuth(f.upload))
				if err != nil {
					if !errors.Is(err, syscall.ECONNREFUSED) {
						inFlight.Add(1) // cut by the kill, not refused after it
					}
					return
				}
				if code == http.StatusOK {
					mu.Lock()
					acked[fn] = sha256Hex(data)
					if len(acked) >= 2*uploaders {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				}
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Error("uploads to the replica did not get going")
	}
	victim.kill()
	wg.Wait()
	t.Logf("%d uploads acknowledged before the kill; %d were in flight", len(acked), inFlight.Load())
	if inFlight.Load() == 0 {
		t.Error("no upload was in flight at the kill")
	}

	listed := map[string]string{}
	_, ok := eventually(replicaLag, func() bool {
		listed = f.listedFiles(witness, projects)
		for fn := range acked {
			if _, ok := listed[fn]; !ok {
				return false
			}
		}
		return true
	})
	if !ok {
		for fn := range acked {
			if _, ok := listed[fn]; !ok {
				t.Errorf("%s got 200 from the killed replica but %s does not list it", fn, witness.name)
			}
		}
	}
	all := f.checkListed(t, witness, projects)
	for fn, sha := range acked {
		if all[fn] != "" && all[fn] != sha {
			t.Errorf("%s is listed with sha256 %s, uploaded as %s", fn, all[fn], sha)
		}
	}
	t.Logf("%s lists %d files of the killed uploads", witness.name, len(all))

	if err := victim.start(t); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(victim.data, "tmp")); len(ents) != 0 {
		t.Errorf("%d temporary uploads left in the restarted replica's data folder", len(ents))
	}
	f.checkListed(t, victim, projects)
	fn, data := syntheticWheel(t, "rep_kill_0", "2.0", 1<<10)
	if code, body, err := victim.upload(fn, data, "rep-kill-0", "2.0", bearerAuth(f.upload)); err != nil || code != http.StatusOK {
		t.Errorf("upload to the restarted replica: %d %s %v", code, body, err)
	}
}

// listedFiles returns the files the projects' pages on r list, by
// filename, with their sha256 (nothing is downloaded).
func (f *fleet) listedFiles(r *replica, projects []string) map[string]string {
	out := map[string]string{}
	for _, p := range projects {
		files, err := r.listed(p, bearerAuth(f.read))
		if err != nil {
			continue
		}
		for _, lf := range files {
			out[lf.filename] = lf.sha256
		}
	}
	return out
}

// postgresRestart: PostgreSQL is stopped and started while clients read
// pages and files and upload through every replica. No client ever gets a
// 5xx other than 503; while it is down each replica serves again the page
// and files it served before (a private index: with a token it verified
// before); once PostgreSQL is back every replica is ready and
// takes uploads again without a restart (the same processes); every upload
// that got 200 is listed on every replica, and every listed file downloads
// whole.
func (f *fleet) postgresRestart(t *testing.T) {
	type tally struct {
		mu    sync.Mutex
		codes map[string]int // "read 200", "upload 503", ...
		bad   []string
	}
	tl := &tally{codes: map[string]int{}}
	note := func(kind string, code int, body []byte, err error) {
		tl.mu.Lock()
		defer tl.mu.Unlock()
		if err != nil {
			tl.bad = append(tl.bad, kind+": "+err.Error())
			return
		}
		tl.codes[kind+" "+strconv.Itoa(code)]++
		// Always: a request succeeds or gets 503, never a 500
		// nor a 4xx (a 401 would tell pip or twine their credentials are
		// wrong), and a 503 says why in one line.
		switch {
		case code != http.StatusOK && code != http.StatusServiceUnavailable:
			tl.bad = append(tl.bad, fmt.Sprintf("%s: %d %s", kind, code, body))
		case code == http.StatusServiceUnavailable && kind != "download" &&
			(len(bytes.TrimSpace(body)) == 0 || bytes.Contains(bytes.TrimSpace(body), []byte("\n"))):
			tl.bad = append(tl.bad, fmt.Sprintf("%s: 503 without a one-line reason: %q", kind, body))
		}
	}
	// While PostgreSQL is down (every replica's /readyz said so, until it
	// is started again), what a replica already served is served again:
	// the page, and each file it has downloaded before, with the read
	// token it has verified before (a private index). Only what it never
	// held, and writes, get 503.
	var outage atomic.Bool
	var servedMu sync.Mutex
	served := map[string]bool{} // replica URL + file URL, downloaded 200
	during := func(kind, what string, code int, err error) {
		if !outage.Load() || err != nil || code == http.StatusOK {
			return
		}
		tl.mu.Lock()
		defer tl.mu.Unlock()
		tl.bad = append(tl.bad, fmt.Sprintf("%s of %s during the outage: %d, want 200 (this replica served it before)", kind, what, code))
	}
	pids := map[string]int{}
	for _, r := range f.replicas {
		pids[r.name] = r.cmd.Process.Pid
	}
	known, err := f.replicas[0].listed("rep-app", bearerAuth(f.read))
	if err != nil || len(known) == 0 {
		t.Fatalf("rep-app before the restart: %v %v", known, err)
	}
	var mu sync.Mutex
	acked := map[string]string{}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, uploads atomic.Int64
	for i, r := range f.replicas {
		wg.Add(2)
		go func() { // a reader: the page, then a file
			defer wg.Done()
			for k := 0; !stop.Load(); k++ {
				code, body, err := fetch(http.MethodGet, r.url+"/simple/rep-app/", bearerAuth(f.read), nil)
				note("read", code, body, err)
				during("read", r.url+"/simple/rep-app/", code, err)
				lf := known[k%len(known)]
				u := strings.Replace(lf.url, f.replicas[0].url, r.url, 1)
				code, body, err = fetch(http.MethodGet, u, bearerAuth(f.read), nil)
				note("download", code, nil, err)
				servedMu.Lock()
				before := served[u]
				if err == nil && code == http.StatusOK && sha256Hex(body) == lf.sha256 {
					served[u] = true
				}
				servedMu.Unlock()
				if before {
					during("download", u, code, err)
				}
				if err == nil && code == http.StatusOK && sha256Hex(body) != lf.sha256 {
					note("download", 0, nil, fmt.Errorf("%s came with sha256 %s, listed %s", u, sha256Hex(body), lf.sha256))
				}
				reads.Add(1)
				time.Sleep(10 * time.Millisecond) // a steady load, not a flood of 503s
			}
		}()
		go func() { // an uploader: new small files, back to back
			defer wg.Done()
			name := fmt.Sprintf("rep_pg_%d", i)
			for v := 1; !stop.Load(); v++ {
				version := "1." + strconv.Itoa(v)
				fn, data := syntheticWheel(t, name, version, 4<<10)
				code, body, err := r.upload(fn, data, strings.ReplaceAll(name, "_", "-"), version, bearerAuth(f.upload))
				note("upload", code, []byte(body), err)
				if err == nil && code == http.StatusOK {
					mu.Lock()
					acked[fn] = sha256Hex(data)
					mu.Unlock()
				}
				uploads.Add(1)
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	// Some load before the outage.
	if _, ok := eventually(20*time.Second, func() bool { return uploads.Load() >= 6 && reads.Load() >= 6 }); !ok {
		t.Error("no load before the outage")
	}
	var outageFor time.Duration
	pgtest.Restart(t, func() {
		down := time.Now()
		for _, r := range f.replicas {
			if _, ok := eventually(10*time.Second, func() bool {
				code, _, err := fetch(http.MethodGet, r.url+"/readyz", "", nil)
				return err == nil && code == http.StatusServiceUnavailable
			}); !ok {
				t.Errorf("%s: /readyz not 503 while PostgreSQL is down", r.name)
			}
		}
		outage.Store(true)
		defer outage.Store(false)
		// The load goes on against a stopped PostgreSQL for a second at
		// least (an outage takes time; the pools' reconnects must cope
		// with more than one failed attempt), and for enough requests.
		r0, u0 := reads.Load(), uploads.Load()
		eventually(20*time.Second, func() bool {
			return time.Since(down) >= time.Second && reads.Load() >= r0+15 && uploads.Load() >= u0+15
		})
		outageFor = time.Since(down)
	})
	back := time.Now()
	for _, r := range f.replicas {
		d, ok := eventually(30*time.Second, func() bool {
			code, _, err := fetch(http.MethodGet, r.url+"/readyz", "", nil)
			return err == nil && code == http.StatusOK
		})
		if !ok {
			t.Errorf("%s: /readyz not 200 %v after PostgreSQL came back", r.name, d)
		}
	}
	t.Logf("PostgreSQL was down %v; every replica ready %v after it came back", outageFor.Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	// Uploads succeed again on every replica, with the load still on.
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	if _, ok := eventually(30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= before+6 }); !ok {
		t.Error("uploads do not succeed again after PostgreSQL came back")
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("responses during the restart: %v", tl.codes)
	for _, b := range tl.bad {
		t.Errorf("during the restart: %s", b)
	}
	for _, r := range f.replicas {
		if !r.running() || r.cmd.Process.Pid != pids[r.name] {
			t.Errorf("%s did not survive the PostgreSQL restart", r.name)
		}
		fn, data := syntheticWheel(t, "rep_pg_after", "1."+r.name[len(r.name)-1:], 1<<10)
		if code, body, err := r.upload(fn, data, "rep-pg-after", "1."+r.name[len(r.name)-1:], bearerAuth(f.upload)); err != nil || code != http.StatusOK {
			t.Errorf("upload through %s after the restart: %d %s %v", r.name, code, body, err)
		}
	}
	projects := []string{"rep-app", "rep-pg-0", "rep-pg-1", "rep-pg-2"}
	for _, r := range f.replicas {
		all := f.checkListed(t, r, projects)
		for fn, sha := range acked {
			if all[fn] != sha {
				t.Errorf("%s: %s got 200 during the restart but is listed with %q", r.name, fn, all[fn])
			}
		}
	}
}

// catalogCopy: the replicas' PostgreSQL catalog is copied into a SQLite
// file and that into a new PostgreSQL database, each copy verifying its
// row counts, and a server on each copy (the same bucket) serves the same
// pages as the replicas.
func (f *fleet) catalogCopy(t *testing.T) {
	counts := map[string]int{}
	for _, table := range []string{"projects", "releases", "files", "users", "tokens", "project_owners", "dev_versions", "audit"} {
		var n int
		if err := f.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
	}
	checkCounts := func(what, out string) {
		if !strings.Contains(out, "row counts verified") {
			t.Errorf("%s: no verification in the output:\n%s", what, out)
		}
		for table, n := range counts {
			if !hasRow(out, table+" "+strconv.Itoa(n)) {
				t.Errorf("%s: the output lacks %q:\n%s", what, table+" "+strconv.Itoa(n), out)
			}
		}
	}

	sqliteData := filepath.Join(t.TempDir(), "data")
	out, err := runCLI(t, nil, "", "catalog", "copy", "--catalog", f.catalog, "--to", "sqlite:"+filepath.Join(sqliteData, "catalog.db"))
	if err != nil {
		t.Fatalf("copy PostgreSQL to SQLite: %v\n%s", err, out)
	}
	checkCounts("PostgreSQL to SQLite", out)
	pg2 := pgtest.URL(t)
	out, err = runCLI(t, nil, "", "catalog", "copy", "--data", sqliteData, "--to", pg2)
	if err != nil {
		t.Fatalf("copy SQLite to PostgreSQL: %v\n%s", err, out)
	}
	checkCounts("SQLite to PostgreSQL", out)

	onSQLite := newReplica(t, "sqlite-copy", sqliteData, "", f.s3)
	onPG := newReplica(t, "postgres-copy", filepath.Join(t.TempDir(), "data"), pg2, f.s3)
	for _, r := range []*replica{onSQLite, onPG} {
		if err := r.start(t); err != nil {
			t.Fatal(err)
		}
	}
	var projects []string
	rows, err := f.db.Query(`SELECT name FROM projects ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		rows.Scan(&p)
		projects = append(projects, p)
	}
	rows.Close()
	sort.Strings(projects)
	auth := bearerAuth(f.read) // the copied catalog has the same tokens
	for _, page := range append([]string{"/simple/"}, func() []string {
		var out []string
		for _, p := range projects {
			out = append(out, "/simple/"+p+"/")
		}
		return out
	}()...) {
		_, want, err := fetch(http.MethodGet, f.replicas[0].url+page, auth, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*replica{onSQLite, onPG} {
			code, got, err := fetch(http.MethodGet, r.url+page, auth, nil)
			if err != nil || code != http.StatusOK || !bytes.Equal(got, want) {
				t.Errorf("%s on %s: %d %v, differs from the replicas':\n%s\nwant:\n%s", page, r.name, code, err, got, want)
			}
		}
	}
	f.checkListed(t, onSQLite, projects)
	f.checkListed(t, onPG, projects)
}
