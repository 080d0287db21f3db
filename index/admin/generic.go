package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/auth"
	"github.com/pyindex/pyindex/index/httpx"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/storage"
)

// Generic files (package generic uploads and serves them): browsing,
// deletes and retention, for the JSON API, the CLI and the scheduler.

// GenericDeleted is the result of a delete or a prune of generic files.
type GenericDeleted struct {
	index.GenericRemoval
	// Freed is the number of bytes removed from storage: blobs other rows
	// still reference stay.
	Freed int64
}

// DeleteGeneric deletes one version of a generic package (filename "") or
// one file of it, its rows and then its unshared blobs. Errors are
// Catalog.DeleteGenericRows'.
func (a *Service) DeleteGeneric(ctx context.Context, name, version, filename string, who index.Actor) (GenericDeleted, error) {
	rm, err := a.cat.DeleteGenericRows(ctx, name, version, filename, who)
	if err != nil {
		return GenericDeleted{}, err
	}
	return GenericDeleted{GenericRemoval: rm, Freed: a.reclaim(ctx, rm.Blobs)}, nil
}

// GenericPruneResult is a prune's plan and, unless it was a dry run, the
// bytes freed in storage.
type GenericPruneResult struct {
	index.GenericPrunePlan
	DryRun bool
	Freed  int64
}

// PruneGeneric deletes the versions of generic packages rules select, or
// with dryRun reports what it would delete, computed the same way. Errors
// are Catalog.PruneGenericRows'.
func (a *Service) PruneGeneric(ctx context.Context, rules index.GenericPruneRules, dryRun bool, who index.Actor) (GenericPruneResult, error) {
	if dryRun {
		plan, err := a.cat.PlanGenericPrune(ctx, rules)
		return GenericPruneResult{GenericPrunePlan: plan, DryRun: true}, err
	}
	plan, err := a.cat.PruneGenericRows(ctx, rules, who)
	if err != nil {
		return GenericPruneResult{}, err
	}
	return GenericPruneResult{GenericPrunePlan: plan, Freed: a.reclaim(ctx, plan.Blobs)}, nil
}

// GenericRetentionConfig is the [retention.generic] section: rules the
// server applies to generic packages on the [retention] schedule (see
// index.GenericPruneRules). It has its own switch, so that package
// retention and generic retention are turned on separately.
type GenericRetentionConfig struct {
	// Enabled turns scheduled pruning of generic packages on.
	Enabled bool `toml:"enabled"`
	// Keep keeps the Keep newest versions of each package (0: off).
	Keep int `toml:"keep"`
	// OlderThan drops versions whose newest file is older (0: off).
	OlderThan time.Duration `toml:"older_than"`
	// All applies the rules to every version; otherwise only to dev
	// builds (.devN), and releases stay.
	All bool `toml:"all"`
	// Names limits retention to these packages; empty means all.
	Names []string `toml:"names"`
}

// Rules returns the configured prune rules.
func (c GenericRetentionConfig) Rules() index.GenericPruneRules {
	return index.GenericPruneRules{Names: c.Names, Keep: c.Keep, OlderThan: c.OlderThan, All: c.All}
}

// Validate reports bad settings (only when Enabled).
func (c GenericRetentionConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	if err := c.Rules().Validate(); err != nil {
		return fmt.Errorf("retention.generic: %w", err)
	}
	return nil
}

// GenericPruneJSON is a generic prune's result as the API and the CLI's
// --json show it.
func GenericPruneJSON(res GenericPruneResult) map[string]any {
	files := res.Files
	if files == nil {
		files = []index.GenericFile{}
	}
	versions := res.Versions
	if versions == nil {
		versions = []index.PrunedGenericVersion{}
	}
	out := map[string]any{"versions": versions, "files": files, "bytes": res.Bytes, "dry_run": res.DryRun}
	if !res.DryRun {
		out["freed"] = res.Freed
	}
	return out
}

// GenericDeletedJSON is a generic delete's result as the API and the CLI's
// --json show it.
func GenericDeletedJSON(d GenericDeleted) map[string]any {
	files := d.Files
	if files == nil {
		files = []index.GenericFile{}
	}
	return map[string]any{"files": files, "bytes": d.Bytes, "freed": d.Freed}
}

// GenericAPI serves the generic packages' JSON API under /api/v1/generic:
// listing names and versions (reads, which follow the index's auth
// settings), deleting a version or a file (owners and admins, with the
// upload scope), and pruning (admins). Errors are {"error": "..."}.
type GenericAPI struct {
	admin   *Service
	cat     *index.Catalog
	auth    *auth.Service
	deleted *prometheus.CounterVec
}

// NewGenericAPI returns the API over deps.Catalog and deps.Store,
// authorizing with deps.Auth, and registers the counter
// pyindex_generic_deleted_files_total{via} on deps.Registerer (none when
// nil).
func NewGenericAPI(deps Deps) (*GenericAPI, error) {
	if deps.Auth == nil {
		return nil, errors.New("admin.NewGenericAPI: nil auth")
	}
	svc, err := New(deps)
	if err != nil {
		return nil, err
	}
	return &GenericAPI{admin: svc, cat: deps.Catalog, auth: deps.Auth, deleted: genericDeletedCounter(deps.Registerer)}, nil
}

func genericDeletedCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	return storage.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "pyindex", Subsystem: "generic", Name: "deleted_files_total",
		Help: "Generic files deleted, by how: delete (the API) or prune (the prune API and scheduled retention).",
	}, []string{"via"}))
}

// Register adds the routes to g (the server root).
func (h *GenericAPI) Register(g *echo.Group) {
	g.GET("/api/v1/generic", h.list)
	g.GET("/api/v1/generic/:name", h.versions)
	g.DELETE("/api/v1/generic/:name/:version", h.delete)
	g.DELETE("/api/v1/generic/:name/:version/:file", h.delete)
	g.POST("/api/v1/generic/prune", h.prune)
	g.PUT("/api/v1/generic/:name/owners/:user", h.owner(true))
	g.DELETE("/api/v1/generic/:name/owners/:user", h.owner(false))
}

func (h *GenericAPI) list(c echo.Context) error {
	if err := h.auth.RequireRead(c, ""); err != nil {
		return err
	}
	all, err := h.cat.GenericPackages(c.Request().Context())
	if err != nil {
		return err
	}
	r := h.auth.FromContext(c)
	out := make([]index.GenericPackage, 0, len(all))
	for _, g := range all {
		if h.auth.Visible(r, g.Name) {
			out = append(out, g)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"packages": out})
}

func (h *GenericAPI) versions(c echo.Context) error {
	raw := httpx.Param(c, "name")
	if !index.ValidGenericName(raw) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No generic package named %q", raw))
	}
	name := pep503.Normalize(raw)
	if err := h.auth.RequireRead(c, name); err != nil {
		return err
	}
	g, versions, err := h.cat.GenericVersions(c.Request().Context(), name)
	if errors.Is(err, index.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "Generic package "+name+" not found")
	}
	if err != nil {
		return err
	}
	owners, err := h.cat.GenericOwners(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"package": g, "owners": owners, "versions": versions})
}

// ownerOnly returns the caller and the normalized name of the path when
// the caller may change the package: an admin, an owner, or a token
// limited to the name (as for uploads), with the upload scope; doing says
// what, for the message of a refusal.
func (h *GenericAPI) ownerOnly(c echo.Context, doing string) (index.Principal, string, error) {
	p, err := h.auth.Require(c, index.ScopeUpload)
	if err != nil {
		return p, "", err
	}
	raw := httpx.Param(c, "name")
	if !index.ValidGenericName(raw) {
		return p, "", echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No generic package named %q", raw))
	}
	name := pep503.Normalize(raw)
	if err := h.cat.AuthorizeGeneric(c.Request().Context(), p, name); err != nil {
		if errors.Is(err, index.ErrForbidden) {
			return p, "", index.Errorf(index.ErrForbidden, "Only the owners of generic package '%s' and admins may %s", name, doing)
		}
		return p, "", err
	}
	return p, name, nil
}

// owner is PUT (add) and DELETE (remove) /api/v1/generic/NAME/owners/USER,
// for admins and owners: 204, or 404 for an unknown package or user, 400
// for removing the last owner.
func (h *GenericAPI) owner(add bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, name, err := h.ownerOnly(c, "change its owners")
		if err != nil {
			return err
		}
		user := httpx.Param(c, "user")
		err = h.cat.SetGenericOwner(c.Request().Context(), name, user, add, index.Actor{Name: p.User, RemoteAddr: c.RealIP()})
		if errors.Is(err, index.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "Generic package "+name+" or user "+user+" not found")
		}
		if err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// delete is DELETE /api/v1/generic/NAME/VERSION[/FILE], for admins and
// the package's owners (a token limited to the name counts as one, as for
// uploads).
func (h *GenericAPI) delete(c echo.Context) error {
	p, name, err := h.ownerOnly(c, "delete from it")
	if err != nil {
		return err
	}
	version, file := httpx.Param(c, "version"), httpx.Param(c, "file")
	ctx := c.Request().Context()
	d, err := h.admin.DeleteGeneric(ctx, name, version, file, index.Actor{Name: p.User, RemoteAddr: c.RealIP()})
	if errors.Is(err, index.ErrNotFound) {
		what := "Version " + version + " of " + name
		if file != "" {
			what = "File " + file + " of " + name + " " + version
		}
		return echo.NewHTTPError(http.StatusNotFound, what+" not found")
	}
	if err != nil {
		return err
	}
	h.deleted.WithLabelValues("delete").Add(float64(len(d.Files)))
	return c.JSON(http.StatusOK, GenericDeletedJSON(d))
}

// GenericPruneRequest is the body of POST /api/v1/generic/prune.
type GenericPruneRequest struct {
	Names     []string `json:"names"`
	Keep      int      `json:"keep"`
	OlderThan string   `json:"older_than"`
	All       bool     `json:"all"`
	DryRun    bool     `json:"dry_run"`
}

// Rules converts the request into GenericPruneRules.
func (r GenericPruneRequest) Rules() (index.GenericPruneRules, error) {
	rules := index.GenericPruneRules{Names: r.Names, Keep: r.Keep, All: r.All}
	if r.OlderThan != "" {
		d, err := time.ParseDuration(r.OlderThan)
		if err != nil {
			return rules, index.Errorf(index.ErrInvalid, "older_than %q is not a duration such as \"720h\"", r.OlderThan)
		}
		rules.OlderThan = d
	}
	return rules, rules.Validate()
}

func (h *GenericAPI) prune(c echo.Context) error {
	if r := h.auth.FromContext(c); r.Err == nil && len(r.Principal.Projects) > 0 {
		return index.Errorf(index.ErrForbidden, "This token is limited to projects and cannot prune; use an admin token without a project limit")
	}
	p, err := h.auth.Require(c, index.ScopeAdmin)
	if err != nil {
		return err
	}
	var req GenericPruneRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	rules, err := req.Rules()
	if err != nil {
		return err
	}
	res, err := h.admin.PruneGeneric(c.Request().Context(), rules, req.DryRun, index.Actor{Name: p.User, RemoteAddr: c.RealIP()})
	if err != nil {
		return err
	}
	if !res.DryRun {
		h.deleted.WithLabelValues("prune").Add(float64(len(res.Files)))
	}
	return c.JSON(http.StatusOK, GenericPruneJSON(res))
}
