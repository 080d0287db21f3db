package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pyindex/pyindex/index"
)

// cliPrincipal is who a CLI command acts as: an admin (whoever can open
// the catalog can change anything in it), recorded as "cli:$USER".
func cliPrincipal() index.Principal {
	return index.Principal{User: cliActor(), Admin: true, Scope: index.ScopeAdmin}
}

// describeOwners is "owners: alice, bob", or what a project without owners
// means.
func describeOwners(owners []string) string {
	if len(owners) == 0 {
		return "no owners left: admin-only (admins, and tokens limited to it, may upload)"
	}
	return "owners: " + strings.Join(owners, ", ")
}

func newOwnerCmd(load loader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "owner",
		Short: "Manage who owns a project (works while the server runs)",
		Long: `A project's owners may upload new releases of it; everybody else
(admins and tokens limited to the project aside) gets 403. The first
upload makes its uploader the owner; an owner or an admin adds more.

Owners may add and remove owners themselves through the API
(/api/v1/projects/NAME/owners) with their password, never with an API
token. Only an admin may remove the last owner: the project is then
admin-only. This command acts as an admin.`,
	}
	var asJSON bool
	change := func(use, short string, add bool) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
					change, verb, prep := cat.RemoveOwner, "removed", "from"
					if add {
						change, verb, prep = cat.AddOwner, "added", "to"
					}
					po, err := change(ctx, cliPrincipal(), args[0], args[1], cliWho())
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s the owners of %s in %s; %s\n",
						verb, args[1], prep, po.Project, absPath(cat.Path()), describeOwners(po.Owners))
					return err
				})
			},
		}
	}
	add := change("add PROJECT USER", "Make USER an owner of PROJECT", true)
	remove := change("remove PROJECT USER", "Remove USER from the owners of PROJECT (the last owner too: the project becomes admin-only)", false)
	list := &cobra.Command{
		Use:   "list PROJECT [--json]",
		Short: "List the owners of PROJECT, one a line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCatalogDo(cmd, load, func(ctx context.Context, cat *index.Catalog) error {
				po, err := cat.ListOwners(ctx, cliPrincipal(), args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), po)
				}
				if len(po.Owners) == 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s has %s\n", po.Project, describeOwners(nil))
				}
				return printLines(cmd.OutOrStdout(), po.Owners)
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON (as GET /api/v1/projects/NAME/owners answers)")
	cmd.AddCommand(add, remove, list)
	return cmd
}

func printLines(w io.Writer, lines []string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// removeUser is "user remove": it refuses a user who owns projects, naming
// them, unless force; then it says what became of each project.
func removeUser(ctx context.Context, cmd *cobra.Command, cat *index.Catalog, name string, force bool) error {
	out := cmd.OutOrStdout()
	if !force {
		err := cat.RemoveUser(ctx, name, cliActor())
		var owns *index.OwnsProjectsError
		if errors.As(err, &owns) {
			return fmt.Errorf("not removed: %s owns %s in %s; hand each on first (pyindex owner add PROJECT USER), "+
				"or pass --force (those projects keep their other owners or become admin-only)",
				name, strings.Join(owns.Projects, ", "), absPath(cat.Path()))
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "removed %s from %s\n", name, absPath(cat.Path()))
		return err
	}
	owned, err := cat.ForceRemoveUser(ctx, name, cliActor())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "removed %s from %s\n", name, absPath(cat.Path()))
	for _, po := range owned {
		fmt.Fprintf(out, "  %s: %s\n", po.Project, describeOwners(po.Owners))
	}
	return nil
}
