package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
)

// parseExpiry reads "90d", "2w", "12h", "30m" or a date "2027-01-31" (UTC
// midnight) or an RFC 3339 time, relative to now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" {
		return time.Time{}, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 {
				return time.Time{}, fmt.Errorf("invalid expiry %q", s)
			}
			return now.Add(time.Duration(v) * unit), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("invalid expiry %q: must be positive", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid expiry %q (use 90d, 2w, 12h, a date like 2027-01-31, or never)", s)
}

func newTokenCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens (works while the server runs)",
		Long: `API tokens let CI upload and read without a person's password.

Use a token like on PyPI: twine -u __token__ -p TOKEN; pip
--index-url http://__token__:TOKEN@HOST/simple/; or the header
"Authorization: Bearer TOKEN" for the API. Tokens start with "pyi_" so
that secret scanners can spot a leaked one. Scopes are ordered:
read < upload < admin.`,
	}
	var scope, expires, description string
	var projects []string
	var asJSON bool
	create := &cobra.Command{
		Use:   "create USER [--scope read|upload|admin] [--project NAME]... [--expires 90d] [--description TEXT]",
		Short: "Create a token for USER and print it (shown once: only a hash is kept)",
		Long: `Create a token for USER. The token is printed alone on the last line
of standard output, and never again: only its SHA-256 hash is stored.

--project (repeatable) limits the token to those projects, for uploads
and, when anonymous reads are off, for reads. A token limited to a
project may upload to it even if USER does not own it. An admin token
cannot be limited to projects.`,
		Example: `  pyindex token create ci --project acme-core --expires 90d --description "GitLab CI"
  TOKEN=$(pyindex token create ci --scope read | tail -n1)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := index.ParseScope(scope)
			if err != nil {
				return err
			}
			if sc == index.ScopeAdmin && len(projects) > 0 {
				return errors.New("--project cannot limit an admin token: the admin scope acts on users, tokens and every project; " +
					"use --scope upload (or read) with --project")
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
				t, secret, err := cat.CreateToken(ctx, index.NewToken{User: args[0], Scope: sc, Projects: projects,
					Description: description, ExpiresAt: exp}, cliActor())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				limit := "any project"
				if len(t.Projects) > 0 {
					limit = strings.Join(t.Projects, ", ")
				}
				until := "never expires"
				if t.ExpiresAt != nil {
					until = "expires " + t.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(out, "token %d for %s in %s: scope %s, %s, %s\n", t.ID, t.User, absPath(cat.Path()), t.Scope, limit, until)
				fmt.Fprintln(out, "Store it now; it cannot be shown again:")
				fmt.Fprintln(out, secret)
				return nil
			})
		},
	}
	create.Flags().StringVar(&scope, "scope", "upload", "read, upload or admin (admin only for admin users)")
	create.Flags().StringArrayVar(&projects, "project", nil, "limit the token to this project (repeatable; not with --scope admin)")
	create.Flags().StringVar(&expires, "expires", "", "lifetime (90d, 2w, 12h) or date (2027-01-31); default: never")
	create.Flags().StringVar(&description, "description", "", "what the token is for (shown by token list)")

	list := &cobra.Command{
		Use:   "list [USER]",
		Short: "List tokens (never their secrets)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
				toks, err := cat.Tokens(ctx, user)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"tokens": toks})
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tSCOPE\tPROJECTS\tEXPIRES\tLAST USED\tSTATUS\tDESCRIPTION")
				for _, t := range toks {
					projects := "*"
					if len(t.Projects) > 0 {
						projects = strings.Join(t.Projects, ",")
					}
					exp, used, status := "never", "never", "active"
					if t.ExpiresAt != nil {
						exp = t.ExpiresAt.Format("2006-01-02 15:04Z")
						if time.Now().After(*t.ExpiresAt) {
							status = "expired"
						}
					}
					if t.LastUsedAt != nil {
						used = t.LastUsedAt.Format("2006-01-02 15:04Z")
					}
					if t.Revoked {
						status = "revoked"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Scope, projects, exp, used, status, t.Description)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("token ID %q is not a number (see pyindex token list)", args[0])
			}
			return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
				if err := cat.RevokeToken(ctx, id, cliActor()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked token %d in %s\n", id, absPath(cat.Path()))
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
