package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
)

// slowUpload opens a raw connection and sends an upload's headers and the
// first part of its body, then stops. It returns the connection and a
// function that reads the response status line.
func slowUpload(t *testing.T, m *pyindex.Main, user, pass string) (net.Conn, func() string) {
	t.Helper()
	req := uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel")
	req.SetBasicAuth(user, pass)
	body, _ := io.ReadAll(req.Body)
	conn, err := net.Dial("tcp", m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /legacy/ HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nAuthorization: %s\r\n\r\n",
		m.Addr(), req.Header.Get("Content-Type"), len(body), req.Header.Get("Authorization"))
	conn.Write(head.Bytes())
	conn.Write(body[:len(body)/2])
	return conn, func() string {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.TrimSpace(line)
	}
}

// TestStalledUploadTimesOut: a client that stops sending gets 408 after
// upload.body_timeout and frees its slot.
func TestStalledUploadTimesOut(t *testing.T) {
	m := startServer(t, func(c *pyindex.Config) {
		c.Upload.BodyTimeout = 500 * time.Millisecond
		c.Upload.MaxConcurrent = 1
	})
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	_, status := slowUpload(t, m, "ci", "ci-password-1")
	if got := status(); !strings.Contains(got, "408") {
		t.Fatalf("stalled upload answered %q, want 408", got)
	}
	// The slot is free again: a normal upload goes through.
	code, body, _ := do(t, uploadRequest(t, m.URL(), "acme_util-0.1-py3-none-any.whl", "acme-util", "0.1", "bdist_wheel"), basic("ci", "ci-password-1"))
	if code != 200 {
		t.Fatalf("upload after a stalled one: %d %s", code, body)
	}
}

// TestUploadCap: beyond upload.max_concurrent, uploads get 503 with
// Retry-After at once, and reads keep working.
func TestUploadCap(t *testing.T) {
	m := startServer(t, func(c *pyindex.Config) {
		c.Upload.BodyTimeout = 20 * time.Second
		c.Upload.MaxConcurrent = 1
	})
	cli(t, m, "ci-password-1\n", "user", "add", "ci", "--password-stdin")
	conn, _ := slowUpload(t, m, "ci", "ci-password-1")
	time.Sleep(200 * time.Millisecond) // let the server take the slot
	code, body, hdr := do(t, uploadRequest(t, m.URL(), "acme_util-0.2-py3-none-any.whl", "acme-util", "0.2", "bdist_wheel"), basic("ci", "ci-password-1"))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("second upload: %d %q (Retry-After %q), want 503 with Retry-After", code, body, hdr.Get("Retry-After"))
	}
	resp, err := http.Get(m.URL() + "/simple/")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("read during a held upload: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	conn.Close()
}
