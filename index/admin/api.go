package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
)

// API serves the admin JSON API under /api/v1: projects, yanks,
// deletes, prunes, the audit log, users, tokens and project owners. Every
// endpoint needs the admin scope without a project restriction (401
// without valid credentials, 403 with weaker or project-limited ones),
// except the owner endpoints, which a project's owners may use too
// (owners.go).
// Errors are {"error": "..."} (the server's ErrorHandler renders /api/).
type API struct {
	admin *Service
	views *Views
	cat   *index.Catalog
	auth  *auth.Service
}

// NewAPI returns the admin API over deps.Catalog and deps.Store,
// authorizing with deps.Auth.
func NewAPI(deps Deps) (*API, error) {
	if deps.Auth == nil {
		return nil, errors.New("admin.NewAPI: nil auth")
	}
	svc, err := New(deps)
	if err != nil {
		return nil, err
	}
	views, err := NewViews(deps)
	if err != nil {
		return nil, err
	}
	return &API{admin: svc, views: views, cat: deps.Catalog, auth: deps.Auth}, nil
}

// Register adds the admin API's routes to g (the server root).
func (h *API) Register(g *echo.Group) {
	a := h.adminOnly
	g.GET("/api/v1/projects", a(h.listProjects))
	g.GET("/api/v1/projects/:project", a(h.project))
	g.GET("/api/v1/projects/:project/releases/:version", a(h.release))
	// Owners: admins, and the project's owners (owners.go).
	g.GET("/api/v1/projects/:project/owners", h.owners)
	g.POST("/api/v1/projects/:project/owners", h.addOwner)
	g.DELETE("/api/v1/projects/:project/owners/:user", h.removeOwner)
	g.DELETE("/api/v1/projects/:project", a(h.deleteProject))
	g.DELETE("/api/v1/projects/:project/releases/:version", a(h.deleteRelease))
	g.POST("/api/v1/projects/:project/releases/:version/yank", a(h.yank))
	g.DELETE("/api/v1/projects/:project/releases/:version/yank", a(h.unyank))
	g.DELETE("/api/v1/projects/:project/files/:filename", a(h.deleteFile))
	g.POST("/api/v1/prune", a(h.prune))
	g.GET("/api/v1/audit", a(h.audit))
	g.GET("/api/v1/users", a(h.users))
	g.POST("/api/v1/users", a(h.addUser))
	g.DELETE("/api/v1/users/:name", a(h.removeUser))
	g.PUT("/api/v1/users/:name/password", a(h.setPassword))
	g.GET("/api/v1/tokens", a(h.tokens))
	g.POST("/api/v1/tokens", a(h.createToken))
	g.DELETE("/api/v1/tokens/:id", a(h.revokeToken))
}

const principalKey = "pyindex.admin.actor"

// adminOnly refuses callers without the admin scope and remembers the
// actor for the audit log. A token limited to projects is refused with its
// own message (403): the admin API manages users, tokens and every
// project, so no project restriction can hold here. CreateToken no longer
// makes such admin tokens, and CheckToken gives older ones the upload
// scope; the check here keeps the rule on the admin API itself.
func (h *API) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := h.auth.FromContext(c); r.Err == nil && len(r.Principal.Projects) > 0 {
			return index.Errorf(index.ErrForbidden, "This token is limited to projects (%s) and cannot use the admin API, which acts on users, tokens and every project; use an admin token without a project limit",
				strings.Join(r.Principal.Projects, ", "))
		}
		p, err := h.auth.Require(c, index.ScopeAdmin)
		if err != nil {
			return err
		}
		c.Set(principalKey, index.Actor{Name: p.User, RemoteAddr: c.RealIP()})
		return next(c)
	}
}

func actor(c echo.Context) index.Actor {
	a, _ := c.Get(principalKey).(index.Actor)
	return a
}

// projectParam returns the normalized project of the path, or 404 for a
// name that cannot be a project.
func projectParam(c echo.Context) (string, error) {
	p := httpx.Param(c, "project")
	if !pep503.Valid(p) {
		return "", echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q", p))
	}
	return pep503.Normalize(p), nil
}

// maxAdminBody bounds an admin request body.
const maxAdminBody = 1 << 20

// bind decodes a JSON body into v, refusing unknown fields; an empty body
// leaves v as it is.
func bind(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return echo.NewHTTPError(http.StatusBadRequest, "Invalid JSON body: "+strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return nil
}

// notFound adds the thing's name to a bare ErrNotFound, which the error
// handler would otherwise render as "Not Found".
func notFound(err error, what string) error {
	if errors.Is(err, index.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, what+" not found")
	}
	return err
}

func (h *API) listProjects(c echo.Context) error {
	q := index.ProjectQuery{Q: c.QueryParam("q"), Cursor: c.QueryParam("cursor")}
	var err error
	if q.Limit, err = limitParam(c); err != nil {
		return err
	}
	l, err := h.views.Projects(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// limitParam returns the limit query parameter, 0 when absent.
func limitParam(c echo.Context) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, echo.NewHTTPError(http.StatusBadRequest, "limit must be a positive integer")
	}
	return n, nil
}

func (h *API) project(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	v, err := h.views.Project(c.Request().Context(), name)
	if err != nil {
		return notFound(err, "Project "+name)
	}
	return c.JSON(http.StatusOK, v)
}

func (h *API) release(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	version := httpx.Param(c, "version")
	v, err := h.views.Release(c.Request().Context(), name, version)
	if err != nil {
		return notFound(err, "Release "+name+" "+version)
	}
	return c.JSON(http.StatusOK, v)
}

func deletedJSON(d Deleted) map[string]any {
	files := make([]FileInfo, 0, len(d.Files))
	for _, f := range d.Files {
		files = append(files, fileInfo(f, true))
	}
	return map[string]any{"files": files, "bytes": d.Bytes, "freed": d.Freed}
}

func (h *API) deleteProject(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	d, err := h.admin.DeleteProject(c.Request().Context(), name, actor(c))
	if err != nil {
		return notFound(err, "Project "+name)
	}
	return c.JSON(http.StatusOK, deletedJSON(d))
}

func (h *API) deleteRelease(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	version := httpx.Param(c, "version")
	d, err := h.admin.DeleteRelease(c.Request().Context(), name, version, actor(c))
	if err != nil {
		return notFound(err, "Release "+name+" "+version)
	}
	return c.JSON(http.StatusOK, deletedJSON(d))
}

func (h *API) deleteFile(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	filename := httpx.Param(c, "filename")
	d, err := h.admin.DeleteFile(c.Request().Context(), name, "", filename, actor(c))
	if err != nil {
		return notFound(err, "File "+filename+" of "+name)
	}
	return c.JSON(http.StatusOK, deletedJSON(d))
}

func releaseJSON(name string, r index.Release) map[string]any {
	return map[string]any{"project": name, "version": r.Version, "yanked": r.Yanked, "yanked_reason": r.YankedReason}
}

func (h *API) yank(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	version := httpx.Param(c, "version")
	r, err := h.cat.Yank(c.Request().Context(), name, version, body.Reason, actor(c))
	if err != nil {
		return notFound(err, "Release "+name+" "+version)
	}
	return c.JSON(http.StatusOK, releaseJSON(name, r))
}

func (h *API) unyank(c echo.Context) error {
	name, err := projectParam(c)
	if err != nil {
		return err
	}
	version := httpx.Param(c, "version")
	r, err := h.cat.Unyank(c.Request().Context(), name, version, actor(c))
	if err != nil {
		return notFound(err, "Release "+name+" "+version)
	}
	return c.JSON(http.StatusOK, releaseJSON(name, r))
}

// PruneRequest is the body of POST /api/v1/prune.
type PruneRequest struct {
	Project      string `json:"project"`
	KeepDev      int    `json:"keep_dev"`
	DevOlderThan string `json:"dev_older_than"`
	ReleasedDev  bool   `json:"released_dev"`
	DryRun       bool   `json:"dry_run"`
}

// Rules converts the request into PruneRules.
func (r PruneRequest) Rules() (index.PruneRules, error) {
	rules := index.PruneRules{KeepDev: r.KeepDev, ReleasedDev: r.ReleasedDev}
	if r.Project != "" {
		rules.Projects = []string{r.Project}
	}
	if r.DevOlderThan != "" {
		d, err := time.ParseDuration(r.DevOlderThan)
		if err != nil {
			return rules, index.Errorf(index.ErrInvalid, "dev_older_than %q is not a duration such as \"720h\"", r.DevOlderThan)
		}
		rules.DevOlderThan = d
	}
	return rules, rules.Validate()
}

// PruneJSON is a prune's result as the API and the CLI's --json show it.
func PruneJSON(res PruneResult) map[string]any {
	files := make([]FileInfo, 0, len(res.Files))
	for _, f := range res.Files {
		files = append(files, fileInfo(f, true))
	}
	rels := res.Releases
	if rels == nil {
		rels = []index.PrunedRelease{}
	}
	out := map[string]any{"files": files, "releases": rels, "bytes": res.Bytes, "dry_run": res.DryRun}
	if !res.DryRun {
		out["freed"] = res.Freed
	}
	return out
}

func (h *API) prune(c echo.Context) error {
	var req PruneRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	rules, err := req.Rules()
	if err != nil {
		return err
	}
	res, err := h.admin.Prune(c.Request().Context(), rules, req.DryRun, actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PruneJSON(res))
}

func (h *API) audit(c echo.Context) error {
	q := index.AuditQuery{Project: c.QueryParam("project"), Actor: c.QueryParam("actor"), Action: c.QueryParam("action")}
	var err error
	if q.Limit, err = limitParam(c); err != nil {
		return err
	}
	l, err := h.views.Audit(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (h *API) users(c echo.Context) error {
	users, err := h.cat.Users(c.Request().Context())
	if err != nil {
		return err
	}
	if users == nil {
		users = []index.User{}
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

func (h *API) addUser(c echo.Context) error {
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Admin    bool   `json:"admin"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	u, err := h.cat.AddUser(c.Request().Context(), body.Name, body.Password, body.Admin, actor(c).Name)
	if errors.Is(err, index.ErrExists) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("User %q already exists", body.Name))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

// removeUser deletes a user: 204, or 409 naming the projects the user
// owns; with ?force=true it removes the user anyway and answers 200 with
// those projects and the owners they keep (none: admin-only).
func (h *API) removeUser(c echo.Context) error {
	name := httpx.Param(c, "name")
	force := false
	if s := c.QueryParam("force"); s != "" {
		var err error
		if force, err = strconv.ParseBool(s); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "force must be true or false")
		}
	}
	ctx := c.Request().Context()
	if !force {
		err := h.cat.RemoveUser(ctx, name, actor(c).Name)
		var owns *index.OwnsProjectsError
		if errors.As(err, &owns) {
			return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("User %q owns %s: add another owner to each first (POST /api/v1/projects/NAME/owners), or DELETE with ?force=true (those projects keep their other owners or become admin-only)",
				name, strings.Join(owns.Projects, ", ")))
		}
		if err != nil {
			return notFound(err, "User "+name)
		}
		return c.NoContent(http.StatusNoContent)
	}
	owned, err := h.cat.ForceRemoveUser(ctx, name, actor(c).Name)
	if err != nil {
		return notFound(err, "User "+name)
	}
	return c.JSON(http.StatusOK, map[string]any{"removed": name, "projects": owned})
}

func (h *API) setPassword(c echo.Context) error {
	var body struct {
		Password string `json:"password"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	name := httpx.Param(c, "name")
	if err := h.cat.SetPassword(c.Request().Context(), name, body.Password, actor(c).Name); err != nil {
		return notFound(err, "User "+name)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *API) tokens(c echo.Context) error {
	tokens, err := h.cat.Tokens(c.Request().Context(), c.QueryParam("user"))
	if err != nil {
		return err
	}
	if tokens == nil {
		tokens = []index.Token{}
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": tokens})
}

// TokenRequest is the body of POST /api/v1/tokens. Expires is empty
// (never), a duration from now ("720h") or an RFC 3339 time.
type TokenRequest struct {
	User        string   `json:"user"`
	Scope       string   `json:"scope"`
	Projects    []string `json:"projects"`
	Expires     string   `json:"expires"`
	Description string   `json:"description"`
}

// NewToken converts the request, resolving Expires against now.
func (r TokenRequest) NewToken(now time.Time) (index.NewToken, error) {
	scope, err := index.ParseScope(r.Scope)
	if err != nil {
		return index.NewToken{}, err
	}
	nt := index.NewToken{User: r.User, Scope: scope, Projects: r.Projects, Description: r.Description}
	if r.Expires != "" {
		if d, err := time.ParseDuration(r.Expires); err == nil {
			nt.ExpiresAt = now.Add(d)
		} else if t, err := time.Parse(time.RFC3339, r.Expires); err == nil {
			nt.ExpiresAt = t
		} else {
			return index.NewToken{}, index.Errorf(index.ErrInvalid, "expires %q is neither a duration (\"720h\") nor an RFC 3339 time", r.Expires)
		}
	}
	return nt, nil
}

func (h *API) createToken(c echo.Context) error {
	var req TokenRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	nt, err := req.NewToken(time.Now())
	if err != nil {
		return err
	}
	t, secret, err := h.cat.CreateToken(c.Request().Context(), nt, actor(c).Name)
	if err != nil {
		return notFound(err, "User "+req.User)
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

func (h *API) revokeToken(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return echo.NewHTTPError(http.StatusNotFound, "Token not found")
	}
	if err := h.cat.RevokeToken(c.Request().Context(), id, actor(c).Name); err != nil {
		return notFound(err, "Token "+strconv.FormatInt(id, 10))
	}
	return c.NoContent(http.StatusNoContent)
}
