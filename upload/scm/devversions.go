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
// other than 2xx, ErrInvalidVersion for an inconsistent answer.
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
	var resp devapi.Response
	for attempt := 0; ; attempt++ {
		var retry bool
		resp, retry, err = c.post(ctx, hc, endpoint, body)
		if err == nil || !retry || attempt >= retries {
			break
		}
		select {
		case <-ctx.Done():
			return devapi.Response{}, errors.Join(err, ctx.Err())
		case <-time.After(backoff << attempt):
		}
	}
	if err != nil {
		return devapi.Response{}, err
	}
	if err := checkDevResponse(req, resp); err != nil {
		return devapi.Response{}, err
	}
	return resp, nil
}

func (c *IndexClient) post(ctx context.Context, hc *http.Client, endpoint string, body []byte) (devapi.Response, bool, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return devapi.Response{}, false, errorf(ErrConfig, "index URL %q: %v", c.URL, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
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
		return devapi.Response{}, ctx.Err() == nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return devapi.Response{}, true, fmt.Errorf("POST %s: reading the answer: %w", endpoint, err)
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
		return devapi.Response{}, retry, &HTTPError{Status: hresp.StatusCode, Message: msg}
	}
	var resp devapi.Response
	if err := json.Unmarshal(raw, &resp); err != nil {
		return devapi.Response{}, false, fmt.Errorf("POST %s: answer is not the expected JSON: %w", endpoint, err)
	}
	return resp, false, nil
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
