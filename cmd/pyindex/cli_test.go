package main_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
)

// runCLI runs pyindex with args and env, returning stdout and the error.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := pyindex.NewRootCmd(strings.NewReader(stdin), &out, &errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String() + errOut.String(), err
}

func TestUserCommands(t *testing.T) {
	data := t.TempDir()
	steps := []struct {
		args    []string
		stdin   string
		wantErr string
		wantOut string
	}{
		// A command on a folder without a catalog refuses to make one.
		{[]string{"user", "add", "alice", "--password-stdin"}, "alice-password\n", "no catalog at", ""},
		{[]string{"user", "list"}, "", "--init", ""},
		{[]string{"user", "add", "alice", "--password-stdin", "--init"}, "alice-password\n", "", "created user alice in "},
		{[]string{"user", "add", "root", "--admin", "--password-stdin"}, "root-password", "", "created admin root"},
		{[]string{"user", "add", "alice", "--password-stdin"}, "another-password\n", "already exists", ""},
		{[]string{"user", "add", "bob", "--password-stdin"}, "short\n", "at least 8", ""},
		{[]string{"user", "add", "bad name", "--password-stdin"}, "long-enough-1\n", "user name", ""},
		{[]string{"user", "add", "bob"}, "", "--password-stdin", ""},
		{[]string{"user", "add", "bob", "--password-stdin"}, "", "no password", ""},
		{[]string{"user", "list"}, "", "", "alice"},
		{[]string{"user", "passwd", "alice", "--password-stdin"}, "alice-password-2\n", "", "password of alice changed"},
		{[]string{"user", "passwd", "nobody", "--password-stdin"}, "whatever-123\n", "not found", ""},
		{[]string{"user", "remove", "alice"}, "", "", "removed alice"},
		{[]string{"user", "remove", "alice"}, "", "not found", ""},
	}
	for _, s := range steps {
		out, err := runCLI(t, nil, s.stdin, append(s.args, "--data", data)...)
		name := strings.Join(s.args, " ")
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("%s: err = %v, want one mentioning %q", name, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
			continue
		}
		if !strings.Contains(out, s.wantOut) {
			t.Errorf("%s: output %q lacks %q", name, out, s.wantOut)
		}
	}
	out, _ := runCLI(t, nil, "", "user", "list", "--data", data)
	if strings.Contains(out, "alice") || !strings.Contains(out, "root") || !strings.Contains(out, "admin") {
		t.Errorf("final list:\n%s", out)
	}
}

// TestNoCatalogIsNotCreated: a command run where there is no catalog (the
// wrong folder, a typo in --data) changes nothing and says where it looked;
// with --init it creates the catalog and names it.
func TestNoCatalogIsNotCreated(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"user", "add", "bob", "--password-stdin"},
		{"user", "list"},
		{"token", "list"},
		{"yank", "acme", "1.0"},
		{"prune", "--keep-dev", "1", "--dry-run"},
		{"fsck"},
	} {
		out, err := runCLI(t, nil, "bob-password-1\n", append(args, "--data", data)...)
		want := "no catalog at " + filepath.Join(data, "catalog.db")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one saying %q\n%s", strings.Join(args, " "), err, want, out)
		}
		if _, err := os.Stat(filepath.Join(data, "catalog.db")); !os.IsNotExist(err) {
			t.Fatalf("%s created a catalog (%v)", strings.Join(args, " "), err)
		}
	}
	out, err := runCLI(t, nil, "bob-password-1\n", "user", "add", "bob", "--password-stdin", "--data", data, "--init")
	if err != nil || !strings.Contains(out, "created user bob in "+filepath.Join(data, "catalog.db")) {
		t.Errorf("user add --init: %v\n%s", err, out)
	}
}

// TestDataPrecedence: --data beats PYINDEX_DATA, which beats the file.
func TestDataPrecedence(t *testing.T) {
	dir := t.TempDir()
	fileData, envData, flagData := filepath.Join(dir, "file"), filepath.Join(dir, "env"), filepath.Join(dir, "flag")
	cfgFile := filepath.Join(dir, "c.toml")
	writeFile(t, cfgFile, "data = \""+fileData+"\"\n")
	add := func(env map[string]string, name string, extra ...string) {
		t.Helper()
		if out, err := runCLI(t, env, "pass-word-123\n", append([]string{"user", "add", name, "--password-stdin"}, extra...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	add(map[string]string{"PYINDEX_CONFIG": cfgFile}, "u1", "--init")
	add(map[string]string{"PYINDEX_CONFIG": cfgFile, "PYINDEX_DATA": envData}, "u2", "--init")
	add(map[string]string{"PYINDEX_DATA": envData}, "u3", "--config", cfgFile, "--data", flagData, "--init")
	for dataDir, want := range map[string]string{fileData: "u1", envData: "u2", flagData: "u3"} {
		out, err := runCLI(t, nil, "", "user", "list", "--data", dataDir)
		if err != nil || !strings.Contains(out, want) || strings.Count(out, "\n") != 2 {
			t.Errorf("%s holds %q (err %v), want only %s", dataDir, out, err, want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	out, err := runCLI(t, nil, "", "version")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("version: %q %v", out, err)
	}
	out2, err := runCLI(t, nil, "", "--version")
	if err != nil || !strings.Contains(out2, strings.TrimSpace(out)) {
		t.Errorf("--version %q does not match version %q", out2, out)
	}
}

// TestServeBusyPort: serve on an address that is taken fails with an error
// naming the address, before it creates the data folder or a catalog.
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	out, err := runCLI(t, nil, "", "serve", "--listen", ln.Addr().String(), "--data", data)
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+ln.Addr().String()) ||
		!strings.Contains(err.Error(), "another program") || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("serve on a busy port: %v\n%s", err, out)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve on a busy port created %s (%v)", data, err)
	}
}

// TestConfigReportsEveryProblem: one run names every bad setting, wherever
// it comes from: values of the wrong type and unknown keys in the file
// (top level, sections, [[mirror.sync]] entries), values out of range in
// several sections, bad environment variables and bad flags.
func TestConfigReportsEveryProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pyindex.toml")
	body := `log_level = 5
colour = "blue"

[server]
idle_timeout = "soon"
max_header_bytes = 10

[upload]
max_file_size = "lots"
typo = 1

[auth]
max_failed_logins = -1

[retention]
enabled = true
interval = "10s"
keep_dev = -1
dev_older_than = "-1h"

[[mirror.sync]]
projects = ["acme"]
interval = "1h"
nonsense = true
`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PYINDEX_INDEX_PAGE_CACHE_ENTRIES": "many", "PYINDEX_STORAGE_BACKEND": "tape"}
	_, err := runCLI(t, env, "", "serve", "--config", file, "--listen", "nowhere", "--log-format", "xml",
		"--upstream-ttl", "soon", "--offline=maybe", "--data", t.TempDir())
	if err == nil {
		t.Fatal("serve with a bad configuration started")
	}
	for _, want := range []string{
		`last key "log_level"`, `last key "server.idle_timeout"`, `last key "upload.max_file_size"`,
		"unknown keys: colour, upload.typo, mirror.sync.nonsense",
		"server.max_header_bytes", "auth.max_failed_logins", "retention.interval",
		"keep_dev must not be negative", "dev_older_than must not be negative",
		"PYINDEX_INDEX_PAGE_CACHE_ENTRIES", "storage.backend", "listen", "log_format",
		"--upstream-ttl", "--offline",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %s:\n%v", want, err)
		}
	}
}
