package scm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pyindex/pyindex/index/pep440"
)

// DevVersionsPath is the index endpoint that hands out dev numbers, relative
// to the index URL; %s is the project name, path-escaped.
const DevVersionsPath = "/api/v1/projects/%s/dev-versions"

// DevVersionRequest is the JSON body of POST DevVersionsPath.
//
// The server's contract: numbers are strictly increasing per project and
// base, always above any <base>.devN already uploaded, and the same commit
// (with the same base) gets the same number again, so a retried request is
// harmless. Without Base the server uses the next version after the
// project's newest final release.
type DevVersionRequest struct {
	// Base is the public version before ".devN" ("1.2.4"), as Result.Base
	// computes it; empty to let the server choose.
	Base string `json:"base,omitempty"`
	// Commit is the full hash of the commit being built.
	Commit string `json:"commit"`
	// Branch is the branch being built; informational.
	Branch string `json:"branch,omitempty"`
}

// DevVersionResponse is the server's answer: Version is Base + ".dev" +
// Number (equal to it under PEP 440 when the server normalizes the base).
type DevVersionResponse struct {
	Version string `json:"version"`
	Number  int    `json:"number"`
}

// HTTPError is a non-2xx answer from the index.
type HTTPError struct {
	Status  int
	Message string // the body's "error" field, or the raw body
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("index answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// IndexClient talks to a pyindex server's dev-versions endpoint.
type IndexClient struct {
	// URL is the index's base URL, e.g. https://pypi.example.com.
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when not empty.
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
// other than 2xx, ErrInvalidVersion for an inconsistent answer.
func (c *IndexClient) DevVersion(ctx context.Context, project string, req DevVersionRequest) (DevVersionResponse, error) {
	if project == "" {
		return DevVersionResponse{}, errorf(ErrConfig, "no project name for the index")
	}
	if req.Commit == "" {
		return DevVersionResponse{}, errorf(ErrConfig, "no commit to ask the index about (HEAD has no commit)")
	}
	endpoint := strings.TrimRight(c.URL, "/") + fmt.Sprintf(DevVersionsPath, url.PathEscape(project))
	body, err := json.Marshal(req)
	if err != nil {
		return DevVersionResponse{}, err
	}
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
	var resp DevVersionResponse
	for attempt := 0; ; attempt++ {
		var retry bool
		resp, retry, err = c.post(ctx, hc, endpoint, body)
		if err == nil || !retry || attempt >= retries {
			break
		}
		select {
		case <-ctx.Done():
			return DevVersionResponse{}, errors.Join(err, ctx.Err())
		case <-time.After(backoff << attempt):
		}
	}
	if err != nil {
		return DevVersionResponse{}, err
	}
	if err := checkDevResponse(req, resp); err != nil {
		return DevVersionResponse{}, err
	}
	return resp, nil
}

func (c *IndexClient) post(ctx context.Context, hc *http.Client, endpoint string, body []byte) (DevVersionResponse, bool, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return DevVersionResponse{}, false, errorf(ErrConfig, "index URL %q: %v", c.URL, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "scmversion")
	if c.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hresp, err := hc.Do(hreq)
	if err != nil {
		return DevVersionResponse{}, ctx.Err() == nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return DevVersionResponse{}, true, fmt.Errorf("POST %s: reading the answer: %w", endpoint, err)
	}
	if hresp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(raw))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		retry := hresp.StatusCode == http.StatusBadGateway || hresp.StatusCode == http.StatusServiceUnavailable ||
			hresp.StatusCode == http.StatusGatewayTimeout
		return DevVersionResponse{}, retry, &HTTPError{Status: hresp.StatusCode, Message: msg}
	}
	var resp DevVersionResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return DevVersionResponse{}, false, fmt.Errorf("POST %s: answer is not the expected JSON: %w", endpoint, err)
	}
	return resp, false, nil
}

func checkDevResponse(req DevVersionRequest, resp DevVersionResponse) error {
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

// DevBase returns the public version before ".devN" in a version the
// index answered ("1.2.4" for "1.2.4.dev17").
func (r DevVersionResponse) DevBase() string {
	return strings.TrimSuffix(r.Version, ".dev"+strconv.Itoa(r.Number))
}
