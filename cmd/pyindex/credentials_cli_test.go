package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCredentialCommands: the CLI refuses an admin token limited to
// projects and a password bcrypt would cut, with messages that say why.
func TestCredentialCommands(t *testing.T) {
	data := t.TempDir()
	for _, s := range []struct {
		args    []string
		stdin   string
		wantErr string
	}{
		{[]string{"user", "add", "root", "--admin", "--password-stdin", "--init"}, "root-password-1\n", ""},
		{[]string{"user", "add", "long", "--password-stdin"}, strings.Repeat("p", 73) + "\n", "at most 72 bytes"},
		{[]string{"user", "add", "long", "--password-stdin"}, strings.Repeat("p", 72) + "\n", ""},
		{[]string{"user", "passwd", "long", "--password-stdin"}, strings.Repeat("q", 80) + "\n", "at most 72 bytes"},
		{[]string{"token", "create", "root", "--scope", "admin", "--project", "acme-core"}, "", "--project cannot limit an admin token"},
		{[]string{"token", "create", "root", "--scope", "upload", "--project", "acme-core"}, "", ""},
	} {
		out, err := runCLI(t, nil, s.stdin, append(s.args, "--data", data)...)
		name := strings.Join(s.args, " ")
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("%s: %v\n%s", name, err, out)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: err = %v, want one saying %q", name, err, s.wantErr)
		}
	}
	out, _ := runCLI(t, nil, "", "token", "list", "--data", data)
	if strings.Count(out, "acme-core") != 1 || strings.Contains(out, "admin") {
		t.Errorf("tokens:\n%s", out)
	}
}

// TestCredentialCommandsNameTheCatalog: every credential command that
// changes the catalog says which catalog it changed.
func TestCredentialCommandsNameTheCatalog(t *testing.T) {
	data := t.TempDir()
	catalog := filepath.Join(data, "catalog.db")
	for _, s := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"user", "add", "ci", "--password-stdin", "--init"}, "ci-password-1\n", "created user ci in " + catalog},
		{[]string{"user", "passwd", "ci", "--password-stdin"}, "ci-password-2\n", "password of ci changed in " + catalog},
		{[]string{"token", "create", "ci"}, "", "token 1 for ci in " + catalog + ": scope upload"},
		{[]string{"token", "revoke", "1"}, "", "revoked token 1 in " + catalog},
		{[]string{"user", "remove", "ci"}, "", "removed ci from " + catalog},
	} {
		out, err := runCLI(t, nil, s.stdin, append(s.args, "--data", data)...)
		if err != nil || !strings.Contains(out, s.want) {
			t.Errorf("%s: %v, output %q lacks %q", strings.Join(s.args, " "), err, out, s.want)
		}
	}
}
