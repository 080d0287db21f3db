package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/admin"
	"github.com/pyindex/pyindex/index/pep503"
)

// adminOnly lets only logged-in admins through: others are asked to log
// in, or refused (403).
func (u *UI) adminOnly(h handler) handler {
	return func(c echo.Context, v *visitor) error {
		if v.session == nil {
			return index.Errorf(index.ErrUnauthenticated, "log in")
		}
		if !v.Admin() {
			return index.Errorf(index.ErrForbidden, "Only admins may do this")
		}
		return h(c, v)
	}
}

// ownerOrAdmin lets through logged-in admins, and owners for a project
// they own named by the "project" field (the prune rules, the audit
// filter): an owner prunes and reads the log of their own projects only.
func (u *UI) ownerOrAdmin(h handler) handler {
	return func(c echo.Context, v *visitor) error {
		if v.session == nil {
			return index.Errorf(index.ErrUnauthenticated, "log in")
		}
		if v.Admin() {
			return h(c, v)
		}
		project := strings.TrimSpace(formValue(c, "project"))
		if project == "" {
			return index.Errorf(index.ErrForbidden, "Only admins may do this for every project: name a project you own")
		}
		if !pep503.Valid(project) {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("No project named %q", project))
		}
		ok, err := u.mayManage(c.Request().Context(), v, pep503.Normalize(project))
		if err != nil {
			return err
		}
		if !ok {
			return index.Errorf(index.ErrForbidden, "%s may not do this for project '%s': only its owners and admins may", v.User(), pep503.Normalize(project))
		}
		return h(c, v)
	}
}

// pruneData is what prune.html shows.
type pruneData struct {
	Form        admin.PruneRequest
	Plan        *admin.PruneResult // the dry run, or what was deleted
	Done        bool               // Plan is what a prune deleted
	Fingerprint string
	Changed     bool // the catalog changed since the preview
	Error       string
}

// formValue is a field of a POST's form, or of a GET's query.
func formValue(c echo.Context, key string) string {
	if c.Request().Method == http.MethodPost {
		return c.Request().PostFormValue(key)
	}
	return c.QueryParam(key)
}

// pruneForm reads the prune rules of a query (the preview) or a form (the
// prune).
func pruneForm(c echo.Context) (admin.PruneRequest, bool) {
	f := admin.PruneRequest{Project: strings.TrimSpace(formValue(c, "project")),
		DevOlderThan: strings.TrimSpace(formValue(c, "dev_older_than")), ReleasedDev: formValue(c, "released_dev") != ""}
	if s := strings.TrimSpace(formValue(c, "keep_dev")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = -1 // Rules reports it
		}
		f.KeepDev = n
	}
	asked := f.DevOlderThan != "" || f.ReleasedDev || formValue(c, "keep_dev") != ""
	return f, asked
}

// planFingerprint identifies a prune plan exactly: the files (and
// releases) it deletes.
func planFingerprint(p index.PrunePlan) string {
	h := sha256.New()
	for _, r := range p.Releases {
		fmt.Fprintf(h, "r %s %s %d\n", r.Project, r.Version, r.Files)
	}
	for _, f := range p.Files {
		fmt.Fprintf(h, "f %s %s %d\n", f.Filename, f.SHA256, f.Size)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// prunePage answers GET /manage/prune: the rules form and, once rules are
// given, the dry run's exact list with the button that applies it.
func (u *UI) prunePage(c echo.Context, v *visitor) error {
	f, asked := pruneForm(c)
	d := pruneData{Form: f}
	if !asked {
		return u.render(c, http.StatusOK, "prune", "Prune dev builds", d)
	}
	status, err := u.preview(c, v, &d)
	if err != nil {
		return err
	}
	return u.render(c, status, "prune", "Prune dev builds", d)
}

// preview fills d with the dry run of d.Form's rules; bad rules are shown
// on the form (400).
func (u *UI) preview(c echo.Context, v *visitor, d *pruneData) (int, error) {
	rules, err := d.Form.Rules()
	if err == nil {
		var res admin.PruneResult
		res, err = u.admin.Prune(c.Request().Context(), rules, true, v.actor(c))
		if err == nil {
			d.Plan, d.Fingerprint = &res, planFingerprint(res.PrunePlan)
			return http.StatusOK, nil
		}
	}
	if errors.Is(err, index.ErrInvalid) {
		var ie *index.Error
		d.Error = err.Error()
		if errors.As(err, &ie) {
			d.Error = ie.Msg
		}
		return http.StatusBadRequest, nil
	}
	return 0, err
}

// prune answers POST /manage/prune: it applies the previewed plan, and
// only that. The plan is computed again and compared with the preview's
// fingerprint: when the catalog changed in between, nothing is deleted and
// the new list is shown to review (409). Then admin.Service.Prune deletes
// the rows and reclaims the blobs; the result lists what went.
func (u *UI) prune(c echo.Context, v *visitor) error {
	f, _ := pruneForm(c)
	d := pruneData{Form: f}
	status, err := u.preview(c, v, &d)
	if err != nil || d.Plan == nil {
		if err == nil {
			err = u.render(c, status, "prune", "Prune dev builds", d)
		}
		return err
	}
	if d.Fingerprint != formValue(c, "fingerprint") {
		d.Changed = true
		return u.render(c, http.StatusConflict, "prune", "Prune dev builds", d)
	}
	rules, _ := f.Rules()
	res, err := u.admin.Prune(c.Request().Context(), rules, false, v.actor(c))
	if err != nil {
		return err
	}
	d.Plan, d.Done, d.Changed = &res, true, planFingerprint(res.PrunePlan) != d.Fingerprint
	return u.render(c, http.StatusOK, "prune", "Pruned dev builds", d)
}

// auditData is what audit.html shows.
type auditData struct {
	Project, Actor, Action string
	Events                 []index.Event
	Limit                  int
}

// auditPage answers GET /manage/audit, filtered by project, actor and
// action.
func (u *UI) auditPage(c echo.Context, v *visitor) error {
	d := auditData{Project: strings.TrimSpace(c.QueryParam("project")), Actor: strings.TrimSpace(c.QueryParam("actor")),
		Action: strings.TrimSpace(c.QueryParam("action")), Limit: 200}
	q := index.AuditQuery{Actor: d.Actor, Action: d.Action, Limit: d.Limit}
	if d.Project != "" {
		q.Project = pep503.Normalize(d.Project)
	}
	events, err := u.cat.AuditEvents(c.Request().Context(), q)
	if err != nil {
		return err
	}
	d.Events = events
	return u.render(c, http.StatusOK, "audit", "Audit log", d)
}

// usersData is what users.html shows.
type usersData struct {
	Users  []index.User
	Notice string
	Error  string
}

func (u *UI) usersPage(c echo.Context, v *visitor) error {
	return u.showUsers(c, http.StatusOK, usersData{Notice: noticeOf(c)})
}

func (u *UI) showUsers(c echo.Context, status int, d usersData) error {
	users, err := u.cat.Users(c.Request().Context())
	if err != nil {
		return err
	}
	d.Users = users
	return u.render(c, status, "users", "Users", d)
}

// formError shows an invalid-input error on the form it came from (400),
// and returns other errors as they are.
func formError(err error) (string, bool) {
	var ie *index.Error
	switch {
	case errors.As(err, &ie) && (errors.Is(err, index.ErrInvalid) || errors.Is(err, index.ErrNotFound) || errors.Is(err, index.ErrExists)):
		return ie.Msg, true
	case errors.Is(err, index.ErrExists):
		return "That name is taken", true
	case errors.Is(err, index.ErrNotFound):
		return "Not found", true
	}
	return "", false
}

func (u *UI) addUser(c echo.Context, v *visitor) error {
	name := strings.TrimSpace(formValue(c, "name"))
	_, err := u.cat.AddUser(c.Request().Context(), name, formValue(c, "password"), formValue(c, "admin") != "", v.User())
	if msg, ok := formError(err); ok {
		if errors.Is(err, index.ErrExists) {
			msg = fmt.Sprintf("A user named %q exists already", name)
		}
		return u.showUsers(c, http.StatusBadRequest, usersData{Error: msg})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/manage/users?done=user-added")
}

func (u *UI) removeUser(c echo.Context, v *visitor) error {
	name := c.Param("user")
	err := u.cat.RemoveUser(c.Request().Context(), name, v.User())
	if msg, ok := formError(err); ok {
		return u.showUsers(c, http.StatusNotFound, usersData{Error: msg})
	}
	if err != nil {
		return err
	}
	if name == v.User() {
		u.clearCookie(c, sessionCookie)
		return c.Redirect(http.StatusSeeOther, u.prefix+"/projects/")
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/manage/users?done=user-removed")
}

func (u *UI) setPassword(c echo.Context, v *visitor) error {
	name := c.Param("user")
	err := u.cat.SetPassword(c.Request().Context(), name, formValue(c, "password"), v.User())
	if msg, ok := formError(err); ok {
		return u.showUsers(c, http.StatusBadRequest, usersData{Error: msg})
	}
	if err != nil {
		return err
	}
	if name == v.User() { // this session ended with the old password
		return c.Redirect(http.StatusSeeOther, u.prefix+"/login?next=/manage/users")
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/manage/users?done=password-set")
}

// tokensData is what tokens.html shows.
type tokensData struct {
	Tokens   []index.Token
	Users    []index.User
	Secret   string      // a new token's secret, shown once
	Created  index.Token // the token Secret belongs to
	Form     admin.TokenRequest
	Projects string
	Notice   string
	Error    string
}

func (u *UI) tokensPage(c echo.Context, v *visitor) error {
	return u.showTokens(c, http.StatusOK, tokensData{Notice: noticeOf(c), Form: admin.TokenRequest{Scope: "upload"}})
}

func (u *UI) showTokens(c echo.Context, status int, d tokensData) error {
	ctx := c.Request().Context()
	var err error
	if d.Tokens, err = u.cat.Tokens(ctx, ""); err != nil {
		return err
	}
	if d.Users, err = u.cat.Users(ctx); err != nil {
		return err
	}
	// A new token's page must not be kept anywhere.
	c.Response().Header().Set("Cache-Control", "no-store")
	return u.render(c, status, "tokens", "Tokens", d)
}

// createToken answers POST /manage/tokens; the page that answers shows the
// secret, once (it is stored only hashed).
func (u *UI) createToken(c echo.Context, v *visitor) error {
	d := tokensData{Projects: formValue(c, "projects"), Form: admin.TokenRequest{User: formValue(c, "user"), Scope: formValue(c, "scope"),
		Expires: strings.TrimSpace(formValue(c, "expires")), Description: formValue(c, "description")}}
	d.Form.Projects = strings.FieldsFunc(d.Projects, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	nt, err := d.Form.NewToken(time.Now())
	if err == nil {
		d.Created, d.Secret, err = u.cat.CreateToken(c.Request().Context(), nt, v.User())
	}
	if msg, ok := formError(err); ok {
		d.Error = msg
		return u.showTokens(c, http.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	d.Form = admin.TokenRequest{Scope: "upload"}
	d.Projects = ""
	return u.showTokens(c, http.StatusCreated, d)
}

func (u *UI) revokeToken(c echo.Context, v *visitor) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return echo.NewHTTPError(http.StatusNotFound, "No such token")
	}
	if err := u.cat.RevokeToken(c.Request().Context(), id, v.User()); err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "No such token")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, u.prefix+"/manage/tokens?done=token-revoked")
}
