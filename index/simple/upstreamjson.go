package simple

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep440"
)

// The PyPI JSON API of a mirrored project (Renovate, pip-audit and
// Dependabot read it): built from the upstream's page as the mirror serves
// it (cached or fetched, the cooldown and the failing-upstream rules
// applied, file URLs on this server), with the info of the release's core
// metadata when the mirror has it (UpstreamMetadata).

// UpstreamMetadata is an Upstream that can also give the core metadata of
// a mirrored release, for the JSON API's info.
type UpstreamMetadata interface {
	// ReleaseMetadata returns the core metadata of one of filenames (the
	// files of one release of project, as Page listed them), false when
	// none is at hand.
	ReleaseMetadata(ctx context.Context, project string, filenames []string) (dist.Metadata, bool)
}

// upstreamRelease is one version of a mirrored page.
type upstreamRelease struct {
	version string
	parsed  pep440.Version
	ok      bool // parsed
	files   []index.PageFile
}

// yanked reports whether the release counts as yanked: every file is.
func (r *upstreamRelease) yanked() (bool, string) {
	if len(r.files) == 0 {
		return false, ""
	}
	for _, f := range r.files {
		if !f.Yanked {
			return false, ""
		}
	}
	return true, r.files[0].YankedReason
}

// upstreamJSON answers /pypi/NAME/json and /pypi/NAME/VERSION/json for a
// project not hosted here: 404 when the upstream has none, the mirror's
// error (502, 503, 504) when it fails with nothing cached.
func (h *Handler) upstreamJSON(c echo.Context, name string, byVersion bool) error {
	ctx := c.Request().Context()
	pg, err := h.upstream.Page(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	if err != nil {
		return err
	}
	rels := upstreamReleases(pg)
	var sel *upstreamRelease
	if byVersion {
		want := httpx.Param(c, "version")
		canon := pep440.Canonical(want)
		for _, r := range rels {
			if r.version == want || (r.ok && r.parsed.Canonical() == canon) {
				sel = r
			}
		}
	} else {
		sel = latestUpstream(rels)
	}
	if sel == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	var md dist.Metadata
	if um, ok := h.upstream.(UpstreamMetadata); ok && len(sel.files) > 0 {
		// Wheels first: their METADATA is what installers read (an
		// sdist's PKG-INFO may lack the dependencies).
		var names, sdists []string
		for _, f := range sel.files {
			if strings.HasSuffix(f.Filename, ".whl") {
				names = append(names, f.Filename)
			} else {
				sdists = append(sdists, f.Filename)
			}
		}
		names = append(names, sdists...)
		md, _ = um.ReleaseMetadata(ctx, name, names)
	}
	base := h.absoluteBase(c)
	yanked, reason := sel.yanked()
	info := h.apiInfo(base, index.Project{Name: name, DisplayName: name}, &index.Release{Version: sel.version, Yanked: yanked, YankedReason: reason, Metadata: md})
	out := apiProject{
		Info:            info,
		LastSerial:      pg.Serial,
		Ownership:       apiOwnership{Roles: []any{}},
		URLs:            h.upstreamAPIFiles(base, sel.files),
		Vulnerabilities: []any{},
	}
	if !byVersion {
		out.Releases = make(map[string][]apiFile, len(rels))
		for _, r := range rels {
			out.Releases[r.version] = h.upstreamAPIFiles(base, r.files)
		}
	}
	return h.writeJSONAPI(c, pg.Serial, out)
}

// upstreamReleases groups a mirrored page's files by version, in the
// page's version order (every version listed, with files or not).
func upstreamReleases(pg *index.Page) []*upstreamRelease {
	byVersion := map[string]*upstreamRelease{}
	var out []*upstreamRelease
	add := func(v string) *upstreamRelease {
		if r := byVersion[v]; r != nil {
			return r
		}
		r := &upstreamRelease{version: v, files: []index.PageFile{}}
		r.parsed, r.ok = parseVersion(v)
		byVersion[v] = r
		out = append(out, r)
		return r
	}
	for _, v := range pg.Versions {
		add(v)
	}
	for _, f := range pg.Files {
		fn, err := dist.ParseFilename(f.Filename)
		if err != nil {
			continue
		}
		v := fn.Version
		if pv, ok := parseVersion(v); ok {
			v = pv.String()
		}
		r := add(v)
		r.files = append(r.files, f)
	}
	return out
}

func parseVersion(v string) (pep440.Version, bool) {
	pv, err := pep440.Parse(v)
	return pv, err == nil
}

// latestUpstream picks the latest release as PyPI does (latestRelease):
// the newest final release with a file not yanked, else the newest
// pre-release so, else the newest release with files.
func latestUpstream(rels []*upstreamRelease) *upstreamRelease {
	var best [3]*upstreamRelease
	for _, r := range rels {
		if !r.ok || len(r.files) == 0 {
			continue
		}
		pass := 2
		if y, _ := r.yanked(); !y {
			pass = 1
			if !r.parsed.IsPrerelease() {
				pass = 0
			}
		}
		for p := pass; p < 3; p++ {
			if best[p] == nil || pep440.Compare(r.parsed, best[p].parsed) > 0 {
				best[p] = r
			}
		}
	}
	for _, r := range best {
		if r != nil {
			return r
		}
	}
	return nil
}

// upstreamAPIFiles returns the JSON API's file entries of mirrored files:
// their URLs made absolute, sizes and upload times null when unknown.
func (h *Handler) upstreamAPIFiles(base string, files []index.PageFile) []apiFile {
	out := make([]apiFile, 0, len(files))
	for i := range files {
		f := &files[i]
		af := apiFile{
			CoreMetadata: false, Downloads: -1, Filename: f.Filename,
			Digests: apiDigests{MD5: f.Hashes["md5"], SHA256: f.Hashes["sha256"]},
			URL:     f.URL, Yanked: f.Yanked, PackageType: "sdist", PythonVersion: "source",
		}
		af.MD5Digest = af.Digests.MD5
		if strings.HasPrefix(f.URL, "/") {
			af.URL = base + strings.TrimPrefix(f.URL, h.prefix)
		}
		if fn, err := dist.ParseFilename(f.Filename); err == nil && fn.Kind == dist.Wheel {
			af.PackageType, af.PythonVersion = "bdist_wheel", strings.Join(fn.PyTags, ".")
		}
		if f.Size >= 0 {
			af.Size = &f.Size
		}
		af.UploadTime, af.UploadTimeISO8601 = apiTimes(f.UploadTime)
		if f.RequiresPython != "" {
			v := f.RequiresPython
			af.RequiresPython = &v
		}
		if f.CoreMetadata != "" {
			af.CoreMetadata = map[string]string{"sha256": f.CoreMetadata}
		}
		if f.Yanked {
			v := f.YankedReason
			af.YankedReason = &v
		}
		out = append(out, af)
	}
	return out
}
