package simple

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// The PyPI JSON API (/pypi/<project>/json and /pypi/<project>/<version>/json)
// with the fields tools read: Renovate, pip-audit, poetry, bandersnatch.
//
// https://docs.pypi.org/api/json/

type apiDigests struct {
	MD5        string `json:"md5"`
	SHA256     string `json:"sha256"`
	Blake2b256 string `json:"blake2b_256"`
}

type apiFile struct {
	CommentText       string     `json:"comment_text"`
	CoreMetadata      any        `json:"core-metadata"`
	Digests           apiDigests `json:"digests"`
	Downloads         int        `json:"downloads"`
	Filename          string     `json:"filename"`
	HasSig            bool       `json:"has_sig"`
	MD5Digest         string     `json:"md5_digest"`
	PackageType       string     `json:"packagetype"`
	PythonVersion     string     `json:"python_version"`
	RequiresPython    *string    `json:"requires_python"`
	Size              *int64     `json:"size"`                 // null: unknown (a mirrored file not cached)
	UploadTime        *string    `json:"upload_time"`          // null: unknown (an HTML-only upstream)
	UploadTimeISO8601 *string    `json:"upload_time_iso_8601"` // null: unknown
	URL               string     `json:"url"`
	Yanked            bool       `json:"yanked"`
	YankedReason      *string    `json:"yanked_reason"`
}

type apiInfo struct {
	Author                 string            `json:"author"`
	AuthorEmail            string            `json:"author_email"`
	BugtrackURL            *string           `json:"bugtrack_url"`
	Classifiers            []string          `json:"classifiers"`
	Description            string            `json:"description"`
	DescriptionContentType *string           `json:"description_content_type"`
	DocsURL                *string           `json:"docs_url"`
	DownloadURL            string            `json:"download_url"`
	Downloads              map[string]int    `json:"downloads"`
	Dynamic                []string          `json:"dynamic"`
	HomePage               string            `json:"home_page"`
	Keywords               string            `json:"keywords"`
	License                string            `json:"license"`
	LicenseExpression      *string           `json:"license_expression"`
	LicenseFiles           []string          `json:"license_files"`
	Maintainer             string            `json:"maintainer"`
	MaintainerEmail        string            `json:"maintainer_email"`
	Name                   string            `json:"name"`
	PackageURL             string            `json:"package_url"`
	Platform               *string           `json:"platform"`
	ProjectURL             string            `json:"project_url"`
	ProjectURLs            map[string]string `json:"project_urls"`
	ProvidesExtra          []string          `json:"provides_extra"`
	ReleaseURL             string            `json:"release_url"`
	RequiresDist           []string          `json:"requires_dist"`
	RequiresPython         string            `json:"requires_python"`
	Summary                string            `json:"summary"`
	Version                string            `json:"version"`
	Yanked                 bool              `json:"yanked"`
	YankedReason           *string           `json:"yanked_reason"`
}

type apiOwnership struct {
	Organization *string `json:"organization"`
	Roles        []any   `json:"roles"`
}

type apiProject struct {
	Info            apiInfo              `json:"info"`
	LastSerial      int64                `json:"last_serial"`
	Ownership       apiOwnership         `json:"ownership"`
	Releases        map[string][]apiFile `json:"releases,omitempty"`
	URLs            []apiFile            `json:"urls"`
	Vulnerabilities []any                `json:"vulnerabilities"`
}

func (h *Handler) projectJSON(c echo.Context) error { return h.jsonAPI(c, false) }
func (h *Handler) releaseJSON(c echo.Context) error { return h.jsonAPI(c, true) }

func (h *Handler) jsonAPI(c echo.Context, byVersion bool) error {
	raw := httpx.Param(c, "project")
	if !pep503.Valid(raw) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	name := pep503.Normalize(raw)
	if name != raw {
		// u.Path is the decoded path: url.URL escapes it in RequestURI,
		// so the version must go in unescaped (escaping it here sent
		// "1.0+g1" as "1.0%252Bg1").
		u := *c.Request().URL
		u.Path = h.prefix + "/pypi/" + name + "/"
		if byVersion {
			u.Path += httpx.Param(c, "version") + "/"
		}
		u.Path += "json"
		u.RawPath = ""
		return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
	}
	if err := h.auth.RequireRead(c, name); err != nil {
		return err
	}
	key := apiKey{name: name, base: h.absoluteBase(c)}
	if byVersion {
		key.version = pep440.Canonical(httpx.Param(c, "version"))
	}
	proj, rels, err := h.cat.ProjectDetail(c.Request().Context(), name)
	if out, ok := h.known.apiAnswer(err, key); ok { // fallback.go
		return h.writeJSONAPI(c, out.LastSerial, *out)
	}
	if errors.Is(err, index.ErrNotFound) && h.upstream != nil {
		return h.upstreamJSON(c, name, byVersion) // upstreamjson.go
	}
	if errors.Is(err, index.ErrNotFound) || (err == nil && len(rels) == 0) {
		return echo.NewHTTPError(http.StatusNotFound, "Not Found")
	}
	if err != nil {
		return err
	}
	var sel *index.Release
	if byVersion {
		want := httpx.Param(c, "version")
		canon := pep440.Canonical(want)
		for _, r := range rels {
			if r.Canonical == canon || r.Version == want {
				sel = r
			}
		}
		if sel == nil {
			return echo.NewHTTPError(http.StatusNotFound, "Not Found")
		}
	} else {
		sel = latestRelease(rels)
	}
	base := key.base
	out := apiProject{
		Info:            h.apiInfo(base, proj, sel),
		LastSerial:      proj.LastSerial,
		Ownership:       apiOwnership{Roles: []any{}},
		URLs:            h.apiFiles(base, sel),
		Vulnerabilities: []any{},
	}
	if !byVersion {
		out.Releases = make(map[string][]apiFile, len(rels))
		for _, r := range rels {
			out.Releases[r.Version] = h.apiFiles(base, r)
		}
	}
	h.known.rememberAPI(key, &out)
	return h.writeJSONAPI(c, proj.LastSerial, out)
}

// writeJSONAPI sends a JSON API answer with its headers.
func (h *Handler) writeJSONAPI(c echo.Context, serial int64, out apiProject) error {
	hdr := c.Response().Header()
	hdr.Set("X-PyPI-Last-Serial", strconv.FormatInt(serial, 10))
	hdr.Set("Cache-Control", "max-age="+strconv.Itoa(int(h.cfg.SimpleMaxAge.Seconds()))+", public")
	hdr.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(http.StatusOK, out)
}

// latestRelease picks what PyPI calls the latest release: the newest
// non-yanked final release, else the newest non-yanked pre-release, else
// the newest yanked one. rels is sorted oldest first.
func latestRelease(rels []*index.Release) *index.Release {
	for pass := 0; pass < 3; pass++ {
		for i := len(rels) - 1; i >= 0; i-- {
			r := rels[i]
			switch pass {
			case 0:
				if !r.Yanked && !r.Parsed().IsPrerelease() {
					return r
				}
			case 1:
				if !r.Yanked {
					return r
				}
			default:
				return r
			}
		}
	}
	return nil
}

func (h *Handler) absoluteBase(c echo.Context) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimSuffix(h.cfg.BaseURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (h *Handler) apiInfo(base string, p index.Project, r *index.Release) apiInfo {
	m := r.Metadata
	info := apiInfo{
		Author: m.Author, AuthorEmail: m.AuthorEmail, Classifiers: nonNil(m.Classifiers),
		Description: m.Description, DownloadURL: m.DownloadURL,
		Downloads: map[string]int{"last_day": -1, "last_month": -1, "last_week": -1},
		Dynamic:   m.Dynamic, HomePage: m.HomePage, Keywords: m.Keywords, License: m.License,
		LicenseFiles: m.LicenseFiles, Maintainer: m.Maintainer, MaintainerEmail: m.MaintainerEmail,
		Name:          p.DisplayName,
		PackageURL:    base + "/simple/" + p.Name + "/",
		ProjectURL:    base + "/simple/" + p.Name + "/",
		ProvidesExtra: m.ProvidesExtra,
		ReleaseURL:    base + "/pypi/" + p.Name + "/" + r.Version + "/json",
		RequiresDist:  m.RequiresDist, RequiresPython: m.RequiresPython,
		Summary: m.Summary, Version: r.Version, Yanked: r.Yanked,
	}
	if m.Name != "" && pep503.Normalize(m.Name) == p.Name {
		info.Name = m.Name
	}
	if m.DescriptionContentType != "" {
		v := m.DescriptionContentType
		info.DescriptionContentType = &v
	}
	if m.LicenseExpression != "" {
		v := m.LicenseExpression
		info.LicenseExpression = &v
	}
	if len(m.Platforms) > 0 {
		v := strings.Join(m.Platforms, ", ")
		info.Platform = &v
	}
	if r.Yanked {
		v := r.YankedReason
		info.YankedReason = &v
	}
	if len(m.ProjectURLs) > 0 {
		info.ProjectURLs = map[string]string{}
		for _, pu := range m.ProjectURLs {
			label, u, ok := strings.Cut(pu, ",")
			if ok {
				info.ProjectURLs[strings.TrimSpace(label)] = strings.TrimSpace(u)
			}
		}
	}
	return info
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *Handler) apiFiles(base string, r *index.Release) []apiFile {
	out := make([]apiFile, 0, len(r.Files))
	for _, f := range r.Files {
		af := apiFile{
			CommentText: f.Comment, CoreMetadata: false,
			Digests:   apiDigests{MD5: f.MD5, SHA256: f.SHA256, Blake2b256: f.Blake2b256},
			Downloads: -1, Filename: f.Filename, MD5Digest: f.MD5, PackageType: f.PackageType,
			PythonVersion: f.PythonVersion, Size: &f.Size,
			URL:    base + h.FileURL(f.SHA256, f.Filename)[len(h.prefix):],
			Yanked: r.Yanked,
		}
		af.UploadTime, af.UploadTimeISO8601 = apiTimes(f.UploadTime)
		if f.RequiresPython != "" {
			v := f.RequiresPython
			af.RequiresPython = &v
		}
		if f.MetadataSHA256 != "" {
			af.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
		}
		if r.Yanked {
			v := r.YankedReason
			af.YankedReason = &v
		}
		out = append(out, af)
	}
	return out
}

// apiTimes returns the JSON API's upload_time and upload_time_iso_8601 of
// t, nil for a zero (unknown) time.
func apiTimes(t time.Time) (*string, *string) {
	if t.IsZero() {
		return nil, nil
	}
	short, iso := t.UTC().Format("2006-01-02T15:04:05"), t.UTC().Format(UploadTimeFormat)
	return &short, &iso
}
