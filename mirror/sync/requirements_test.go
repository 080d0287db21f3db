package sync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	mirrorsync "github.com/pyindex/pyindex/mirror/sync"
)

// TestRequirementsFile parses includes, constraints, comments, options,
// and refuses what an index cannot provide.
func TestRequirementsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("sub/base.txt", "Requests[Socks, security] >= 2.30, <3  # the HTTP library\n-c constraints.txt\n")
	write("sub/constraints.txt", "urllib3<2\n")
	main := write("req.txt", "# top\n--index-url https://example.com/simple/\n-r sub/base.txt\n"+
		"pywin32 >=300 ; sys_platform == 'win32' \\\n   and platform_machine == 'AMD64'\n"+
		"attrs==23.1.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n\n")
	rf, err := mirrorsync.ParseRequirementsFile(main)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rf.Requirements {
		got = append(got, r.String())
	}
	want := []string{"requests[security,socks]<3,>=2.30", `pywin32>=300; sys_platform == 'win32'    and platform_machine == 'AMD64'`, "attrs==23.1.0"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requirements:\n got  %q\n want %q", got, want)
	}
	if len(rf.Constraints) != 1 || rf.Constraints[0].String() != "urllib3<2" {
		t.Errorf("constraints: %v", rf.Constraints)
	}
	for _, bad := range []string{"-e ./src/app\n", "https://example.com/x-1.0.tar.gz\n", "app @ https://example.com/app.whl\n", "./local/dir\n"} {
		_, err := mirrorsync.ParseRequirementsFile(write("bad.txt", bad))
		if err == nil || !strings.Contains(err.Error(), "bad.txt:1") {
			t.Errorf("%q: err = %v, want one naming the line", bad, err)
		}
	}
}
