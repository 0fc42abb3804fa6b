//go:build !race

// The race detector allocates on its own, so the allocation count is
// checked only in builds without it.

package bench_test

import (
	"testing"

	"github.com/ginstarter/ginstarter/lab/bench"
)

// TestProjectGETDoesNotAllocate asserts that the benchmarked stack of this
// project's metrics and recovery serves the GET route, once warm, without
// allocating.
func TestProjectGETDoesNotAllocate(t *testing.T) {
	s := stack(t, bench.Ginstarter)
	req := route(t, "get-param").NewRequest()
	w := bench.NewDiscardWriter()
	s.Handler.ServeHTTP(w, req.Next()) // the first request creates the route's children
	if allocs := testing.AllocsPerRun(1000, func() { s.Handler.ServeHTTP(w, req.Next()) }); allocs != 0 {
		t.Errorf("allocs per request = %v, want 0", allocs)
	}
}
