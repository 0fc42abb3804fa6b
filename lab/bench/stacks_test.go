package bench_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ginstarter/ginstarter/lab/bench"
	"github.com/ginstarter/ginstarter/metrics"
)

// stacks returns bench.Stacks(), failing tb if they could not be built.
func stacks(tb testing.TB) []*bench.Stack {
	tb.Helper()
	stacks, err := bench.Stacks()
	if err != nil {
		tb.Fatal(err)
	}
	return stacks
}

// stack returns the stack with the given name.
func stack(tb testing.TB, name string) *bench.Stack {
	tb.Helper()
	for _, s := range stacks(tb) {
		if s.Name == name {
			return s
		}
	}
	tb.Fatalf("no stack named %q", name)
	return nil
}

// route returns the benchmarked route with the given name.
func route(tb testing.TB, name string) bench.Route {
	tb.Helper()
	for _, rt := range bench.Routes {
		if rt.Name == name {
			return rt
		}
	}
	tb.Fatalf("no route named %q", name)
	return bench.Route{}
}

// TestStacksAnswerEveryRoute checks that every stack answers each
// benchmarked route with the expected status, so that no stack is timed
// on an error path.
func TestStacksAnswerEveryRoute(t *testing.T) {
	for _, s := range stacks(t) {
		for _, rt := range bench.Routes {
			t.Run(s.Name+"/"+rt.Name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				s.Handler.ServeHTTP(rec, rt.NewRequest().Next())
				if rec.Code != rt.WantStatus {
					t.Errorf("status = %d, want %d", rec.Code, rt.WantStatus)
				}
			})
		}
	}
}

// TestRouteLabelValues checks that this project records unknown paths under
// one route label value and distinct ids under the route template, and logs
// what every other stack did with them.
func TestRouteLabelValues(t *testing.T) {
	for _, s := range stacks(t) {
		t.Logf("%s: %d route label values after %d unknown paths, %d more after as many ids on /users/:id",
			s.Name, s.UnknownPathLabels, bench.UnknownPaths, s.ParamPathLabels)
		if s.Name != bench.Ginstarter && s.Name != bench.GinstarterFull {
			continue
		}
		if s.UnknownPathLabels != 1 || s.ParamPathLabels != 1 {
			t.Errorf("%s: %d route label values for unknown paths, %d for ids; want 1 (%q) and 1 (%q)",
				s.Name, s.UnknownPathLabels, s.ParamPathLabels, metrics.RouteUnmatched, "/users/:id")
		}
	}
}
