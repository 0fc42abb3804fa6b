package metrics_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ginstarter/ginstarter/internal/testkit"
	"github.com/ginstarter/ginstarter/metrics"
)

const activeFamily = "http_server_active_requests"

// TestActiveGaugeMatchesClientGolang starts and finishes requests on several
// routes and methods, an unmatched one and a non-standard method among them,
// and expects the same exposition from the service's in-flight gauge as from
// a client_golang GaugeVec given the same increments and decrements, after
// every step.
func TestActiveGaugeMatchesClientGolang(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	want := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: activeFamily,
		Help: "Number of HTTP server requests in flight, being handled right now.",
	}, []string{metrics.LabelMethod, metrics.LabelRoute})
	ref := prometheus.NewRegistry()
	ref.MustRegister(want)

	type request struct{ method, route, wantMethod, wantRoute string }
	requests := []request{
		{"GET", "/a", "GET", "/a"},
		{"GET", "/b/:id", "GET", "/b/:id"},
		{"POST", "/a", "POST", "/a"},
		{"GET", "", "GET", metrics.RouteUnmatched},
		{"PURGE", "/a", metrics.MethodOther, "/a"},
		{"BREW", "/a", metrics.MethodOther, "/a"},
		{"GET", "/a", "GET", "/a"},
	}
	check := func(step string) {
		t.Helper()
		if got, exp := exposition(t, reg, activeFamily), exposition(t, ref, activeFamily); got != exp {
			t.Fatalf("%s: exposition differs from client_golang's\n got:\n%s\nwant:\n%s", step, got, exp)
		}
	}
	for _, r := range requests {
		m.Route(r.method, r.route).Start()
		want.WithLabelValues(r.wantMethod, r.wantRoute).Inc()
		check("after starting " + r.method + " " + r.route)
	}
	for _, r := range requests[:4] {
		m.Route(r.method, r.route).Done(200, time.Millisecond)
		want.WithLabelValues(r.wantMethod, r.wantRoute).Dec()
		check("after finishing " + r.method + " " + r.route)
	}
}

// TestActiveGaugeUnderConcurrentScrapes scrapes while 8 goroutines start and
// finish requests: no scrape may see a route with fewer than 0 or more than
// 8 requests in flight, and the last one must see 0 everywhere.
func TestActiveGaugeUnderConcurrentScrapes(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	record := func(g, i int) {
		r := m.Route("GET", "/r"+strconv.Itoa((g+i)%4))
		r.Start()
		r.Done(200, time.Millisecond)
	}
	scrapes := scrapeWhileRecording(t, reg, activeFamily, record, func(series []*dto.Metric, recorded int) {
		last := recorded >= 0
		for _, s := range series {
			if v := s.GetGauge().GetValue(); v < 0 || v > recorders || (last && v != 0) {
				t.Fatalf("last scrape: %t: %v requests in flight on %v", last, v, s.GetLabel())
			}
		}
	})
	t.Logf("%d scrapes", scrapes)
}

// TestRouteLookupWithManyRoutes looks up 400 routes, far more than the
// route cache's table of recent routes has slots, in an interleaved order
// and under every method index, with each route's string sometimes rebuilt
// (the same bytes at another address). Every lookup of a method and route
// must return the same recorder, and no two may share one: a request
// recorded on one route shows on that route's series only.
func TestRouteLookupWithManyRoutes(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	const routes = 400
	methods := []string{"GET", "POST", "PURGE"}
	names := make([]string, routes)
	for i := range names {
		names[i] = "/r/" + strconv.Itoa(i)
	}
	first := make(map[[2]string]*metrics.Route)
	for pass := range 3 {
		for i := range routes {
			j := (i*7919 + pass) % routes // interleave, so that slots are shared
			name := names[j]
			if pass == 2 {
				name = strings.Clone(name)
			}
			for _, method := range methods {
				r := m.Route(method, name)
				k := [2]string{method, names[j]}
				if pass == 0 {
					first[k] = r
					r.Start()
				} else if first[k] != r {
					t.Fatalf("pass %d: %s %s: another recorder than the first lookup's", pass, method, name)
				}
			}
		}
	}
	if len(first) != routes*len(methods) {
		t.Fatalf("%d distinct keys, want %d", len(first), routes*len(methods))
	}
	seen := make(map[*metrics.Route]bool)
	for _, r := range first {
		if seen[r] {
			t.Fatal("two routes share a recorder")
		}
		seen[r] = true
	}
	// Each route was started once per method; PURGE is recorded as _OTHER.
	for _, method := range []string{"GET", "POST", metrics.MethodOther} {
		for _, j := range []int{0, 1, 255, 256, 399} {
			if n := activeValue(t, reg, method, names[j]); n != 1 {
				t.Errorf("%s %s: %v in flight, want 1", method, names[j], n)
			}
		}
	}
}

// activeValue returns the in-flight gauge of one method and route, failing
// the test when the series does not exist.
func activeValue(t *testing.T, reg prometheus.Gatherer, method, route string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{metrics.LabelMethod: method, metrics.LabelRoute: route}
	if s := testkit.FindSeries(mfs, activeFamily, want); s != nil {
		return s.GetGauge().GetValue()
	}
	t.Fatalf("no %s series for %s %s", activeFamily, method, route)
	return 0
}
