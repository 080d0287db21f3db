package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

// TestExampleConfigMatchesDefaults keeps config.example.toml honest: it
// must list every key with exactly the default value.
func TestExampleConfigMatchesDefaults(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "..", "config.example.toml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("config.example.toml differs from DefaultConfig():\n got  %+v\n want %+v", cfg, want)
	}
	// Every key of the config struct must appear in the file.
	body, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range configKeys(reflect.TypeOf(Config{}), "") {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(body), "\n"+leaf+" = ") && !strings.Contains(string(body), "#   [["+key+"]]") {
			t.Errorf("config.example.toml does not document %s", key)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// TestExampleSyncJobUncomments: uncommenting the example [[mirror.sync]]
// table gives a configuration with that job (it once gave "unknown keys:
// mirror.sync.sync").
func TestExampleSyncJobUncomments(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(body), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "#   [[mirror.sync]]":
			in = true
		case in && !strings.HasPrefix(l, "#   "):
			in = false
		}
		if in {
			lines[i] = strings.TrimPrefix(l, "#   ")
		}
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, noEnv)
	if err != nil {
		t.Fatalf("the example with its sync job uncommented: %v", err)
	}
	if len(cfg.Mirror.Sync) != 1 || cfg.Mirror.Sync[0].Name != "site" {
		t.Errorf("sync jobs = %+v, want the example's", cfg.Mirror.Sync)
	}
}

func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if tag == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			out = append(out, configKeys(f.Type, prefix+tag+".")...)
			continue
		}
		out = append(out, prefix+tag)
	}
	return out
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(file, []byte("listen = \"127.0.0.1:1111\"\ndata = \"/from/file\"\n[upload]\nmax_file_size = \"10MiB\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PYINDEX_DATA": "/from/env", "PYINDEX_UPLOAD_MAX_METADATA_SIZE": "1MiB", "PYINDEX_SERVER_IDLE_TIMEOUT": "5s"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := LoadConfig(file, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:1111" {
		t.Errorf("listen = %q, want the file's", cfg.Listen)
	}
	if cfg.Data != "/from/env" {
		t.Errorf("data = %q, want env over file", cfg.Data)
	}
	if cfg.Upload.MaxFileSize != 10<<20 || cfg.Upload.MaxMetadataSize != 1<<20 {
		t.Errorf("upload = %+v", cfg.Upload)
	}
	if cfg.Server.IdleTimeout != 5*time.Second {
		t.Errorf("idle_timeout = %v", cfg.Server.IdleTimeout)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"unknown key", "listn = \"x\"\n", nil, []string{"unknown keys: listn"}},
		{"bad size", "[upload]\nmax_file_size = \"lots\"\n", nil, []string{"invalid size"}},
		{"bad env", "", map[string]string{"PYINDEX_SERVER_IDLE_TIMEOUT": "soon"}, []string{"PYINDEX_SERVER_IDLE_TIMEOUT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
			if err := os.WriteFile(file, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(file, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "nonsense"
	cfg.LogFormat = "xml"
	cfg.Upload.MaxFileSize = 0
	cfg.Storage.Backend = "tape"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"listen", "log_format", "upload.max_file_size", "storage.backend"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not mention %s: %v", key, err)
		}
	}
}

// TestExampleWebhookUncomments: uncommenting the example [[webhooks]]
// table gives a valid configuration with that hook.
func TestExampleWebhookUncomments(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(body), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "#   [[webhooks]]":
			in = true
		case in && !strings.HasPrefix(l, "#   "):
			in = false
		}
		if in {
			lines[i] = strings.TrimPrefix(l, "#   ")
		}
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, noEnv)
	if err != nil {
		t.Fatalf("the example with its webhook uncommented: %v", err)
	}
	if len(cfg.Webhooks) != 1 || cfg.Webhooks[0].Name != "deploy" || cfg.Webhooks[0].Keep != 100 {
		t.Fatalf("webhooks = %+v, want the example's", cfg.Webhooks)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the example webhook does not validate: %v", err)
	}
}

// TestWebhookConfigErrors: every bad key of every hook is reported at
// once, with the others' errors.
func TestWebhookConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	body := "listen = \"nope\"\n[[webhooks]]\nname = \"a\"\nurl = \"ftp://x\"\nevents = [\"push\"]\nsecret = \"short\"\n" +
		"[[webhooks]]\nurl = \"https://ok.example.com/\"\nsecret = \"long-enough-secret-1\"\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{"listen:", "webhooks[0].url:", "webhooks[0].events:", "webhooks[0].secret:", "webhooks[1].name: is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
