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
