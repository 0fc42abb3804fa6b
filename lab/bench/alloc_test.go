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

// TestTracingAllocatesLessThanHalfOfOtelgin asserts, for every request of
// BenchmarkTracing, that this project's tracing allocates less than half as
// often per request as otelgin's on the same provider, unsampled and
// sampled. Allocation counts, unlike timings, do not depend on the machine.
func TestTracingAllocatesLessThanHalfOfOtelgin(t *testing.T) {
	stacks, err := bench.TracingStacks()
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]*bench.TracingStack)
	for _, s := range stacks {
		byName[s.Name] = s
	}
	allocs := func(name string, rt bench.Route, p bench.Parent) float64 {
		s := byName[name]
		if s == nil {
			t.Fatalf("no tracing stack named %q", name)
		}
		req := bench.NewTracingRequest(rt, p)
		w := bench.NewDiscardWriter()
		s.Handler.ServeHTTP(w, req.Next()) // the first request creates the route's children
		return testing.AllocsPerRun(200, func() { s.Handler.ServeHTTP(w, req.Next()) })
	}
	for _, mode := range []struct{ ours, otelgin string }{
		{bench.TracingUnsampled, bench.OtelginUnsampled},
		{bench.TracingSampled, bench.OtelginSampled},
	} {
		for _, rt := range bench.Routes {
			for _, p := range bench.Parents {
				ours, theirs := allocs(mode.ours, rt, p), allocs(mode.otelgin, rt, p)
				t.Logf("%s/%s: %s %v allocs/op, %s %v", rt.Name, p.Name, mode.ours, ours, mode.otelgin, theirs)
				if 2*ours >= theirs {
					t.Errorf("%s/%s: %s makes %v allocations per request, not less than half of %s's %v",
						rt.Name, p.Name, mode.ours, ours, mode.otelgin, theirs)
				}
			}
		}
	}
}
