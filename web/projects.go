package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/cache"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/index/pep508"
)

// listData is what projects.html shows.
type listData struct {
	Entries  []*entry
	Total    int
	Sort     string
	Page     int
	Pages    int
	Prev     string
	NextPage string
	ByName   string // this search sorted by name
	ByUpload string // this search sorted by last upload
}

// projectList answers /projects/: one page of the list, by name or by last
// upload, filtered by the search box.
func (u *UI) projectList(c echo.Context, v *visitor) error {
	ctx := c.Request().Context()
	snap, err := u.list.snapshot(ctx)
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	if len(q) > 200 {
		return index.Errorf(index.ErrInvalid, "The search is too long (at most 200 characters)")
	}
	order := c.QueryParam("sort")
	if order != "upload" {
		order = "name"
	}
	found := u.list.search(snap, q, order)
	if own := u.auth.OwnListing(v.result); own != nil || u.auth.PrivateReads() {
		found = slices.DeleteFunc(slices.Clone(found), func(e *entry) bool { return !u.auth.Visible(v.result, e.Name) })
	}
	page := 1
	if s := c.QueryParam("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return index.Errorf(index.ErrInvalid, "page must be a positive number")
		}
		page = n
	}
	size := u.cfg.PageSize
	pages := max(1, (len(found)+size-1)/size)
	if page > pages {
		page = pages
	}
	link := func(order string, page int) string {
		vals := url.Values{}
		if q != "" {
			vals.Set("q", q)
		}
		if order != "name" {
			vals.Set("sort", order)
		}
		if page > 1 {
			vals.Set("page", strconv.Itoa(page))
		}
		if len(vals) == 0 {
			return u.prefix + "/projects/"
		}
		return u.prefix + "/projects/?" + vals.Encode()
	}
	d := listData{Total: len(found), Sort: order, Page: page, Pages: pages,
		ByName: link("name", 1), ByUpload: link("upload", 1)}
	d.Entries = found[(page-1)*size : min(len(found), page*size)]
	if page > 1 {
		d.Prev = link(order, page-1)
	}
	if page < pages {
		d.NextPage = link(order, page+1)
	}
	return u.render(c, http.StatusOK, "projects", "Projects", d)
}

// modelKey identifies a project's model: hosted or mirrored.
type modelKey struct {
	name     string
	mirrored bool
}

// historyPageSize is how many releases a page of the release history
// shows, newest first; "?page=all" shows every release (PyPI and devpi
// page the history the same way).
const historyPageSize = 100

// projectModel is what a project's pages show, built once per project
// serial and shared by every request until the project changes. Building
// it reads the releases (not their files: a release page reads its own)
// and the latest release's metadata, whose rendering is kept per release
// (metaKey), so the first request after a CI upload of a dev build does
// not render the README again.
type projectModel struct {
	Name     string
	Display  string
	Serial   int64
	Mirrored bool

	Latest   *releaseView
	Releases []*releaseView // newest first
	Meta     *metaView      // the latest release's metadata

	// The mirrored page: its files, and when it was last refreshed.
	MirrorFiles []mirrorFileView
	FetchedAt   time.Time
	Versions    []string

	byVersion map[string]*releaseView // by canonical version

	mu      sync.Mutex
	history map[int]template.HTML // the rendered pages of the history (0: all)
}

// releaseView is one release.
type releaseView struct {
	Version string
	Pre     bool // a pre-release (a, b, rc)
	Dev     bool
	Post    bool
	Yanked  bool
	Reason  string
	Created time.Time

	id     int64
	parsed pep440.Version
}

// fileView is one file of a release.
type fileView struct {
	index.File
	Kind        string // "wheel" or "sdist"
	URL         string
	MetadataURL string // "" without PEP 658 metadata
}

// mirrorFileView is one file of a mirrored page.
type mirrorFileView struct {
	index.MirrorFile
	Cached bool
	URL    string // this server's URL of the file
}

// metaView is a release's core metadata, ready to show.
type metaView struct {
	dist.Metadata
	Description description
	URLs        []urlView
	Requires    []requirement
}

// urlView is one project URL. Href is set only for http(s) URLs: others
// (javascript: and friends) are shown as text, never as links.
type urlView struct {
	Label string
	Text  string
	Href  string
}

// requirement is one Requires-Dist entry; Project is its normalized name
// when it parses, to link it when this index has the project.
type requirement struct {
	Text    string
	Project string
}

// model returns the model of project name (normalized) at its current
// serial: hosted when hosted here, else mirrored when the mirror has its
// page. It returns index.ErrNotFound otherwise.
func (u *UI) model(ctx context.Context, name string) (*projectModel, error) {
	serial, err := u.cat.ProjectSerial(ctx, name)
	if err == nil {
		key := modelKey{name: name}
		if m, ok := u.projects.Get(key); ok && m.Serial == serial {
			return m, nil
		}
		m, err := u.hostedModel(ctx, name)
		if err != nil {
			return nil, err
		}
		if old, ok := u.projects.Get(key); !ok || old.Serial < m.Serial {
			u.projects.Put(key, m)
		}
		return m, nil
	}
	if !errors.Is(err, index.ErrNotFound) {
		return nil, err
	}
	st, err := u.cat.MirrorProjectState(ctx, name)
	if err != nil {
		return nil, err
	}
	key := modelKey{name: name, mirrored: true}
	if m, ok := u.projects.Get(key); ok && m.Serial == st.Serial && m.FetchedAt.Equal(st.FetchedAt) {
		return m, nil
	}
	mp, err := u.cat.MirrorPage(ctx, name)
	if err != nil {
		return nil, err
	}
	m := &projectModel{Name: mp.Name, Display: mp.Name, Serial: mp.Serial, Mirrored: true, FetchedAt: mp.FetchedAt, Versions: mp.Versions}
	for _, f := range mp.Files {
		mf := mirrorFileView{MirrorFile: f, Cached: f.BlobKey != ""}
		if sum := f.Hashes["sha256"]; sum != "" {
			mf.URL = u.fileURL(sum, f.Filename)
		}
		m.MirrorFiles = append(m.MirrorFiles, mf)
	}
	u.projects.Put(key, m)
	return m, nil
}

func (u *UI) hostedModel(ctx context.Context, name string) (*projectModel, error) {
	p, rels, err := u.cat.ProjectHistory(ctx, name)
	if err != nil {
		return nil, err
	}
	m := &projectModel{Name: p.Name, Display: p.DisplayName, Serial: p.LastSerial,
		Releases: make([]*releaseView, 0, len(rels)), byVersion: make(map[string]*releaseView, len(rels))}
	rank := -1
	for i := len(rels) - 1; i >= 0; i-- {
		r := rels[i]
		pv := r.Parsed()
		_, _, pre := pv.Pre()
		rv := &releaseView{Version: r.Version, Pre: pre, Dev: pv.IsDevrelease(), Post: pv.IsPostrelease(),
			Yanked: r.Yanked, Reason: r.YankedReason, Created: r.CreatedAt, id: r.ID, parsed: pv}
		m.Releases = append(m.Releases, rv)
		m.byVersion[r.Canonical] = rv
		// Newest first: a later candidate replaces the pick only with a
		// better rank, so ties keep the newest.
		if rk := index.LatestRank(pv, r.Yanked); rk > rank {
			m.Latest, rank = rv, rk
		}
	}
	if m.Latest != nil {
		if m.Meta, err = u.releaseMeta(ctx, m, m.Latest, true); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// historyPage returns the rendered page of the release history (1 the
// newest; 0 every release), rendering it on first use.
func (m *projectModel) historyPage(prefix string, page int) template.HTML {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.history[page]; ok {
		return h
	}
	rels := m.Releases
	if page > 0 {
		rels = rels[min(len(rels), (page-1)*historyPageSize):min(len(rels), page*historyPageSize)]
	}
	h := renderHistory(prefix, m.Name, rels)
	if m.history == nil {
		m.history = map[int]template.HTML{}
	}
	m.history[page] = h
	return h
}

// historyPages is how many pages the release history has.
func (m *projectModel) historyPages() int {
	return max(1, (len(m.Releases)+historyPageSize-1)/historyPageSize)
}

// newMetaView prepares metadata for a page; the description is rendered
// only when withDescription (the latest release's, on the project page),
// through descriptions when it is not nil.
func newMetaView(md dist.Metadata, withDescription bool, descriptions *cache.Map[[32]byte, description]) *metaView {
	mv := &metaView{Metadata: md}
	if withDescription {
		mv.Description = renderCached(descriptions, md.Description, md.DescriptionContentType)
	}
	mv.Metadata.Description = ""
	if md.HomePage != "" && md.HomePage != "UNKNOWN" {
		mv.URLs = append(mv.URLs, newURL("Homepage", md.HomePage))
	}
	for _, pu := range md.ProjectURLs {
		label, link, ok := strings.Cut(pu, ",")
		if !ok {
			label, link = "", label
		}
		mv.URLs = append(mv.URLs, newURL(strings.TrimSpace(label), strings.TrimSpace(link)))
	}
	if md.DownloadURL != "" && md.DownloadURL != "UNKNOWN" {
		mv.URLs = append(mv.URLs, newURL("Download", md.DownloadURL))
	}
	for _, rd := range md.RequiresDist {
		req := requirement{Text: rd}
		if r, err := pep508.ParseRequirement(rd); err == nil {
			req.Project = r.Name
		}
		mv.Requires = append(mv.Requires, req)
	}
	return mv
}

func newURL(label, raw string) urlView {
	uv := urlView{Label: label, Text: raw}
	if p, err := url.Parse(raw); err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" {
		uv.Href = p.String()
	}
	return uv
}

// projectParam returns the normalized project name of the path; a name
// that is not normalized is redirected to its normal form (redirected
// true), a name that cannot be a project is a 404.
func (u *UI) projectParam(c echo.Context, rest string, slash bool) (name string, redirected bool, err error) {
	raw := c.Param("name")
	if p, err := url.PathUnescape(raw); err == nil {
		raw = p
	}
	if !pep503.Valid(raw) {
		return "", false, echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q", raw))
	}
	name = pep503.Normalize(raw)
	if name != raw || (slash && !strings.HasSuffix(c.Request().URL.Path, "/")) {
		return name, true, c.Redirect(http.StatusMovedPermanently, u.prefix+"/project/"+name+"/"+rest)
	}
	return name, false, nil
}

// projectPage answers /project/NAME/.
func (u *UI) projectPage(c echo.Context, v *visitor) error {
	name, redirected, err := u.projectParam(c, queryOf(c), true)
	if redirected || err != nil {
		return err
	}
	page, err := historyParam(c)
	if err != nil {
		return err
	}
	return u.showProject(c, v, name, http.StatusOK, func(d *projectData) {
		d.OwnerNotice = noticeOf(c)
		d.setHistory(u.prefix, page)
	})
}

// historyParam reads ?page= of a project page: 1 (the newest releases)
// by default, 0 for "all".
func historyParam(c echo.Context) (int, error) {
	switch s := c.QueryParam("page"); s {
	case "":
		return 1, nil
	case "all":
		return 0, nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, index.Errorf(index.ErrInvalid, "page must be a positive number or \"all\"")
		}
		return n, nil
	}
}

// setHistory sets the page of the release history shown (0: all) and the
// links to the others.
func (d *projectData) setHistory(prefix string, page int) {
	if d.Mirrored {
		return
	}
	pages := d.historyPages()
	page = min(page, pages)
	d.History = d.historyPage(prefix, page)
	d.HistoryPage, d.HistoryPages = page, pages
	d.NewerHistory, d.OlderHistory, d.AllHistory = "", "", ""
	link := func(p string) string { return prefix + "/project/" + d.Name + "/?page=" + p + "#history" }
	if page == 0 || pages == 1 {
		return
	}
	d.AllHistory = link("all")
	if page > 1 {
		d.NewerHistory = link(strconv.Itoa(page - 1))
		if page == 2 {
			d.NewerHistory = prefix + "/project/" + d.Name + "/#history"
		}
	}
	if page < pages {
		d.OlderHistory = link(strconv.Itoa(page + 1))
	}
}

// showProject renders the page of project name (normalized) with status,
// after edit has set what the request adds (an owner change's outcome).
func (u *UI) showProject(c echo.Context, v *visitor, name string, status int, edit func(*projectData)) error {
	if err := u.auth.Read(v.result, name); err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := u.model(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q here", name))
	}
	if err != nil {
		return err
	}
	d, err := u.projectData(c, v, m)
	if err != nil {
		return err
	}
	d.setHistory(u.prefix, 1)
	edit(d)
	return u.render(c, status, "project", m.Display, d)
}

// projectData is what project.html and release.html show.
type projectData struct {
	*projectModel
	Release     *releaseView // on a release page
	ReleaseMeta *metaView    // its metadata
	Base        string       // the server's URL, for the install commands
	Host        string       // set for a plain-http Base: pip's --trusted-host
	Manage      bool         // the visitor may yank and delete here
	Owners      []string
	Known       map[string]bool // the projects this index has, of the requirements shown
	// The page of the release history shown (HistoryPage 0: all of it),
	// and the links to the others ("" where there is none).
	History      template.HTML
	HistoryPage  int
	HistoryPages int
	NewerHistory string
	OlderHistory string
	AllHistory   string
	Files        []fileView // the release's, on a release page
	// ManageOwners: the visitor may add and remove owners
	// (index.Catalog.MayManageOwners).
	ManageOwners bool
	OwnerNotice  string // an owner change done
	OwnerError   string // an owner change refused, and why
	OwnerUser    string // the refused addition's user name, to correct
}

func (u *UI) projectData(c echo.Context, v *visitor, m *projectModel) (*projectData, error) {
	ctx := c.Request().Context()
	d := &projectData{projectModel: m, Base: u.base}
	if d.Base == "" {
		d.Base = u.requestBase(c)
	}
	if b, err := url.Parse(d.Base); err == nil && b.Scheme == "http" {
		d.Host = b.Hostname()
	}
	if m.Mirrored {
		return d, nil
	}
	var err error
	if d.Manage, err = u.mayManage(ctx, v, m.Name); err != nil {
		return nil, err
	}
	if d.Owners, err = u.cat.Owners(ctx, m.Name); err != nil {
		return nil, err
	}
	if v.session != nil {
		switch err := u.cat.MayManageOwners(ctx, v.principal(), m.Name); {
		case err == nil:
			d.ManageOwners = true
		case !errors.Is(err, index.ErrForbidden) && !errors.Is(err, index.ErrNotFound):
			return nil, err
		}
	}
	if m.Meta != nil {
		if d.Known, err = u.known(ctx, v, m.Meta.Requires); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// mayManage reports whether the visitor may yank and delete in project:
// a logged-in admin, or an owner of the project.
func (u *UI) mayManage(ctx context.Context, v *visitor, project string) (bool, error) {
	p := v.principal()
	if v.session == nil {
		return false, nil
	}
	if p.Admin {
		return true, nil
	}
	return u.cat.IsOwner(ctx, project, p.User)
}

// releasePage answers /project/NAME/VERSION/.
func (u *UI) releasePage(c echo.Context, v *visitor) error {
	m, rv, err := u.release(c, v, "", true)
	if m == nil || err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := u.projectData(c, v, m)
	if err != nil {
		return err
	}
	d.Release = rv
	if d.ReleaseMeta, err = u.releaseMeta(ctx, m, rv, false); err != nil {
		return err
	}
	if d.Files, err = u.releaseFiles(ctx, m, rv); err != nil {
		return err
	}
	if d.Known, err = u.known(ctx, v, d.ReleaseMeta.Requires); err != nil {
		return err
	}
	return u.render(c, http.StatusOK, "release", m.Display+" "+rv.Version, d)
}

// known returns which of the requirements' projects this index has and
// the visitor may read: those are linked.
func (u *UI) known(ctx context.Context, v *visitor, reqs []requirement) (map[string]bool, error) {
	var names []string
	for _, r := range reqs {
		if r.Project != "" && !slices.Contains(names, r.Project) && len(names) < 500 {
			names = append(names, r.Project)
		}
	}
	has, err := u.cat.KnownProjects(ctx, names)
	if err != nil {
		return nil, err
	}
	for n := range has {
		if !u.auth.Visible(v.result, n) {
			delete(has, n)
		}
	}
	return has, nil
}

// release finds the project and release of the path, checking that the
// visitor may read it; rest is what follows the version in the path (a
// redirect to the normalized name keeps it), slash whether the path must
// end with "/". A nil model with a nil error means the request was
// redirected.
func (u *UI) release(c echo.Context, v *visitor, rest string, slash bool) (*projectModel, *releaseView, error) {
	version := versionParam(c)
	name, redirected, err := u.projectParam(c, url.PathEscape(version)+"/"+rest, slash)
	if redirected || err != nil {
		return nil, nil, err
	}
	if err := u.auth.Read(v.result, name); err != nil {
		return nil, nil, err
	}
	m, err := u.model(c.Request().Context(), name)
	if errors.Is(err, index.ErrNotFound) {
		return nil, nil, echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q here", name))
	}
	if err != nil {
		return nil, nil, err
	}
	_, rv, _ := findRelease(m, version)
	if rv == nil {
		return nil, nil, echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("%s has no release %q here", name, version))
	}
	return m, rv, nil
}

// findRelease returns the release of m with version (any spelling), nil
// when there is none (or m is mirrored).
func findRelease(m *projectModel, version string) (string, *releaseView, error) {
	pv, err := pep440.Parse(version)
	if err != nil {
		return "", nil, err
	}
	if m.Mirrored {
		return pv.Canonical(), nil, nil
	}
	return pv.Canonical(), m.byVersion[pv.Canonical()], nil
}

// metaKey identifies a release's metadata view: a release's metadata is
// fixed at its first upload, so it is kept across the project's changes
// (a release deleted and uploaded again has a new id and time).
type metaKey struct {
	project     string
	id          int64
	created     int64
	description bool // rendered with its description
}

// releaseMeta returns the metadata of one release of m, with its
// description rendered when withDescription, read and rendered once per
// release.
func (u *UI) releaseMeta(ctx context.Context, m *projectModel, rv *releaseView, withDescription bool) (*metaView, error) {
	key := metaKey{m.Name, rv.id, rv.Created.UnixMicro(), withDescription}
	if mv, ok := u.metas.Get(key); ok {
		return mv, nil
	}
	md, err := u.cat.ReleaseMetadata(ctx, m.Name, rv.Version)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return nil, err
	}
	mv := newMetaView(md, withDescription, u.descriptions)
	u.metas.Put(key, mv)
	return mv, nil
}

// filesKey identifies a release's files at its project's serial.
type filesKey struct {
	project string
	serial  int64
	version string // canonical
}

// releaseFiles returns the files of one release of m, read once per
// project serial.
func (u *UI) releaseFiles(ctx context.Context, m *projectModel, rv *releaseView) ([]fileView, error) {
	key := filesKey{m.Name, m.Serial, rv.parsed.Canonical()}
	if fs, ok := u.files.Get(key); ok {
		return fs, nil
	}
	files, err := u.cat.ReleaseFiles(ctx, m.Name, rv.Version)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return nil, err
	}
	out := make([]fileView, 0, len(files))
	for _, f := range files {
		fv := fileView{File: f, Kind: "sdist", URL: u.fileURL(f.SHA256, f.Filename)}
		if f.PackageType == "bdist_wheel" {
			fv.Kind = "wheel"
		}
		if f.MetadataKey != "" {
			fv.MetadataURL = fv.URL + ".metadata"
		}
		out = append(out, fv)
	}
	u.files.Put(key, out)
	return out, nil
}

// renderHistory renders the release history, newest first, as the list
// project.html shows. It is written by hand rather than by a template: a
// project of 2,000 releases renders it again after every change, and a
// template took most of that time. Every value is escaped.
func renderHistory(prefix, name string, rels []*releaseView) template.HTML {
	var b strings.Builder
	b.Grow(len(rels) * 200)
	b.WriteString(`<ol class="history">`)
	for _, r := range rels {
		b.WriteString("\n<li><a class=\"version")
		if r.Yanked {
			b.WriteString(" yanked-version")
		}
		b.WriteString(`" href="`)
		b.WriteString(html.EscapeString(prefix + "/project/" + name + "/" + url.PathEscape(r.Version) + "/"))
		b.WriteString(`">`)
		b.WriteString(html.EscapeString(r.Version))
		b.WriteString("</a>")
		switch {
		case r.Dev:
			b.WriteString(` <span class="badge dev">dev build</span>`)
		case r.Pre:
			b.WriteString(` <span class="badge pre">pre-release</span>`)
		}
		if r.Yanked {
			b.WriteString(` <span class="badge yanked">yanked</span>`)
			if r.Reason != "" {
				b.WriteString(` <span class="reason">`)
				b.WriteString(html.EscapeString(r.Reason))
				b.WriteString(`</span>`)
			}
		}
		b.WriteString(` <span class="muted"><time datetime="`)
		b.WriteString(r.Created.UTC().Format(time.RFC3339))
		b.WriteString(`">`)
		b.WriteString(r.Created.UTC().Format("2006-01-02"))
		b.WriteString("</time></span></li>")
	}
	b.WriteString("\n</ol>")
	return template.HTML(b.String()) // every value above is escaped
}
