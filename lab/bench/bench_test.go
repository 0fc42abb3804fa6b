package bench_test

import (
	"testing"

	"github.com/ginstarter/ginstarter/lab/bench"
)

// BenchmarkStacks serves each route through each stack. Sub-benchmarks are
// named stack/route; cmd/report turns the output into the README's table,
// with every figure also quoted as a ratio to bare-gin on the same route.
//
// Each stack also reports route-labels: the distinct values of its route
// label after bench.UnknownPaths requests to distinct unmatched paths, and
// param-labels: the values that as many distinct ids on /users/:id added.
func BenchmarkStacks(b *testing.B) {
	for _, s := range stacks(b) {
		for _, rt := range bench.Routes {
			b.Run(s.Name+"/"+rt.Name, func(b *testing.B) {
				req := rt.NewRequest()
				w := bench.NewDiscardWriter()
				// The first request creates the route's metric children.
				s.Handler.ServeHTTP(w, req.Next())
				b.ReportAllocs()
				for b.Loop() {
					s.Handler.ServeHTTP(w, req.Next())
				}
				if s.UnknownPathLabels >= 0 {
					b.ReportMetric(float64(s.UnknownPathLabels), "route-labels")
					b.ReportMetric(float64(s.ParamPathLabels), "param-labels")
				}
			})
		}
	}
}

// BenchmarkTracing serves each route through this project's metrics and
// recovery, with no tracing in front of them, with this project's Tracing
// and with otelgin, both on the same SDK tracer provider, unsampled and
// sampled (and otelgin on the no-op provider). Sub-benchmarks are named
// stack/route/parent: parent is no-parent, or sampled-parent for a request
// with a sampled W3C traceparent header.
func BenchmarkTracing(b *testing.B) {
	stacks, err := bench.TracingStacks()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range stacks {
		for _, rt := range bench.Routes {
			for _, p := range bench.Parents {
				b.Run(s.Name+"/"+rt.Name+"/"+p.Name, func(b *testing.B) {
					req := bench.NewTracingRequest(rt, p)
					w := bench.NewDiscardWriter()
					// The first request creates the route's metric
					// children and caches its span name.
					s.Handler.ServeHTTP(w, req.Next())
					b.ReportAllocs()
					for b.Loop() {
						s.Handler.ServeHTTP(w, req.Next())
					}
				})
			}
		}
	}
}
