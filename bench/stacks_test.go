package bench_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ginstarter/ginstarter/bench"
)

// TestStacksAnswerEveryRoute checks that every stack answers each
// benchmarked route with the expected status, so that no stack is timed
// on an error path.
func TestStacksAnswerEveryRoute(t *testing.T) {
	stacks, err := bench.Stacks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
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
// one route label value and distinct ids under the route template, and logs what every other stack did with them.
func TestRouteLabelValues(t *testing.T) {
	stacks, err := bench.Stacks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		t.Logf("%s: %d route label values after %d unknown paths, %d more after as many ids on /users/:id",
			s.Name, s.UnknownPathLabels, bench.UnknownPaths, s.ParamPathLabels)
		if s.Name != bench.Ginstarter && s.Name != bench.GinstarterFull {
			continue
		}
		if s.UnknownPathLabels != 1 || s.ParamPathLabels != 1 {
			t.Errorf("%s: %d route label values for unknown paths, %d for ids; want 1 (%q) and 1 (%q)",
				s.Name, s.UnknownPathLabels, s.ParamPathLabels, "unmatched", "/users/:id")
		}
	}
}
