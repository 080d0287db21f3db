package devapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/index/devapi"
)

// The bytes are the wire format clients already parse: the server's answer
// had its keys in this (sorted) order when it was a map.
func TestWireFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"response", devapi.Response{Base: "1.2.4", Number: 1, Version: "1.2.4.dev1"},
			`{"base":"1.2.4","number":1,"reused":false,"version":"1.2.4.dev1"}`},
		{"reused", devapi.Response{Base: "1.2.4", Number: 7, Reused: true, Version: "1.2.4.dev7"},
			`{"base":"1.2.4","number":7,"reused":true,"version":"1.2.4.dev7"}`},
		{"request", devapi.Request{Base: "1.2.4", Commit: "abc", Branch: "main"},
			`{"base":"1.2.4","commit":"abc","branch":"main"}`},
		{"request without base or branch", devapi.Request{Commit: "abc"}, `{"commit":"abc"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil || string(b) != tc.want {
				t.Errorf("got %s %v, want %s", b, err, tc.want)
			}
		})
	}
}

func TestPath(t *testing.T) {
	for project, want := range map[string]string{
		"my.pkg":  "/api/v1/projects/my.pkg/dev-versions",
		"a/b c":   "/api/v1/projects/a%2Fb%20c/dev-versions",
		"acme-ok": "/api/v1/projects/acme-ok/dev-versions",
	} {
		if got := devapi.Path(project); got != want {
			t.Errorf("Path(%q) = %q, want %q", project, got, want)
		}
	}
	if got := strings.Replace(devapi.Route, ":project", "my.pkg", 1); got != devapi.Path("my.pkg") {
		t.Errorf("Route %q does not match Path", devapi.Route)
	}
}

func TestDevBase(t *testing.T) {
	if got := (devapi.Response{Version: "1.2.4.dev17", Number: 17}).DevBase(); got != "1.2.4" {
		t.Errorf("DevBase = %q", got)
	}
}
