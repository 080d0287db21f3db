// Package buildinfo names the build of a pyindex binary, for --version,
// the start-up log and /api/v1/version.
package buildinfo

import "runtime/debug"

// Version returns set when it is not empty (a release build sets it with
// -ldflags "-X main.version=v1.2.3"), else the module version Go embedded
// ("go install ...@v1.2.3"), else "devel-" and the first 12 digits of the
// VCS revision (with "-dirty" for a modified tree), else "devel".
func Version(set string) string {
	if set != "" {
		return set
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}
