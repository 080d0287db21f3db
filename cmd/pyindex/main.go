// Command pyindex is a private Python package index: twine uploads in, pip
// installs out, with an admin CLI.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/buildinfo"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise Version falls back to the VCS information Go embeds.
var version = ""

// Version returns this build's version (buildinfo.Version).
func Version() string { return buildinfo.Version(version) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewRootCmd(os.Stdin, os.Stdout, os.Stderr, osEnv)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "pyindex:", err)
		os.Exit(1)
	}
}

// globalFlags are accepted by every subcommand.
type globalFlags struct {
	data    string
	config  string
	catalog string
	init    bool
}

// NewRootCmd returns the pyindex command tree, reading and writing the
// given streams (tests run it in-process).
func NewRootCmd(stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:   "pyindex",
		Short: "A private Python package index",
		Long: `pyindex is a private Python package index in one binary.

CI uploads with twine to http://HOST/legacy/, machines install with
pip install --index-url http://HOST/simple/, admins manage users from
this command line. With no configuration it listens on 127.0.0.1:8080
and keeps everything under ./data.

Settings come from, in increasing priority: built-in defaults, the TOML
file given by --config or PYINDEX_CONFIG, PYINDEX_* environment variables
(PYINDEX_LISTEN, PYINDEX_DATA, PYINDEX_UPLOAD_MAX_FILE_SIZE, ...: the
upper-cased key path of config.example.toml), and command-line flags.`,
		Version:       Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.data, "data", "", "data folder (catalog, files); default ./data, env PYINDEX_DATA")
	root.PersistentFlags().StringVar(&g.config, "config", "", "TOML configuration file; env PYINDEX_CONFIG")
	root.PersistentFlags().StringVar(&g.catalog, "catalog", "", "catalog database: a postgres:// URL (default: SQLite in the data folder); env PYINDEX_CATALOG_URL")
	root.PersistentFlags().BoolVar(&g.init, "init", false, "create an empty catalog when the data folder has none (serve and restore always do)")

	load := func(cmd *cobra.Command) (Config, error) {
		path := g.config
		if path == "" {
			path, _ = env("PYINDEX_CONFIG")
		}
		// Every problem is reported at once: the file's, the
		// environment's, and Validate's of the values that did load.
		cfg, loadErr := LoadConfig(path, env)
		if cmd.Flags().Changed("data") {
			cfg.Data = g.data
		}
		if cmd.Flags().Changed("catalog") {
			cfg.Catalog.URL = g.catalog
		}
		cfg.mayCreate = g.init
		if f := cmd.Flags().Lookup("listen"); f != nil && f.Changed {
			cfg.Listen = f.Value.String()
		}
		if f := cmd.Flags().Lookup("log-format"); f != nil && f.Changed {
			cfg.LogFormat = f.Value.String()
		}
		if f := cmd.Flags().Lookup("upstream"); f != nil && f.Changed {
			cfg.Mirror.Upstream = f.Value.String()
		}
		var flagErrs []error
		if f := cmd.Flags().Lookup("upstream-ttl"); f != nil && f.Changed {
			d, err := time.ParseDuration(f.Value.String())
			if err != nil {
				flagErrs = append(flagErrs, fmt.Errorf("--upstream-ttl %q: not a duration such as 10m", f.Value.String()))
			}
			cfg.Mirror.TTL = d
		}
		if f := cmd.Flags().Lookup("offline"); f != nil && f.Changed {
			b, err := strconv.ParseBool(f.Value.String())
			if err != nil {
				flagErrs = append(flagErrs, fmt.Errorf("--offline=%q: not true or false", f.Value.String()))
			}
			cfg.Mirror.Offline = b
		}
		if f := cmd.Flags().Lookup("upstream-changed"); f != nil && f.Changed {
			cfg.Mirror.UpstreamChanged = f.Value.String()
		}
		if err := errors.Join(loadErr, errors.Join(flagErrs...), cfg.Validate()); err != nil {
			return cfg, fmt.Errorf("invalid configuration:\n%w", err)
		}
		return cfg, nil
	}

	root.AddCommand(newServeCmd(load), newUserCmd(load), newTokenCmd(load), newFsckCmd(load), newStorageCmd(load), newVersionCmd(), newMirrorCmd(load))
	root.AddCommand(newBackupCmd(load), newRestoreCmd(load), newCatalogCmd(load))
	root.AddCommand(newPruneCmd(load), newYankCmd(load), newUnyankCmd(load), newDeleteCmd(load)) // admin.go
	root.AddCommand(newOwnerCmd(load))                                                           // owner.go
	root.AddCommand(newListCmd(load), newShowCmd(load), newAuditCmd(load))                       // views.go
	root.AddCommand(newGenericCmd(load))                                                         // generic.go
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this pyindex build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), Version())
			return nil
		},
	}
}

func newServeCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the index server",
		Long: `Run the index server until SIGINT or SIGTERM. On a signal it stops
accepting connections, lets requests in flight (uploads included) finish
within server.shutdown_timeout, and closes the catalog cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			m := NewMain(cfg, cmd.ErrOrStderr())
			if err := m.Run(cmd.Context()); err != nil {
				m.Close()
				return startError(err, cfg)
			}
			select {
			case <-cmd.Context().Done():
				m.Log.Info("shutting down")
			case err := <-m.Done():
				m.Close()
				return err
			}
			return m.Close()
		},
	}
	def := DefaultConfig() // flag defaults are the configuration's
	cmd.Flags().String("listen", def.Listen, "address to listen on; env PYINDEX_LISTEN")
	cmd.Flags().String("log-format", def.LogFormat, "log format, text or json; env PYINDEX_LOG_FORMAT, config log_format")
	cmd.Flags().String("upstream", def.Mirror.Upstream, "simple-API URL of the index to mirror, \"\" for none; env PYINDEX_MIRROR_UPSTREAM")
	// These two are parsed by load, so that a bad value is reported with
	// every other bad setting (cobra would stop at it alone).
	cmd.Flags().Var(&lateFlag{s: def.Mirror.TTL.String(), typ: "duration"}, "upstream-ttl", "how long a mirrored page is served before the upstream is asked again; env PYINDEX_MIRROR_TTL")
	cmd.Flags().Var(&lateFlag{s: strconv.FormatBool(def.Mirror.Offline), typ: "bool"}, "offline", "serve only what the mirror has cached, never contact the upstream; env PYINDEX_MIRROR_OFFLINE")
	cmd.Flags().Lookup("offline").NoOptDefVal = "true"
	cmd.Flags().String("upstream-changed", def.Mirror.UpstreamChanged, upstreamChangedUsage)
	return cmd
}

func newUserCmd(load func(*cobra.Command) (Config, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users who can upload (works while the server runs)",
	}
	withCatalog := func(cmd *cobra.Command, fn func(context.Context, *index.Catalog) error) error {
		return withCatalogDo(cmd, load, fn)
	}
	var admin, pwStdin bool
	add := &cobra.Command{
		Use:   "add NAME [--admin] --password-stdin",
		Short: "Create a user; the password is read from standard input",
		Example: `  echo "$PASSWORD" | pyindex user add ci --password-stdin
  pyindex user add alice --admin --password-stdin   # asks on a terminal`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, pwStdin)
			if err != nil {
				return err
			}
			return withCatalog(cmd, func(ctx context.Context, cat *index.Catalog) error {
				if _, err := cat.AddUser(ctx, args[0], pw, admin, cliActor()); err != nil {
					return err
				}
				role := "user"
				if admin {
					role = "admin"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created %s %s in %s\n", role, args[0], absPath(cat.Path()))
				return nil
			})
		},
	}
	add.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input (first line)")

	passwd := &cobra.Command{
		Use:   "passwd NAME --password-stdin",
		Short: "Change a user's password; the new one is read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, pwStdin)
			if err != nil {
				return err
			}
			return withCatalog(cmd, func(ctx context.Context, cat *index.Catalog) error {
				if err := cat.SetPassword(ctx, args[0], pw, cliActor()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed in %s\n", args[0], absPath(cat.Path()))
				return nil
			})
		},
	}
	passwd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input (first line)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withCatalog(cmd, func(ctx context.Context, cat *index.Catalog) error {
				users, err := cat.Users(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
				for _, u := range users {
					role := "user"
					if u.Admin {
						role = "admin"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, role, u.CreatedAt.Format("2006-01-02 15:04:05Z"))
				}
				return tw.Flush()
			})
		},
	}
	var force bool
	remove := &cobra.Command{
		Use:   "remove NAME [--force]",
		Short: "Delete a user (one who owns projects only with --force)",
		Long: `Delete a user and its tokens. A user who owns projects is refused, with
the projects named: hand each on first (pyindex owner add PROJECT USER).
--force removes the user anyway; each project keeps its other owners or,
without any, becomes admin-only. Either way the audit log records it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCatalog(cmd, func(ctx context.Context, cat *index.Catalog) error {
				return removeUser(ctx, cmd, cat, args[0], force)
			})
		},
	}
	remove.Flags().BoolVar(&force, "force", false, "remove a user who owns projects (they keep their other owners or become admin-only)")
	cmd.AddCommand(add, passwd, list, remove)
	return cmd
}

// readPassword reads a password from standard input: the first line when
// --password-stdin is given, or with a hidden prompt on a terminal.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	in := cmd.InOrStdin()
	if !fromStdin {
		f, ok := in.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", errors.New("pass --password-stdin and the password on standard input (refusing to take it from an argument)")
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		b2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		if string(b) != string(b2) {
			return "", errors.New("the passwords differ")
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on standard input")
	}
	return pw, nil
}

// lateFlag is a flag whose value load parses with the configuration.
type lateFlag struct{ s, typ string }

func (f *lateFlag) String() string     { return f.s }
func (f *lateFlag) Set(s string) error { f.s = s; return nil }
func (f *lateFlag) Type() string       { return f.typ }

// cliActor names who ran a CLI command, for the audit log.
func cliActor() string {
	u := os.Getenv("USER")
	if u == "" {
		u = "unknown"
	}
	return "cli:" + u
}
