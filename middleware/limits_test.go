package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// TestBodyLimit uses the stack's 16-byte limit.
func TestBodyLimit(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		unsized    bool // sent without Content-Length, like a chunked body
		wantStatus int
	}{
		{"at the limit", strings.Repeat("a", 16), false, http.StatusOK},
		{"declared over the limit", strings.Repeat("a", 17), false, http.StatusRequestEntityTooLarge},
		{"chunked over the limit", strings.Repeat("a", 17), true, http.StatusRequestEntityTooLarge},
		{"chunked at the limit", strings.Repeat("a", 16), true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			handled := false
			s.engine.POST("/up", func(c *gin.Context) {
				handled = true
				if _, err := io.ReadAll(c.Request.Body); err != nil {
					var tooLarge *http.MaxBytesError
					if !errors.As(err, &tooLarge) {
						t.Errorf("read error %v, want *http.MaxBytesError", err)
					}
					apierror.Abort(c, apierror.BodyTooLarge(tooLarge.Limit))
					return
				}
				c.Status(http.StatusOK)
			})
			req := httptest.NewRequest(http.MethodPost, "/up", strings.NewReader(tt.body))
			if tt.unsized {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			s.engine.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusRequestEntityTooLarge {
				if e := decodeError(t, rec); e.Code != apierror.CodeBodyTooLarge {
					t.Errorf("code = %s, want %s", e.Code, apierror.CodeBodyTooLarge)
				}
				if !tt.unsized && handled {
					t.Error("a body declared too large reached the handler")
				}
			}
		})
	}
}
