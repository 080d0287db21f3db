package upload_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pyindex/pyindex/upload"
)

// The attacks of issue 17 on the upload path (items 1 to 3): each is
// refused with a 400 whose one-line message names the problem, and leaves
// no trace (serial, store, temp files, projects).

const hostileWheel = "acme_util-0.1-py3-none-any.whl"

// hostileMeta is the METADATA of acme-util 0.1 with extra header lines.
func hostileMeta(extra string) string {
	return "Metadata-Version: 2.1\nName: acme-util\nVersion: 0.1\n" + extra
}

func hostileWheelBytes(t testing.TB, metadata string) []byte {
	return zipWheel(t, map[string]string{
		"acme_util-0.1.dist-info/METADATA": metadata,
		"acme_util-0.1.dist-info/WHEEL":    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"acme_util-0.1.dist-info/RECORD":   "",
	})
}

// refused uploads data as filename and checks the 400, that its message
// says each of want, and that nothing changed.
func refused(t *testing.T, en *env, filename string, data []byte, want ...string) {
	t.Helper()
	en.t = t
	before := en.state()
	rec := en.upload(twineForm(filename, data, "acme-util", "0.1"))
	for _, w := range want {
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), w) {
			t.Errorf("status %d, body %.300q; want 400 saying %q", rec.Code, rec.Body, w)
		}
	}
	if rec.Body.Len() > 1000 {
		t.Errorf("a body of %d bytes: the message must not repeat the input", rec.Body.Len())
	}
	oneLine(t, rec)
	en.unchanged(before)
	if names, _, _ := en.cat.ProjectNames(context.Background()); len(names) != 0 {
		t.Errorf("projects were created: %v", names)
	}
}

// TestUploadDeepMarker is item 1: a wheel whose METADATA has
// `Requires-Dist: x ; (((((…` with about 2.5 million "(" was accepted, and
// every later sync with deps died of a stack overflow on it.
func TestUploadDeepMarker(t *testing.T) {
	en := newEnv(t, upload.DefaultConfig()) // 4 MiB of metadata: the attack fits
	data := hostileWheelBytes(t, hostileMeta("Requires-Dist: x ; "+strings.Repeat("(", 2_500_000)+"\n"))
	refused(t, en, hostileWheel, data, "Invalid Requires-Dist 'x ; (((", "2500004 bytes long, more than the limit of 64 KiB")
}

// TestUploadMetadataFields: the structured fields consumers parse are
// checked, each refusal naming its field, and real-world values pass.
func TestUploadMetadataFields(t *testing.T) {
	en := newEnv(t, upload.DefaultConfig())
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"marker nested 65 deep", "Requires-Dist: x ; " + strings.Repeat("(", 65) + "os_name == 'nt'" + strings.Repeat(")", 65) + "\n",
			"parentheses nested more than 64 deep"},
		{"requirement without a version", "Requires-Dist: requests >=\n", "Invalid Requires-Dist 'requests >='"},
		{"unknown marker variable", "Requires-Dist: requests ; python == '3'\n", "Invalid Requires-Dist 'requests ; python == '3''"},
		{"bare URL", "Requires-Dist: https://example.com/x.whl\n", "Invalid Requires-Dist 'https://example.com/x.whl'"},
		{"second of several", "Requires-Dist: six\nRequires-Dist: six (>=\n", "Invalid Requires-Dist 'six (>='"},
		{"bad Requires-Python", "Requires-Python: >=3.8; os_name\n", "Invalid Requires-Python '>=3.8; os_name'"},
		{"bad Provides-Extra", "Provides-Extra: my extra\n", "Invalid Provides-Extra 'my extra'"},
		{"dynamic Version", "Dynamic: Version\n", "Invalid Dynamic 'Version'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, en, hostileWheel, hostileWheelBytes(t, hostileMeta(tc.extra)), tc.want)
		})
	}

	// Accepted: what setuptools, hatchling and pip's own wheels write,
	// and a direct reference (PyPI refuses those; a private index need not).
	en.t = t
	ok := hostileMeta(`Requires-Python: >=2.7,!=3.0.*,!=3.1.*
Provides-Extra: socks
Provides-Extra: use_chardet_on_py3
Requires-Dist: certifi (==2016.9.26); extra == 'certs'
Requires-Dist: wincertstore (==0.2); (sys_platform=='win32') and extra == 'ssl'
Requires-Dist: PySocks!=1.5.7,>=1.5.6; extra == "socks"
Requires-Dist: importlib-metadata; python_version < "3.8"
Requires-Dist: jaraco.packaging (>=9) ; extra == 'docs'
Requires-Dist: pytest-black (>=0.3.7) ; (platform_python_implementation != "PyPy" and python_version < "3.10") and extra == 'testing'
Requires-Dist: acme-core @ https://git.example.com/acme-core-1.0-py3-none-any.whl ; python_version >= "3.8"
Dynamic: Requires-Dist
`)
	if rec := en.upload(twineForm(hostileWheel, hostileWheelBytes(t, ok), "acme-util", "0.1")); rec.Code != http.StatusOK {
		t.Errorf("real-world fields: status %d: %s", rec.Code, rec.Body)
	}
}
