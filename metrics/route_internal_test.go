package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
)

// TestStatusSlotsGrowWithCodesSeen: a route holds one status slot per
// distinct code it has answered with, not one per code it could answer
// with. A repeated code adds none, nor does a code outside 100-999, which
// is recorded as 500.
func TestStatusSlotsGrowWithCodesSeen(t *testing.T) {
	r := newMetrics(t).Route("GET", "/a")
	if n := statusSlots(r); n != 0 {
		t.Fatalf("before any request: %d status slots, want 0", n)
	}
	steps := []struct{ status, wantSlots int }{
		{200, 1}, {200, 1}, {404, 2}, {500, 3}, {0, 3}, {1000, 3}, {999, 4}, {100, 5}, {404, 5},
	}
	for _, s := range steps {
		r.Start()
		r.Done(s.status, time.Millisecond)
		if n := statusSlots(r); n != s.wantSlots {
			t.Fatalf("after status %d: %d status slots, want %d", s.status, n, s.wantSlots)
		}
	}
}

func statusSlots(r *Route) int {
	if p := r.statuses.Load(); p != nil {
		return len(*p)
	}
	return 0
}

func newMetrics(tb testing.TB) *HTTP {
	tb.Helper()
	m, err := New(prometheus.NewRegistry(), buildinfo.Info{}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
