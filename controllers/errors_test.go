package controllers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/controllers"
)

func TestUnroutedRequests(t *testing.T) {
	h := newEngine(t, func(e *gin.Engine) {
		e.HandleMethodNotAllowed = true
		// Stands in for the request ID middleware, which sets the header first.
		e.Use(func(c *gin.Context) { c.Header(apierror.RequestIDHeader, "req-1") })
		e.NoRoute(controllers.NotFound())
		e.NoMethod(controllers.MethodNotAllowed())
		e.GET("/v1/items", func(c *gin.Context) { c.Status(http.StatusOK) })
	})
	tests := []struct {
		name, method, path string
		status             int
		code               apierror.Code
	}{
		{"no such path", http.MethodGet, "/nowhere", http.StatusNotFound, apierror.CodeNotFound},
		{"wrong method", http.MethodPut, "/v1/items", http.StatusMethodNotAllowed, apierror.CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, httptest.NewRequest(tt.method, tt.path, nil))
			got := wantError(t, rec, tt.status, tt.code)
			if got.RequestID != "req-1" {
				t.Errorf("request_id = %q, want req-1", got.RequestID)
			}
			if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodGet {
				t.Errorf("Allow = %q, want GET", rec.Header().Get("Allow"))
			}
		})
	}
}
