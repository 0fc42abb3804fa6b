//go:build !race

// The race detector allocates on its own, so allocation counts are checked
// only in builds without it; "make test" runs this file's tests without
// -race after the -race run.

package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/metrics"
)

// TestMetricsAndRecoveryDoNotAllocate asserts the 0 allocs/op the README
// quotes for metrics + recovery, on a warm route.
func TestMetricsAndRecoveryDoNotAllocate(t *testing.T) {
	m := newBenchMetrics(t)
	e := gin.New()
	e.Use(metricsAndRecovery(m)...)
	e.GET("/users/:id", okHandler)
	req := httptest.NewRequest(http.MethodGet, "/users/42", nil)
	w := &discardWriter{h: make(http.Header)}
	e.ServeHTTP(w, req) // first use creates the route's children
	if allocs := testing.AllocsPerRun(1000, func() { e.ServeHTTP(w, req) }); allocs != 0 {
		t.Errorf("allocs per request = %v, want 0", allocs)
	}
}

// TestMetricsWithExemplarsDoNotAllocateWithoutASampledSpan: with exemplars
// on (tracing configured), a request that carries no sampled span costs
// what it did before.
func TestMetricsWithExemplarsDoNotAllocateWithoutASampledSpan(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry(), buildinfo.Info{}, metrics.Options{Exemplars: true})
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	e.Use(metricsAndRecovery(m)...)
	e.GET("/users/:id", okHandler)
	req := httptest.NewRequest(http.MethodGet, "/users/42", nil)
	w := &discardWriter{h: make(http.Header)}
	e.ServeHTTP(w, req)
	if allocs := testing.AllocsPerRun(1000, func() { e.ServeHTTP(w, req) }); allocs != 0 {
		t.Errorf("allocs per request = %v, want 0", allocs)
	}
}

// TestTracingAllocations holds the allocations that a traced request adds
// to metrics and recovery: the request's copy, its context and the span
// when not sampled; when sampled, the SDK's span, its attributes and the
// snapshot it exports instead of the span, the client address's string
// and the exemplar. A ninth attribute would add three (the SDK's
// de-duplication map).
func TestTracingAllocations(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sampler sdktrace.Sampler
		want    float64
	}{
		{"unsampled", sdktrace.NeverSample(), 3},
		{"sampled", sdktrace.AlwaysSample(), 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := gin.New()
			e.Use(tracingChain(t, tt.sampler)...)
			e.GET("/users/:id", okHandler)
			req := httptest.NewRequest(http.MethodGet, "/users/42", nil)
			req.Header.Set("User-Agent", "test/1.0")
			w := &discardWriter{h: make(http.Header)}
			e.ServeHTTP(w, req)
			if allocs := testing.AllocsPerRun(1000, func() { e.ServeHTTP(w, req) }); allocs != tt.want {
				t.Errorf("allocs per request = %v, want %v", allocs, tt.want)
			}
		})
	}
}
