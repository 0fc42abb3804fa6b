package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// What every request gets: a request ID, echoed when the client's is safe;
// a client address taken from X-Forwarded-For or X-Real-IP only from a
// trusted proxy; and the nosniff header, with error bodies that reveal
// nothing of the server.

func TestRequestID(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	c := newClient(t)
	requestID := func(t *testing.T, sent string) string {
		t.Helper()
		h := http.Header{}
		if sent != "" {
			h.Set("X-Request-ID", sent)
		}
		resp, body := do(t, c, http.MethodGet, svc.URL("/nope"), nil, h)
		checkError(t, resp, body, http.StatusNotFound, "not_found")
		return resp.Header.Get("X-Request-ID")
	}

	tests := []struct {
		name string
		sent string
		echo bool
	}{
		{"plain", "abc-123", true},
		{"128 characters", strings.Repeat("a", 128), true},
		{"space", "abc 123", false},
		{"tab", "abc\t123", false},
		{"non-ASCII", "caf\u00e9", false},
		{"200 characters", strings.Repeat("b", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := requestID(t, tt.sent)
			switch {
			case tt.echo && got != tt.sent:
				t.Errorf("X-Request-ID = %q, want %q echoed", got, tt.sent)
			case !tt.echo && (got == "" || got == tt.sent || !printable(got)):
				t.Errorf("X-Request-ID = %q, want a new printable ID in place of %q", got, tt.sent)
			}
		})
	}
	t.Run("generated IDs differ", func(t *testing.T) {
		a, b := requestID(t, ""), requestID(t, "")
		if a == "" || a == b || !printable(a) || !printable(b) {
			t.Errorf("generated IDs %q and %q; want two different printable IDs", a, b)
		}
	})
}

// printable reports whether id is 1 to 128 printable ASCII characters
// without spaces, safe to log and echo.
func printable(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// TestForwardedForIsBelievedOnlyFromTrustedProxies: the test's requests
// come from 127.0.0.1, so a forwarded address may replace it in the access
// log's client_ip only when 127.0.0.1 is a trusted proxy.
func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	const spoofed = "203.0.113.9"
	tests := []struct {
		name    string
		proxies string
		header  string
		value   string
		want    string
	}{
		{"no trusted proxy, X-Forwarded-For", "", "X-Forwarded-For", spoofed, "127.0.0.1"},
		{"no trusted proxy, X-Real-IP", "", "X-Real-IP", spoofed, "127.0.0.1"},
		{"loopback trusted", "127.0.0.1", "X-Forwarded-For", spoofed, spoofed},
		{"loopback trusted, X-Real-IP", "127.0.0.1", "X-Real-IP", spoofed, spoofed},
		{"loopback network trusted", "127.0.0.0/8", "X-Forwarded-For", spoofed, spoofed},
		// The proxy appends the address it saw; what the client wrote to
		// the left of it is not believed.
		{"loopback trusted, client-written chain", "127.0.0.1", "X-Forwarded-For", "198.51.100.7, " + spoofed, spoofed},
		{"another proxy trusted", "10.0.0.1", "X-Forwarded-For", spoofed, "127.0.0.1"},
		{"another network trusted", "10.0.0.0/8,192.168.0.1", "X-Forwarded-For", spoofed, "127.0.0.1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := startService(t, map[string]string{"TRUSTED_PROXIES": tt.proxies})
			id := fmt.Sprintf("proxy-test-%d", i)
			resp, body := do(t, newClient(t), http.MethodGet, svc.URL("/version"), nil,
				http.Header{tt.header: {tt.value}, "X-Request-Id": {id}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /version: status %d, want 200; body %s", resp.StatusCode, body)
			}
			if got := accessLog(t, svc.Logs, id).Get("client_ip"); got != tt.want {
				t.Errorf("TRUSTED_PROXIES=%q, %s: %s: client_ip = %q, want %q", tt.proxies, tt.header, tt.value, got, tt.want)
			}
		})
	}
}

// TestResponsesAreNosniffAndErrorsRevealNothing sends requests answered with
// each kind of status: every answer carries nosniff, and no error body holds
// a stack, a source path or the panic's message, which the log does hold.
func TestResponsesAreNosniffAndErrorsRevealNothing(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true", "MAX_BODY_BYTES": "1024"})
	c := newClient(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	leaks := []string{".go:", "/ginstarter/", "goroutine ", "demo panic", "always panics", "runtime/debug", "panic(", wd}
	jsonType := http.Header{"Content-Type": {"application/json"}}

	tests := []struct {
		method, path string
		body         string
		header       http.Header
		status       int
	}{
		{"GET", "/v1/items", "", nil, http.StatusOK},
		{"POST", "/v1/items", `{"name":"a"}`, jsonType, http.StatusCreated},
		{"GET", "/version", "", nil, http.StatusOK},
		{"GET", "/v1/demo/sleep?d=1ms", "", nil, http.StatusOK},
		{"POST", "/v1/items", `{"name":`, jsonType, http.StatusBadRequest},
		{"GET", "/v1/demo/sleep?d=forever", "", nil, http.StatusBadRequest},
		{"GET", "/no/such/route", "", nil, http.StatusNotFound},
		{"GET", "/v1/items/../../etc/passwd", "", nil, http.StatusNotFound},
		{"PATCH", "/v1/items", "", nil, http.StatusMethodNotAllowed},
		{"POST", "/v1/items", `{"name":"` + strings.Repeat("x", 2000) + `"}`, jsonType, http.StatusRequestEntityTooLarge},
		{"POST", "/v1/items", `{"name":"a"}`, http.Header{"Content-Type": {"text/html"}}, http.StatusUnsupportedMediaType},
		{"GET", "/v1/demo/panic", "", nil, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s %s", tt.status, tt.method, tt.path), func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			resp, b := do(t, c, tt.method, svc.URL(tt.path), body, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			if got := resp.Header.Values("X-Content-Type-Options"); len(got) != 1 || got[0] != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want one nosniff", got)
			}
			if tt.status < 400 {
				return
			}
			for _, leak := range leaks {
				if strings.Contains(string(b), leak) {
					t.Errorf("the error body reveals %q: %s", leak, b)
				}
			}
		})
	}
	// The leaks looked for are real: the log holds them for the panic.
	l := svc.Logs.Last("panic recovered")
	if !strings.Contains(l.Get("stack"), ".go:") || !strings.Contains(l.Get("stack"), "goroutine ") || !strings.Contains(l.Get("panic"), "demo panic") {
		t.Errorf("the panic log line lacks the stack or the panic message that the body must not show: %v", l)
	}
}

// accessLog waits for the access log line of the request with requestID
// (it is written after the response) and returns it.
func accessLog(tb testing.TB, logs *testkit.LogBuffer, requestID string) testkit.LogLine {
	tb.Helper()
	var found testkit.LogLine
	eventually(tb, "the access log line of "+requestID, func() (bool, string) {
		for _, s := range logs.Lines() {
			if l := testkit.ParseLogLine(s); l.Get("msg") == "request" && l.Get("request_id") == requestID {
				found = l
				return true, ""
			}
		}
		return false, "no line"
	})
	return found
}
