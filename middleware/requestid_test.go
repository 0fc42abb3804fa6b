package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/middleware"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"uuid", "3f0e8c9a-1d2b-4c5d-8e7f-001122334455", true},
		{"short", "abc-123", true},
		{"max length", strings.Repeat("a", middleware.MaxRequestIDLen), true},
		{"too long", strings.Repeat("a", middleware.MaxRequestIDLen+1), false},
		{"space", "abc 123", false},
		{"control", "abc\x01", false},
		{"non-ascii", "abcé", false},
		{"empty", "", false},
	}
	e := gin.New()
	e.Use(middleware.RequestID())
	var seen string
	e.GET("/", func(c *gin.Context) { seen = middleware.RequestIDOf(c) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header["X-Request-Id"] = []string{tt.in}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-ID")
			if got == "" || got != seen {
				t.Fatalf("response ID %q, handler saw %q: want the same non-empty ID", got, seen)
			}
			if (got == tt.in) != tt.keep {
				t.Errorf("ID %q for input %q: kept = %v, want %v", got, tt.in, got == tt.in, tt.keep)
			}
		})
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	a, b := gin.New(), gin.New()
	a.Use(middleware.RequestID())
	b.Use(middleware.RequestID())
	for _, e := range []*gin.Engine{a, b} {
		e.GET("/", func(*gin.Context) {})
	}
	seen := map[string]bool{}
	for i := range 2000 {
		e := a
		if i%2 == 1 {
			e = b
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("ID %q generated twice", id)
		}
		seen[id] = true
	}
}
