package sync

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep508"
	"github.com/pyindex/pyindex/storage"
)

// Filter selects which files of a project a sync fetches. The zero Filter
// keeps everything. Filters combine: a file is kept when it passes all.
type Filter struct {
	// Latest keeps the N newest final releases (after every other filter),
	// plus the pre-releases newer than the newest of them unless
	// NoPrerelease, so that both `pip install X` and `pip install --pre X`
	// find what they would pick. A project with only pre-releases keeps
	// its N newest. Versions are chosen for each Python and platform
	// apart (the newest release with a file for 3.11 may be older than
	// the newest for 3.12). 0: every version.
	Latest int `toml:"latest" json:"latest,omitempty"`
	// Pythons are CPython versions ("3.11", or "3.11.4"): a file is kept
	// when its requires-python and, for a wheel, its python and ABI tags
	// suit one of them. Empty: any Python.
	Pythons []string `toml:"python" json:"python,omitempty"`
	// Platforms are wheel platform tags ("manylinux_2_17_x86_64",
	// "win_amd64", "macosx_11_0_arm64"): a wheel is kept when one of its
	// platform tags is "any" or runs there (manylinux and musllinux by
	// glibc/musl version, macOS by version and architecture). Sdists
	// always pass. Empty: any platform.
	Platforms []string `toml:"platform" json:"platform,omitempty"`
	// OnlyBinary skips sdists.
	OnlyBinary bool `toml:"only_binary" json:"only_binary,omitempty"`
	// NoPrerelease skips pre- and development releases, unless a
	// requirement's specifier names one (`foo==2.0rc1`).
	NoPrerelease bool `toml:"no_prerelease" json:"no_prerelease,omitempty"`
	// MaxFileSize skips files larger than this (bytes, as the upstream
	// page says); 0: no limit.
	MaxFileSize storage.Size `toml:"max_file_size" json:"max_file_size,omitempty"`
}

// Validate reports every invalid setting.
func (f Filter) Validate() error {
	var errs []error
	if f.Latest < 0 {
		errs = append(errs, errors.New("latest must not be negative"))
	}
	if f.MaxFileSize < 0 {
		errs = append(errs, errors.New("max_file_size must not be negative"))
	}
	for _, p := range f.Pythons {
		if _, err := parsePython(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range f.Platforms {
		if !platformRe.MatchString(p) {
			errs = append(errs, fmt.Errorf("platform %q is not a wheel platform tag (manylinux_2_17_x86_64, win_amd64, macosx_11_0_arm64, ...)", p))
		}
	}
	return errors.Join(errs...)
}

var platformRe = regexp.MustCompile(`^[a-z0-9_]+$`)

// python is a target interpreter: CPython major.minor, with the patch
// release when given.
type python struct {
	major, minor int
	patch        int // -1: any
}

func parsePython(s string) (python, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	bad := fmt.Errorf("python %q is not a version such as 3.11 or 3.11.4", s)
	if len(parts) < 2 || len(parts) > 3 {
		return python{}, bad
	}
	var n [3]int
	n[2] = -1
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return python{}, bad
		}
		n[i] = v
	}
	if n[0] < 2 {
		return python{}, bad
	}
	return python{n[0], n[1], n[2]}, nil
}

// fullVersions are the python_full_version values that stand for p: the
// given one, or for "3.11" the first and a late patch release (a mirror
// keeps what any 3.11.x might need).
func (p python) fullVersions() []string {
	if p.patch >= 0 {
		return []string{fmt.Sprintf("%d.%d.%d", p.major, p.minor, p.patch)}
	}
	return []string{fmt.Sprintf("%d.%d.0", p.major, p.minor), fmt.Sprintf("%d.%d.99", p.major, p.minor)}
}

// requiresPython reports whether a requires-python specifier admits p.
// Unparsable specifiers admit everything (pip ignores them too).
func (p python) requiresPython(spec string) bool {
	if strings.TrimSpace(spec) == "" {
		return true
	}
	set, err := pep440.ParseSpecifierSet(spec)
	if err != nil {
		return true
	}
	for _, v := range p.fullVersions() {
		if set.ContainsString(v, true) {
			return true
		}
	}
	return false
}

// wheelTags reports whether a wheel with these python and ABI tags runs on
// CPython p, after pip's list of compatible tags (packaging.tags):
// cpXY with its own ABI, abi3 or none; cpXY with abi3 for older XY;
// pyX / pyXY (XY up to p) with ABI none.
func (p python) wheelTags(pyTags, abiTags []string) bool {
	cp := fmt.Sprintf("cp%d%d", p.major, p.minor)
	for _, py := range pyTags {
		for _, abi := range abiTags {
			switch {
			case py == cp && (abi == cp || abi == cp+"m" || abi == cp+"d" || abi == cp+"dm" || abi == "abi3" || abi == "none"):
				return true
			case strings.HasPrefix(py, "cp") && abi == "abi3":
				if maj, min, ok := tagVersion(py[2:]); ok && maj == p.major && min <= p.minor && min >= 2 {
					return true
				}
			case strings.HasPrefix(py, "py") && abi == "none":
				maj, min, ok := tagVersion(py[2:])
				if ok && maj == p.major && (min < 0 || min <= p.minor) {
					return true
				}
			}
		}
	}
	return false
}

// tagVersion parses the digits of a python tag: "3" (minor -1), "311",
// "39", "3_11".
func tagVersion(s string) (int, int, bool) {
	if s == "" {
		return 0, 0, false
	}
	if maj, min, ok := strings.Cut(s, "_"); ok {
		a, err1 := strconv.Atoi(maj)
		b, err2 := strconv.Atoi(min)
		return a, b, err1 == nil && err2 == nil
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
	}
	maj := int(s[0] - '0')
	if len(s) == 1 {
		return maj, -1, true
	}
	min, err := strconv.Atoi(s[1:])
	return maj, min, err == nil
}

// platformTagRe splits manylinux_X_Y_arch, musllinux_X_Y_arch and
// macosx_X_Y_arch.
var platformTagRe = regexp.MustCompile(`^(manylinux|musllinux|macosx)_(\d+)_(\d+)_(.+)$`)

// legacyManylinux are the aliases of PEP 600's manylinux_X_Y tags.
var legacyManylinux = map[string]string{"manylinux1": "manylinux_2_5", "manylinux2010": "manylinux_2_12", "manylinux2014": "manylinux_2_17"}

func canonicalPlatform(tag string) string {
	for old, nw := range legacyManylinux {
		if arch, ok := strings.CutPrefix(tag, old+"_"); ok {
			return nw + "_" + arch
		}
	}
	return tag
}

// macArchs are the architectures a macOS wheel architecture covers.
var macArchs = map[string][]string{
	"universal2": {"x86_64", "arm64"},
	"intel":      {"x86_64", "i386"},
	"fat":        {"i386", "ppc"},
	"fat3":       {"x86_64", "i386", "ppc"},
	"fat64":      {"x86_64", "ppc64"},
	"universal":  {"x86_64", "i386", "ppc", "ppc64"},
}

// platformMatch reports whether a wheel built for platform tag wheel runs
// on platform target: equal tags; manylinux/musllinux of the same
// architecture and an older or equal libc; macOS of an older or equal
// release whose architectures include the target's.
func platformMatch(wheel, target string) bool {
	if wheel == "any" {
		return true
	}
	wheel, target = canonicalPlatform(wheel), canonicalPlatform(target)
	if wheel == target {
		return true
	}
	w := platformTagRe.FindStringSubmatch(wheel)
	t := platformTagRe.FindStringSubmatch(target)
	if w == nil || t == nil || w[1] != t[1] {
		return false
	}
	wx, _ := strconv.Atoi(w[2])
	wy, _ := strconv.Atoi(w[3])
	tx, _ := strconv.Atoi(t[2])
	ty, _ := strconv.Atoi(t[3])
	if wx > tx || (wx == tx && wy > ty) {
		return false
	}
	if w[4] == t[4] {
		return true
	}
	if w[1] != "macosx" {
		return false
	}
	covers := append([]string{w[4]}, macArchs[w[4]]...)
	targets := append([]string{t[4]}, macArchs[t[4]]...)
	for _, a := range targets {
		if slices.Contains(covers, a) {
			return true
		}
	}
	return false
}

// platformEnv returns the marker variables a platform tag determines.
// Several environments come back when the tag covers more than one
// machine (macOS universal2).
func platformEnv(tag string) []pep508.Env {
	tag = canonicalPlatform(tag)
	arch := ""
	var env pep508.Env
	switch {
	case strings.HasPrefix(tag, "manylinux") || strings.HasPrefix(tag, "musllinux") || strings.HasPrefix(tag, "linux_"):
		env = pep508.Env{"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
		if m := platformTagRe.FindStringSubmatch(tag); m != nil {
			arch = m[4]
		} else {
			arch = strings.TrimPrefix(tag, "linux_")
		}
	case strings.HasPrefix(tag, "macosx"):
		env = pep508.Env{"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"}
		if m := platformTagRe.FindStringSubmatch(tag); m != nil {
			arch = m[4]
		}
		if archs, ok := macArchs[arch]; ok {
			var out []pep508.Env
			for _, a := range archs {
				e := cloneEnv(env)
				e["platform_machine"] = a
				out = append(out, e)
			}
			return out
		}
	case strings.HasPrefix(tag, "win"):
		env = pep508.Env{"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
		arch = map[string]string{"win32": "x86", "win_amd64": "AMD64", "win_arm64": "ARM64", "win_ia64": "ia64"}[tag]
	default:
		return []pep508.Env{{}}
	}
	if arch != "" {
		env["platform_machine"] = arch
	}
	return []pep508.Env{env}
}

func cloneEnv(e pep508.Env) pep508.Env {
	out := make(pep508.Env, len(e)+4)
	for k, v := range e {
		out[k] = v
	}
	return out
}

// environments returns the marker environments of a filter's Pythons and
// Platforms (every combination), with the variables it does not fix left
// unknown. extra is set later.
func (f Filter) environments() []pep508.Env {
	plats := []pep508.Env{{}}
	if len(f.Platforms) > 0 {
		plats = nil
		for _, p := range f.Platforms {
			plats = append(plats, platformEnv(p)...)
		}
	}
	var pys []pep508.Env
	for _, s := range f.Pythons {
		p, err := parsePython(s)
		if err != nil {
			continue
		}
		for _, full := range p.fullVersions() {
			pys = append(pys, pep508.Env{"python_version": fmt.Sprintf("%d.%d", p.major, p.minor), "python_full_version": full,
				"implementation_version": full, "implementation_name": "cpython", "platform_python_implementation": "CPython"})
		}
	}
	if len(pys) == 0 {
		pys = []pep508.Env{{}}
	}
	var out []pep508.Env
	for _, pe := range pys {
		for _, pl := range plats {
			e := cloneEnv(pe)
			for k, v := range pl {
				e[k] = v
			}
			out = append(out, e)
		}
	}
	return out
}

// keepFile reports whether the file-level filters keep f, and why not.
func (f Filter) keepFile(mf *index.MirrorFile, pys []python) (bool, string) {
	fn, err := dist.ParseFilename(mf.Filename)
	if err != nil {
		return false, "not a wheel or sdist"
	}
	if f.MaxFileSize > 0 && mf.Size > int64(f.MaxFileSize) {
		return false, "larger than max-file-size"
	}
	wheel := fn.Kind == dist.Wheel
	if !wheel && f.OnlyBinary {
		return false, "sdist"
	}
	if len(pys) > 0 {
		ok := false
		for _, p := range pys {
			if p.requiresPython(mf.RequiresPython) && (!wheel || p.wheelTags(fn.PyTags, fn.ABITags)) {
				ok = true
				break
			}
		}
		if !ok {
			return false, "python"
		}
	}
	if wheel && len(f.Platforms) > 0 {
		ok := false
		for _, wt := range fn.PlatformTags {
			for _, t := range f.Platforms {
				if platformMatch(wt, t) {
					ok = true
				}
			}
		}
		if !ok {
			return false, "platform"
		}
	}
	return true, ""
}

// selectVersions picks the versions to sync from those that have kept
// files, for one requirement (and the constraints on its project).
// versions maps the normalized version string to its parsed form.
func (f Filter) selectVersions(versions []pep440.Version, req pep508.Requirement, constraints []pep440.SpecifierSet) []pep440.Version {
	explicitPre := req.Specifier.Prereleases()
	var ok []pep440.Version
	for _, v := range versions {
		if v.IsPrerelease() && f.NoPrerelease && !explicitPre {
			continue
		}
		if !req.Specifier.Contains(v, true) {
			continue
		}
		in := true
		for _, c := range constraints {
			if !c.Contains(v, true) {
				in = false
			}
		}
		if in {
			ok = append(ok, v)
		}
	}
	pep440.Sort(ok)
	if f.Latest <= 0 || len(ok) == 0 {
		return ok
	}
	// Newest first: the N newest finals, and newer pre-releases.
	var out []pep440.Version
	finals := 0
	for i := len(ok) - 1; i >= 0 && finals < f.Latest; i-- {
		v := ok[i]
		if v.IsPrerelease() {
			if finals == 0 {
				out = append(out, v)
			}
			continue
		}
		out = append(out, v)
		finals++
	}
	if finals == 0 {
		// Only pre-releases: the N newest.
		out = out[:min(len(out), f.Latest)]
	}
	pep440.Sort(out)
	return out
}
