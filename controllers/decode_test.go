package controllers_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

func TestCreateItemRejects(t *testing.T) {
	const jsonType = "application/json"
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    apierror.Code
		field                   string // fields[0].field, or "" for no fields
		inMessage               string // text the message must hold
	}{
		{"missing name", jsonType, `{}`, 400, apierror.CodeValidation, "name", ""},
		{"null name", jsonType, `{"name":null}`, 400, apierror.CodeValidation, "name", ""},
		{"empty name", jsonType, `{"name":""}`, 400, apierror.CodeValidation, "name", ""},
		{"whitespace-only name", jsonType, `{"name":" \t\n "}`, 400, apierror.CodeValidation, "name", ""},
		{"101 characters", jsonType, `{"name":"` + strings.Repeat("a", 101) + `"}`, 400, apierror.CodeValidation, "name", ""},
		{"101 two-byte characters", jsonType, `{"name":"` + strings.Repeat("é", 101) + `"}`, 400, apierror.CodeValidation, "name", ""},
		{"null body", jsonType, `null`, 400, apierror.CodeValidation, "name", ""},
		{"malformed JSON", jsonType, `{"name":}`, 400, apierror.CodeBadRequest, "", "malformed JSON"},
		{"truncated JSON", jsonType, `{"name":"wid`, 400, apierror.CodeBadRequest, "", "malformed JSON"},
		{"name is a number", jsonType, `{"name":5}`, 400, apierror.CodeBadRequest, "name", `"name"`},
		{"name is an object", jsonType, `{"name":{}}`, 400, apierror.CodeBadRequest, "name", `"name"`},
		{"unknown field", jsonType, `{"name":"a","colour":"red"}`, 400, apierror.CodeBadRequest, "", `"colour"`},
		{"two objects", jsonType, `{"name":"a"}{"name":"b"}`, 400, apierror.CodeBadRequest, "", "single JSON object"},
		{"trailing garbage", jsonType, `{"name":"a"} x`, 400, apierror.CodeBadRequest, "", "single JSON object"},
		{"empty body", jsonType, ``, 400, apierror.CodeBadRequest, "", "empty"},
		{"array body", jsonType, `[{"name":"a"}]`, 400, apierror.CodeBadRequest, "", "JSON object"},
		{"string body", jsonType, `"a"`, 400, apierror.CodeBadRequest, "", "JSON object"},
		{"text/plain", "text/plain", `{"name":"a"}`, 415, apierror.CodeUnsupportedMedia, "", "application/json"},
		{"form", "application/x-www-form-urlencoded", `name=a`, 415, apierror.CodeUnsupportedMedia, "", "application/json"},
		{"unparsable Content-Type", "application/json; =", `{"name":"a"}`, 415, apierror.CodeUnsupportedMedia, "", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store, reg := newItems(t)
			rec := postItem(t, h, tt.contentType, tt.body)
			got := wantError(t, rec, tt.status, tt.code)
			switch {
			case tt.field == "" && len(got.Fields) != 0:
				t.Errorf("fields = %+v, want none", got.Fields)
			case tt.field != "" && (len(got.Fields) != 1 || got.Fields[0].Field != tt.field || got.Fields[0].Message == ""):
				t.Errorf("fields = %+v, want one for %q with a message", got.Fields, tt.field)
			}
			if !strings.Contains(got.Message, tt.inMessage) {
				t.Errorf("message %q does not hold %q", got.Message, tt.inMessage)
			}
			// Client-facing text names JSON, never the Go types behind it.
			if strings.Contains(rec.Body.String(), "controllers.") || strings.Contains(rec.Body.String(), "*") {
				t.Errorf("body %q names a Go type", rec.Body)
			}
			if rec.Header().Get("Location") != "" {
				t.Errorf("Location %q set on an error", rec.Header().Get("Location"))
			}
			wantItems(t, store)
			wantCreated(t, reg, 0)
		})
	}
}

// limitBody caps request bodies at limit bytes the way middleware.BodyLimit
// does for a body of unknown length.
func limitBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

func TestCreateItemBodyTooLarge(t *testing.T) {
	const limit = 64
	tests := []struct{ name, body string }{
		{"long name", `{"name":"` + strings.Repeat("a", 2*limit) + `"}`},
		{"object within the limit, then padding", `{"name":"a"}` + strings.Repeat(" ", 2*limit)},
		{"one byte over", `{"name":"` + strings.Repeat("a", limit-10) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store, reg := newItems(t, limitBody(limit))
			req := httptest.NewRequest(http.MethodPost, "/v1/items", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = -1 // as if chunked: only reading finds the size
			rec := serve(t, h, req)
			got := wantError(t, rec, http.StatusRequestEntityTooLarge, apierror.CodeBodyTooLarge)
			if !strings.Contains(got.Message, strconv.Itoa(limit)) {
				t.Errorf("message %q does not give the limit %d", got.Message, limit)
			}
			wantItems(t, store)
			wantCreated(t, reg, 0)
		})
	}

	// A body exactly at the limit is accepted.
	h, _, reg := newItems(t, limitBody(limit))
	body := `{"name":"` + strings.Repeat("a", limit-11) + `"}`
	if rec := postItem(t, h, "application/json", body); rec.Code != http.StatusCreated {
		t.Errorf("%d-byte body with a %d-byte limit: status %d, want 201; body %q", len(body), limit, rec.Code, rec.Body)
	}
	wantCreated(t, reg, 1)
}
