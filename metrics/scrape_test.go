package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func scrape(tb testing.TB, h http.Handler) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET /metrics: status %d", rec.Code)
	}
	return rec.Body.String()
}
