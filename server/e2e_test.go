package server

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
)

const sleepRoute = "/v1/demo/sleep"

func TestInFlightGaugeFollowsRequestsToTheirEnd(t *testing.T) {
	t.Parallel()
	const n = 8
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true"})
	c := newClient(t)
	route := labels("http_request_method", "GET", "http_route", sleepRoute)
	withStatus := func(code int) map[string]string {
		return labels("http_request_method", "GET", "http_route", sleepRoute, "http_response_status_code", strconv.Itoa(code))
	}

	// Clients that go away in the middle of their requests.
	release := holdSleeps(t, svc, c, n)
	release()
	eventually(t, "every abandoned sleep recorded", func() (bool, string) {
		mfs, _ := scrape(t, c, svc.Admin)
		active, done := value(mfs, activeMetric, route), value(mfs, durationMetric, route)
		return active == 0 && done == n, fmt.Sprintf("active %v, recorded %v", active, done)
	})
	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, durationMetric, withStatus(499)); got != n {
		t.Errorf("abandoned requests recorded with 499: %v, want %d", got, n)
	}
	if got := value(mfs, durationMetric, withStatus(http.StatusOK)); got != 0 {
		t.Errorf("abandoned requests recorded with 200: %v, want 0", got)
	}

	// Requests that run to completion.
	statuses := make(chan int, n)
	for range n {
		go func() {
			resp, err := c.Get(svc.URL(sleepRoute + "?d=10ms"))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for range n {
		if s := <-statuses; s != http.StatusOK {
			t.Errorf("completed sleep: status %d, want 200", s)
		}
	}
	mfs, _ = scrape(t, c, svc.Admin)
	if got := value(mfs, activeMetric, route); got != 0 {
		t.Errorf("%s after every request answered = %v, want 0", activeMetric, got)
	}
	if got := value(mfs, durationMetric, withStatus(http.StatusOK)); got != n {
		t.Errorf("completed requests recorded with 200: %v, want %d", got, n)
	}
}

func TestPanicIsAnsweredLoggedCountedAndSurvived(t *testing.T) {
	t.Parallel()
	const route = "/v1/demo/panic"
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true"})
	c := newClient(t)

	resp, body := do(t, c, http.MethodGet, svc.URL(route), nil, nil)
	e := checkError(t, resp, body, http.StatusInternalServerError, "internal_error")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"goroutine", ".go:", "panic(", "demo panic", "controllers", wd} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("the 500 body reveals %q: %s", leak, body)
		}
	}

	logged := svc.Logs.Last("panic recovered")
	switch {
	case logged == nil:
		t.Errorf("no \"panic recovered\" log line; log:\n%s", svc.Logs)
	case logged.Get("level") != "ERROR" || logged.Get("request_id") != e.Error.RequestID:
		t.Errorf("panic log level, request_id = %q, %q; want ERROR, %q", logged.Get("level"), logged.Get("request_id"), e.Error.RequestID)
	case !strings.Contains(logged.Get("stack"), "DemoPanic"):
		t.Errorf("panic log stack does not show the panicking handler: %q", logged.Get("stack"))
	}

	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, panicsMetric, labels("http_route", route)); got != 1 {
		t.Errorf("%s{http_route=%q} = %v, want 1", panicsMetric, route, got)
	}
	if got := value(mfs, durationMetric, labels("http_route", route, "http_response_status_code", "500")); got != 1 {
		t.Errorf("requests recorded with 500 = %v, want 1", got)
	}
	if got := value(mfs, durationMetric, labels("http_route", route)); got != 1 {
		t.Errorf("requests recorded = %v, want 1 (with its 500 only)", got)
	}
	if got := value(mfs, activeMetric, labels("http_route", route)); got != 0 {
		t.Errorf("%s after the panic = %v, want 0", activeMetric, got)
	}
	for _, path := range []string{"/healthz", "/v1/items"} {
		if status, body := get(t, c, svc.URL(path)); status != http.StatusOK {
			t.Errorf("GET %s after the panic: status %d, want 200; body %s", path, status, body)
		}
	}
}

func TestUnknownPathsAndMethodsKeepMetricsBounded(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	c := newClient(t)

	rnd := rand.New(rand.NewChaCha8([32]byte{1}))
	var paths []string // as the server sees them, decoded
	for i := range 1000 {
		switch i % 10 {
		case 0:
			b := make([]byte, 1+rnd.IntN(24))
			for j := range b {
				b[j] = byte(rnd.Uint32())
			}
			paths = append(paths, "/nope-rnd/"+string(b))
		case 1:
			paths = append(paths, fmt.Sprintf("/v1/items/x%d/y", i))
		default:
			paths = append(paths, fmt.Sprintf("/nope/%d", i))
		}
	}
	failures := 0
	for _, p := range paths {
		u := svc.URL((&url.URL{Path: p}).EscapedPath())
		resp, body := do(t, c, http.MethodGet, u, nil, nil)
		if resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte(`"code":"not_found"`)) {
			t.Errorf("GET %q: status %d, body %s; want 404 with the JSON error", p, resp.StatusCode, body)
			if failures++; failures > 5 {
				t.FailNow()
			}
		}
	}
	resp, body := do(t, c, "BREW", svc.URL("/v1/items"), nil, nil)
	checkError(t, resp, body, http.StatusMethodNotAllowed, "method_not_allowed")
	resp, body = do(t, c, "BREW", svc.URL("/nope/brew"), nil, nil)
	checkError(t, resp, body, http.StatusNotFound, "not_found")

	mfs, text := scrape(t, c, svc.Admin)
	routes := labelValues(mfs, "http_route")
	if !routes["unmatched"] {
		t.Errorf("the %d http_route values lack \"unmatched\"", len(routes))
	}
	var raw []string
	for r := range routes {
		if strings.Contains(r, "nope") || strings.Contains(r, "/x") {
			raw = append(raw, r)
		}
	}
	if len(raw) > 0 {
		t.Errorf("http_route takes %d raw paths, such as %q", len(raw), raw[0])
	}
	if got := value(mfs, durationMetric, labels("http_route", "unmatched", "http_response_status_code", "404")); got != 1001 {
		t.Errorf("unmatched 404s recorded = %v, want 1001", got)
	}
	if n := len(mfs[durationMetric].GetMetric()); n > 3 {
		t.Errorf("%s has %d series after 1002 requests to unknown paths, want at most 3", durationMetric, n)
	}
	if strings.Contains(text, "nope") {
		t.Error("/metrics contains \"nope\", a piece of the unknown paths")
	}
	for _, p := range paths {
		if strings.Contains(text, p) {
			t.Fatalf("/metrics contains the raw path %q", p)
		}
	}
	if got := value(mfs, durationMetric, labels("http_request_method", "_OTHER")); got != 2 {
		t.Errorf("BREW requests recorded as _OTHER = %v, want 2", got)
	}
	if strings.Contains(text, "BREW") {
		t.Error("/metrics contains the method BREW")
	}
}

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

func TestErrorResponsesShareOneShape(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true", "MAX_BODY_BYTES": "1024"})
	c := newClient(t)
	big := `{"name":"` + strings.Repeat("x", 2048) + `"}`
	jsonType := http.Header{"Content-Type": {"application/json"}}

	tests := []struct {
		name         string
		method, path string
		body         string
		chunked      bool // send the body without a Content-Length
		header       http.Header
		status       int
		code         string
		field        string // a field the error must name, if any
	}{
		{"malformed JSON", "POST", "/v1/items", `{"name":`, false, jsonType, 400, "bad_request", ""},
		{"validation", "POST", "/v1/items", `{"name":""}`, false, jsonType, 400, "validation_failed", "name"},
		{"unknown route", "GET", "/no/such/route", "", false, nil, 404, "not_found", ""},
		{"unknown item", "GET", "/v1/items/does-not-exist", "", false, nil, 404, "not_found", ""},
		{"method not allowed", "PUT", "/v1/items", "", false, nil, 405, "method_not_allowed", ""},
		{"body too large, declared", "POST", "/v1/items", big, false, jsonType, 413, "body_too_large", ""},
		{"body too large, chunked", "POST", "/v1/items", big, true, jsonType, 413, "body_too_large", ""},
		{"unsupported media type", "POST", "/v1/items", `{"name":"a"}`, false, http.Header{"Content-Type": {"text/plain"}}, 415, "unsupported_media_type", ""},
		{"panic", "GET", "/v1/demo/panic", "", false, nil, 500, "internal_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			if tt.chunked {
				body = struct{ io.Reader }{body} // hides the length from net/http
			}
			resp, b := do(t, c, tt.method, svc.URL(tt.path), body, tt.header)
			if tt.chunked && resp.Request.ContentLength != 0 {
				t.Fatalf("the request declared its length %d; want it sent chunked", resp.Request.ContentLength)
			}
			e := checkError(t, resp, b, tt.status, tt.code)
			if tt.field != "" && !hasField(e, tt.field) {
				t.Errorf("fields %+v do not name %q", e.Error.Fields, tt.field)
			}
			if tt.status == http.StatusMethodNotAllowed {
				if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
					t.Errorf("Allow = %q, want GET and POST", allow)
				}
			}
		})
	}
}

func hasField(e errorBody, name string) bool {
	for _, f := range e.Error.Fields {
		if f.Field == name && f.Message != "" {
			return true
		}
	}
	return false
}
