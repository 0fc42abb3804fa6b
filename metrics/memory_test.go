package metrics_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/metrics"
)

// TestRouteMemoryFollowsCodesSeen measures the live heap that 2,000 routes
// take once each has answered one request, everything included: the
// recorder, its histogram series and the lookup maps. A table with a slot
// for every status code from 100 to 999 would alone take 900 pointers
// (7 KiB on 64-bit targets, 3.5 KiB on 32-bit ones) per route.
func TestRouteMemoryFollowsCodesSeen(t *testing.T) {
	const routes, limit = 2000, 1024
	m, _ := newHTTP(t, metrics.Options{})
	names := make([]string, routes)
	for i := range names {
		names[i] = "/r/" + strconv.Itoa(i)
	}
	before := liveHeap()
	for _, name := range names {
		r := m.Route("GET", name)
		r.Start()
		r.Done(200, time.Millisecond)
	}
	perRoute := float64(liveHeap()-before) / routes
	runtime.KeepAlive(m)
	t.Logf("%.0f bytes per route", perRoute)
	if perRoute > limit {
		t.Errorf("%.0f bytes per route that saw one status code, want at most %d", perRoute, limit)
	}
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() int64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return int64(s.HeapAlloc)
}
