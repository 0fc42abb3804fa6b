package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Every error answer, 4xx or 5xx, is one JSON shape with a stable code, a
// message and the request ID; a request refused for its input changes
// nothing.

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

// hasField reports whether the error names the field name with a message.
func hasField(e errorBody, name string) bool {
	for _, f := range e.Error.Fields {
		if f.Field == name && f.Message != "" {
			return true
		}
	}
	return false
}

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

// errorBody is the JSON error document that every error response carries.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Fields    []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// checkError fails tb unless resp is the JSON error with status and code,
// carries the response's request ID and the nosniff header.
func checkError(tb testing.TB, resp *http.Response, body []byte, status int, code string) errorBody {
	tb.Helper()
	var e errorBody
	if resp.StatusCode != status {
		tb.Errorf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		tb.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if err := json.Unmarshal(body, &e); err != nil {
		tb.Fatalf("body is not the JSON error: %v; body %s", err, body)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		tb.Errorf("error code, message = %q, %q; want %q and a message; body %s", e.Error.Code, e.Error.Message, code, body)
	}
	if id := resp.Header.Get("X-Request-ID"); id == "" || e.Error.RequestID != id {
		tb.Errorf("request_id = %q, X-Request-ID = %q; want them equal and not empty", e.Error.RequestID, id)
	}
	return e
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
