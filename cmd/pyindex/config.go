package main

import (
	"encoding"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/simple"
	"github.com/pyindex/pyindex/index/webhook"
	"github.com/pyindex/pyindex/mirror"
	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
	"github.com/pyindex/pyindex/storage/s3"
	"github.com/pyindex/pyindex/upload"
)

// Config is the whole configuration. It is loaded as DefaultConfig(), then
// the TOML file, then PYINDEX_* environment variables, then command-line
// flags, and finally checked by Validate. config.example.toml documents
// every key; a test keeps it equal to DefaultConfig().
type Config struct {
	// Listen is the address the server listens on.
	Listen string `toml:"listen"`
	// Data is the folder holding the catalog, the files and temporary
	// uploads.
	Data string `toml:"data"`
	// LogFormat is "text" or "json".
	LogFormat string `toml:"log_format"`
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string `toml:"log_level"`

	// mayCreate lets a command create an empty catalog where the data
	// folder has none (serve always may; other commands with --init).
	mayCreate bool

	Server  ServerConfig  `toml:"server"`
	Auth    auth.Config   `toml:"auth"`
	Index   simple.Config `toml:"index"`
	Upload  upload.Config `toml:"upload"`
	Storage StorageConfig `toml:"storage"`
	Mirror  MirrorConfig  `toml:"mirror"`

	// Retention prunes dev builds on a schedule (off by default).
	Retention admin.RetentionConfig `toml:"retention"`

	// Webhooks are the [[webhooks]] entries: receivers told of every
	// upload, yank, unyank and delete (none by default).
	Webhooks []webhook.Hook `toml:"webhooks"`
}

// ServerConfig holds the HTTP server's limits.
type ServerConfig struct {
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout time.Duration `toml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// WriteIdleTimeout cuts a reply whose client has accepted no bytes for
	// this long (a client that asked for a file and stopped reading), on
	// the fast lane and net/http alike; a slow client that keeps reading
	// is never cut. 0 means no limit.
	WriteIdleTimeout time.Duration `toml:"write_idle_timeout"`
	// ShutdownTimeout is how long a stopping server lets requests in
	// flight (uploads included) finish.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	// MaxHeaderBytes bounds the request header size.
	MaxHeaderBytes int `toml:"max_header_bytes"`
	// TrustProxyHeaders takes the client address from X-Forwarded-For /
	// X-Real-IP (set it only behind a reverse proxy that sets them);
	// otherwise the connection's address is used, so clients cannot
	// spoof it in the audit log or to dodge the failed-login limit.
	TrustProxyHeaders bool `toml:"trust_proxy_headers"`
	// FastLane answers plain GETs of already rendered simple pages and of
	// stored files on a lean HTTP/1.1 loop before net/http (package
	// index/fastlane); every other request, and the rest of its
	// connection, goes through net/http as before. Off routes everything
	// through net/http.
	FastLane bool `toml:"fast_lane"`
}

// MirrorConfig is the [mirror] section: the pull-through cache's keys
// (package mirror) and the syncs the server runs on a schedule
// ([[mirror.sync]] entries, package mirror/sync).
type MirrorConfig struct {
	mirror.Config
	// Sync lists the scheduled syncs.
	Sync []mirrorsync.Job `toml:"sync"`
}

// Validate reports every invalid key of the section, and scheduled syncs
// that the mirror cannot run.
func (c MirrorConfig) Validate() error {
	errs := []error{c.Config.Validate(), mirrorsync.Config{Jobs: c.Sync}.Validate()}
	if len(c.Sync) > 0 && (!c.Enabled() || c.Offline) {
		errs = append(errs, errors.New("mirror.sync: scheduled syncs need an upstream and offline = false"))
	}
	return errors.Join(errs...)
}

// StorageConfig selects where files are kept.
type StorageConfig struct {
	// Backend is "fs" (a folder) or "s3" (an S3 bucket: AWS, MinIO or
	// any S3-compatible server).
	Backend string `toml:"backend"`
	// Path is the folder of the fs backend; empty means "<data>/files".
	Path string `toml:"path"`
	// S3 configures the s3 backend ([storage.s3]).
	S3 s3.Config `toml:"s3"`
}

// DefaultConfig returns the embedded defaults: everything works with no
// configuration file at all.
func DefaultConfig() Config {
	return Config{
		Listen:    "127.0.0.1:8080",
		Data:      "./data",
		LogFormat: "text",
		LogLevel:  "info",
		Server: ServerConfig{
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			WriteIdleTimeout:  time.Minute,
			ShutdownTimeout:   30 * time.Second,
			MaxHeaderBytes:    64 << 10,
			FastLane:          true,
		},
		Auth:    auth.DefaultConfig(),
		Index:   simple.DefaultConfig(),
		Upload:  upload.DefaultConfig(),
		Storage: StorageConfig{Backend: "fs", S3: s3.DefaultConfig()},
		Mirror:  MirrorConfig{Config: mirror.DefaultConfig(), Sync: []mirrorsync.Job{}},

		Retention: admin.DefaultRetentionConfig(),
		Webhooks:  []webhook.Hook{},
	}
}

// LoadConfig reads the configuration: defaults, then the file at path
// (if not empty), then PYINDEX_* environment variables. Unknown keys in the
// file are an error, so a typo is never silently ignored.
func LoadConfig(path string, env func(string) (string, bool)) (Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return cfg, fmt.Errorf("config %s: unknown keys: %s", path, strings.Join(keys, ", "))
		}
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), "PYINDEX", env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// EnvName returns the environment variable that overrides a dotted TOML
// key: "upload.max_file_size" -> PYINDEX_UPLOAD_MAX_FILE_SIZE.
func EnvName(key string) string {
	return "PYINDEX_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// applyEnv walks the config struct and sets every field whose variable
// (PYINDEX_<SECTION>_<KEY>) is set.
func applyEnv(v reflect.Value, prefix string, env func(string) (string, bool)) error {
	t := v.Type()
	var errs []error
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			// An embedded section (MirrorConfig's mirror.Config): its
			// keys are the section's own, as in the TOML file.
			if err := applyEnv(v.Field(i), prefix, env); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(textUnmarshaler) && f.Type != reflect.TypeOf(time.Duration(0)) {
			if err := applyEnv(fv, name, env); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		s, ok := env(name)
		if !ok {
			continue
		}
		if err := setFromString(fv, s); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, s, err))
		}
	}
	return errors.Join(errs...)
}

func setFromString(v reflect.Value, s string) error {
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type")
		}
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// Validate reports every invalid setting at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port (%v)", c.Listen, err)
	}
	if strings.TrimSpace(c.Data) == "" {
		bad("data", "must not be empty")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q is not text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if c.Server.ReadHeaderTimeout <= 0 {
		bad("server.read_header_timeout", "must be positive")
	}
	if c.Server.IdleTimeout <= 0 {
		bad("server.idle_timeout", "must be positive")
	}
	if c.Server.WriteIdleTimeout < 0 {
		bad("server.write_idle_timeout", "must not be negative")
	}
	if c.Server.ShutdownTimeout < 0 {
		bad("server.shutdown_timeout", "must not be negative")
	}
	if c.Server.MaxHeaderBytes < 4096 {
		bad("server.max_header_bytes", "must be at least 4096")
	}
	// Each component validates its own section.
	for _, v := range []interface{ Validate() error }{c.Auth, c.Index, c.Upload, c.Mirror, c.Retention,
		webhook.Config{Hooks: c.Webhooks}} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	switch c.Storage.Backend {
	case "fs":
	case "s3":
		if err := c.Storage.S3.Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		bad("storage.backend", "%q is not a known backend (fs, s3)", c.Storage.Backend)
	}
	return errors.Join(errs...)
}

// osEnv adapts os.LookupEnv.
func osEnv(k string) (string, bool) { return os.LookupEnv(k) }
