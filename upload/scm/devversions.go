package scm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/devapi"
	"github.com/pyindex/pyindex/index/pep440"
)

// HTTPError is a non-2xx answer from the index.
type HTTPError struct {
	Status  int
	Message string // the body's "error" field, or the raw body
	// Newest is the project's newest version in a 409 answer to an
	// above_all request (devapi.Conflict): the base fell behind it.
	Newest string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("index answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// IndexClient talks to a pyindex server's dev-versions endpoint.
type IndexClient struct {
	// URL is the index's base URL, e.g. https://pypi.example.com.
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when not empty;
	// with User, the two are sent as HTTP Basic credentials (a user's
	// password, or a token under the user's name).
	User  string
	Token string
	// HTTP is the client to use; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Retries is how many times a network error or a 502, 503 or 504 is
	// retried (the endpoint is idempotent per commit). Default 3; negative
	// means none.
	Retries int
	// Backoff is the wait before the first retry, doubled each time.
	// Default 1 s.
	Backoff time.Duration
}

// DevVersion asks the index for the next dev number of project.
//
// It checks that the answer is consistent: a non-negative number, and a
// version equal under PEP 440 to req.Base + ".dev" + number (or, without a
// base, a valid version ending in ".dev" + number). Errors: *HTTPError for an answer
// other than 2xx (with Newest set when an above_all request's base fell
// behind), ErrInvalidVersion for an inconsistent answer.
func (c *IndexClient) DevVersion(ctx context.Context, project string, req devapi.Request) (devapi.Response, error) {
	if project == "" {
		return devapi.Response{}, errorf(ErrConfig, "no project name for the index")
	}
	if req.Commit == "" {
		return devapi.Response{}, errorf(ErrConfig, "no commit to ask the index about (HEAD has no commit)")
	}
	endpoint := strings.TrimRight(c.URL, "/") + devapi.Path(project)
	body, err := json.Marshal(req)
	if err != nil {
		return devapi.Response{}, err
	}
	var resp devapi.Response
	if err := c.call(ctx, http.MethodPost, endpoint, body, &resp); err != nil {
		return devapi.Response{}, err
	}
	if err := checkDevResponse(req, resp); err != nil {
		return devapi.Response{}, err
	}
	return resp, nil
}

// DevState asks the index for the project's newest version (GET on the
// endpoint), from which a clone without tags chooses its base
// (Result.BaseAfter). Errors: *HTTPError for an answer other than 2xx.
func (c *IndexClient) DevState(ctx context.Context, project string) (devapi.State, error) {
	if project == "" {
		return devapi.State{}, errorf(ErrConfig, "no project name for the index")
	}
	var st devapi.State
	err := c.call(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+devapi.Path(project), nil, &st)
	return st, err
}

// call sends the request, retrying network errors and 502/503/504 with
// backoff, and decodes a 2xx answer into out.
func (c *IndexClient) call(ctx context.Context, method, endpoint string, body []byte, out any) error {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	retries := c.Retries
	if retries == 0 {
		retries = 3
	}
	backoff := c.Backoff
	if backoff == 0 {
		backoff = time.Second
	}
	for attempt := 0; ; attempt++ {
		retry, err := c.do(ctx, hc, method, endpoint, body, out)
		if err == nil || !retry || attempt >= retries {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff << attempt):
		}
	}
}

func (c *IndexClient) do(ctx context.Context, hc *http.Client, method, endpoint string, body []byte, out any) (bool, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return false, errorf(ErrConfig, "index URL %q: %v", c.URL, err)
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "scmversion")
	switch {
	case c.User != "":
		hreq.SetBasicAuth(c.User, c.Token)
	case c.Token != "":
		hreq.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hresp, err := hc.Do(hreq)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("%s %s: %w", method, endpoint, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return true, fmt.Errorf("%s %s: reading the answer: %w", method, endpoint, err)
	}
	if hresp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(raw))
		var e devapi.Conflict
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		retry := hresp.StatusCode == http.StatusBadGateway || hresp.StatusCode == http.StatusServiceUnavailable ||
			hresp.StatusCode == http.StatusGatewayTimeout
		he := &HTTPError{Status: hresp.StatusCode, Message: msg}
		if hresp.StatusCode == http.StatusConflict {
			he.Newest = e.Newest
		}
		return retry, he
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return false, fmt.Errorf("%s %s: answer is not the expected JSON: %w", method, endpoint, err)
	}
	return false, nil
}

func checkDevResponse(req devapi.Request, resp devapi.Response) error {
	if resp.Number < 0 {
		return errorf(ErrInvalidVersion, "index answered a negative dev number %d", resp.Number)
	}
	suffix := ".dev" + strconv.Itoa(resp.Number)
	got, err := parseVersion(resp.Version)
	if err != nil {
		return errorf(ErrInvalidVersion, "index answered version %q: %v", resp.Version, err)
	}
	if req.Base != "" {
		// The server may normalize the base; the versions must be equal
		// under PEP 440.
		want, err := parseVersion(req.Base + suffix)
		if err != nil || pep440.Compare(got, want) != 0 {
			return errorf(ErrInvalidVersion, "index answered version %q for base %q and number %d, want %q",
				resp.Version, req.Base, resp.Number, req.Base+suffix)
		}
		return nil
	}
	if n, ok := got.Dev(); !ok || n != strconv.Itoa(resp.Number) || !strings.HasSuffix(resp.Version, suffix) {
		return errorf(ErrInvalidVersion, "index answered version %q, which does not end in %s", resp.Version, suffix)
	}
	return nil
}
