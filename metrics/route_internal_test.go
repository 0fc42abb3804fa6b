package metrics

import (
	"strconv"
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

// BenchmarkRouteLookup finds the recorder of GET requests spread evenly
// over 1, 10 and 100 routes, through the table of recent routes ("table",
// what every request does) and through the route maps alone ("maps"), so
// that what the table saves shows as a ratio measured in the same run. Each
// route is one string reused for every request, as gin hands it over.
func BenchmarkRouteLookup(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		routes := make([]string, n)
		for i := range routes {
			routes[i] = "/v1/res" + strconv.Itoa(i) + "/:id"
		}
		m := newMetrics(b)
		for _, r := range routes {
			m.Route("GET", r)
		}
		finders := []struct {
			name string
			find func(route string) *Route
		}{
			{"table", func(route string) *Route { return m.cache.get("GET", route) }},
			{"maps", func(route string) *Route { return m.cache.lookup(methodIndex("GET"), route) }},
		}
		for _, f := range finders {
			b.Run("routes="+strconv.Itoa(n)+"/"+f.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if f.find(routes[i]) == nil {
						b.Fatal("no recorder")
					}
					if i++; i == n {
						i = 0
					}
				}
			})
		}
	}
}
