package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBadItemsChangeNothing posts every kind of bad body to /v1/items and
// checks, besides the JSON error naming what is wrong, that the list of
// items is byte for byte what it was before each request, including for
// bodies whose first JSON object is a valid item.
func TestBadItemsChangeNothing(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"MAX_BODY_BYTES": "1024"})
	c := newClient(t)
	jsonType := "application/json"
	// An item already stored, so that a lost item would show as well as
	// an added one.
	resp, body := do(t, c, http.MethodPost, svc.URL("/v1/items"), strings.NewReader(`{"name":"kept"}`),
		http.Header{"Content-Type": {jsonType}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST a valid item: status %d, want 201; body %s", resp.StatusCode, body)
	}

	tests := []struct {
		name        string
		body        string
		chunked     bool // send the body without a Content-Length
		contentType string
		status      int
		code        string
		mentions    string // the message must contain it
		field       string // a field the error must name, if any
	}{
		{"declared body over the limit", `{"name":"` + strings.Repeat("x", 2000) + `"}`, false, jsonType, 413, "body_too_large", "1024 bytes", ""},
		{"chunked body over the limit", `{"name":"` + strings.Repeat("x", 2000) + `"}`, true, jsonType, 413, "body_too_large", "1024 bytes", ""},
		{"valid item padded over the limit", `{"name":"padded"}` + strings.Repeat(" ", 2000), true, jsonType, 413, "body_too_large", "1024 bytes", ""},
		{"malformed JSON", `{"name":}`, false, jsonType, 400, "bad_request", "malformed JSON at byte", ""},
		{"truncated JSON", `{"name":"trunc`, false, jsonType, 400, "bad_request", "ends too early", ""},
		{"empty body", ``, false, jsonType, 400, "bad_request", "must not be empty", ""},
		{"number for a string", `{"name":42}`, false, jsonType, 400, "bad_request", `"name"`, "name"},
		{"object for a string", `{"name":{"first":"a"}}`, false, jsonType, 400, "bad_request", `"name"`, "name"},
		{"unknown field", `{"name":"a","admin":true}`, false, jsonType, 400, "bad_request", `"admin"`, ""},
		{"array", `[{"name":"a"}]`, false, jsonType, 400, "bad_request", "must be a JSON object", ""},
		{"two objects", `{"name":"a"}{"name":"b"}`, false, jsonType, 400, "bad_request", "single JSON object", ""},
		{"trailing garbage", `{"name":"a"} x`, false, jsonType, 400, "bad_request", "single JSON object", ""},
		{"null", `null`, false, jsonType, 400, "validation_failed", "not valid", "name"},
		{"blank name", `{"name":"   "}`, false, jsonType, 400, "validation_failed", "not valid", "name"},
		{"name too long", `{"name":"` + strings.Repeat("n", 101) + `"}`, false, jsonType, 400, "validation_failed", "not valid", "name"},
		{"text/plain", `{"name":"a"}`, false, "text/plain", 415, "unsupported_media_type", "Content-Type", ""},
		{"form", `name=a`, false, "application/x-www-form-urlencoded", 415, "unsupported_media_type", "Content-Type", ""},
		{"unparsable Content-Type", `{"name":"a"}`, false, "application/json; =", 415, "unsupported_media_type", "Content-Type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := itemList(t, c, svc)
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = struct{ io.Reader }{body} // hides the length from net/http
			}
			resp, b := do(t, c, http.MethodPost, svc.URL("/v1/items"), body, http.Header{"Content-Type": {tt.contentType}})
			e := checkError(t, resp, b, tt.status, tt.code)
			if !strings.Contains(e.Error.Message, tt.mentions) {
				t.Errorf("message %q does not say %q", e.Error.Message, tt.mentions)
			}
			if tt.field != "" && !hasField(e, tt.field) {
				t.Errorf("fields %+v do not name %q", e.Error.Fields, tt.field)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("Location = %q on an error", loc)
			}
			if after := itemList(t, c, svc); after != before {
				t.Errorf("the items changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestHeadersOverTheLimitAre431 sends headers over MAX_HEADER_BYTES.
// net/http answers them itself, before any handler, with a plain-text 431;
// net/http allows 4096 bytes over MaxHeaderBytes, so the test sends far more.
func TestHeadersOverTheLimitAre431(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"MAX_HEADER_BYTES": "1024"})
	c := newClient(t)
	before := itemList(t, c, svc)
	tests := []struct {
		name   string
		size   int
		status int
	}{
		{"under the limit", 512, http.StatusCreated},
		{"over the limit and its slack", 16 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}, "X-Padding": {strings.Repeat("p", tt.size)}}
			resp, b := do(t, c, http.MethodPost, svc.URL("/v1/items"), strings.NewReader(`{"name":"big headers"}`), h)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			t.Logf("status %d, Content-Type %q, body %.60q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		})
	}
	after := itemList(t, c, svc)
	if strings.Count(after, `"big headers"`) != 1 || len(after) <= len(before) {
		t.Errorf("items %s; want only the item sent with small headers added to %s", after, before)
	}
}

// itemList returns the body of GET /v1/items, failing tb unless it is 200.
func itemList(tb testing.TB, c *http.Client, svc *service) string {
	tb.Helper()
	status, body := get(tb, c, svc.URL("/v1/items"))
	if status != http.StatusOK {
		tb.Fatalf("GET /v1/items: status %d, want 200; body %s", status, body)
	}
	return string(body)
}
