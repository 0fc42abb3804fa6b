//go:build !race

// The race detector allocates on its own, so the allocation count is
// checked only in builds without it.

package bench_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/bench"
	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/metrics"
)

// TestProjectGETDoesNotAllocate asserts that this project's metrics and
// recovery serve the benchmark's GET route, once warm, without allocating.
func TestProjectGETDoesNotAllocate(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	m, err := metrics.New(prometheus.NewRegistry(), buildinfo.Info{}, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	e.Use(bench.ProjectMiddleware(m)...)
	bench.AddRoutes(e)
	req := bench.Route{Method: http.MethodGet, Path: "/users/42"}.NewRequest()
	w := bench.NewDiscardWriter()
	e.ServeHTTP(w, req.Next()) // the first request creates the route's children
	if allocs := testing.AllocsPerRun(1000, func() { e.ServeHTTP(w, req.Next()) }); allocs != 0 {
		t.Errorf("allocs per request = %v, want 0", allocs)
	}
}
