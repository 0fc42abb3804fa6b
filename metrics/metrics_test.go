package metrics_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/metrics"
)

func newHTTP(tb testing.TB, opts metrics.Options) (*metrics.HTTP, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.Info{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26"}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return m, reg
}

func TestNewTwiceOnOneRegistryFailsWithoutPanic(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{}); err == nil {
		t.Error("second New on the same registry: no error, want a duplicate registration error")
	}
}

func TestBuildInfo(t *testing.T) {
	_, reg := newHTTP(t, metrics.Options{})
	want := `
# HELP service_build_info Always 1; its labels describe the running build.
# TYPE service_build_info gauge
service_build_info{goversion="go1.26",revision="abc",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "service_build_info"); err != nil {
		t.Error(err)
	}
}

func TestRouteLabels(t *testing.T) {
	tests := []struct {
		method, route, wantMethod, wantRoute string
		status                               int
		wantStatus                           string
	}{
		{"GET", "/v1/items/:id", "GET", "/v1/items/:id", 200, "200"},
		{"PATCH", "/v1/items/:id", "PATCH", "/v1/items/:id", 204, "204"},
		{"BREW", "/v1/items", metrics.MethodOther, "/v1/items", 405, "405"},
		{"get", "/v1/items", metrics.MethodOther, "/v1/items", 404, "404"},
		{"GET", "", "GET", metrics.RouteUnmatched, 404, "404"},
		{"GET", "/odd", "GET", "/odd", 0, "500"},
		{"GET", "/odd", "GET", "/odd", 1000, "500"},
		{"GET", "/gone", "GET", "/gone", 499, "499"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.route, func(t *testing.T) {
			m, reg := newHTTP(t, metrics.Options{})
			r := m.Route(tt.method, tt.route)
			r.Start()
			r.Done(tt.status, 3*time.Millisecond)
			want := `
# HELP http_server_active_requests Number of HTTP server requests in flight, being handled right now.
# TYPE http_server_active_requests gauge
http_server_active_requests{http_request_method="` + tt.wantMethod + `",http_route="` + tt.wantRoute + `"} 0
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "http_server_active_requests"); err != nil {
				t.Error(err)
			}
			n, err := testutil.GatherAndCount(reg, "http_server_request_duration_seconds")
			if err != nil || n != 1 {
				t.Fatalf("duration series = %d (err %v), want 1", n, err)
			}
			mfs, _ := reg.Gather()
			for _, mf := range mfs {
				if mf.GetName() != "http_server_request_duration_seconds" {
					continue
				}
				h := mf.GetMetric()[0]
				for _, lp := range h.GetLabel() {
					if lp.GetName() == metrics.LabelStatus && lp.GetValue() != tt.wantStatus {
						t.Errorf("status label = %s, want %s", lp.GetValue(), tt.wantStatus)
					}
				}
				if got := h.GetHistogram().GetSampleSum(); got != 0.003 {
					t.Errorf("sum = %v, want 0.003", got)
				}
			}
		})
	}
}

// TestRouteIsSharedAcrossGoroutines: concurrent first uses of one route
// get one recorder, so no observation is lost.
func TestRouteIsSharedAcrossGoroutines(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	const goroutines, each = 16, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				route := []string{"/a", "/b", "/c"}[(g+i)%3]
				r := m.Route("GET", route)
				r.Start()
				r.Done(200+(i%2)*100, time.Millisecond)
			}
		})
	}
	wg.Wait()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, mf := range mfs {
		if mf.GetName() == "http_server_request_duration_seconds" {
			for _, s := range mf.GetMetric() {
				total += s.GetHistogram().GetSampleCount()
			}
			if n := len(mf.GetMetric()); n != 6 {
				t.Errorf("series = %d, want 3 routes x 2 statuses", n)
			}
		}
	}
	if total != goroutines*each {
		t.Errorf("observations = %d, want %d", total, goroutines*each)
	}
}

func TestPanicCounter(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	m.Panic("/v1/items")
	m.Panic("/v1/items")
	m.Panic("")
	want := `
# HELP http_server_panics_total Number of panics recovered in HTTP handlers.
# TYPE http_server_panics_total counter
http_server_panics_total{http_route="/v1/items"} 2
http_server_panics_total{http_route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "http_server_panics_total"); err != nil {
		t.Error(err)
	}
}

// TestShedCounter: the counter is exposed at 0 before anything is shed, so
// that rate() and alerts see it from the start.
func TestShedCounter(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	const head = `
# HELP http_server_shed_requests_total Number of HTTP server requests refused with 503 because the limit of requests in flight (MAX_IN_FLIGHT) was reached.
# TYPE http_server_shed_requests_total counter
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(head+"http_server_shed_requests_total 0\n"), "http_server_shed_requests_total"); err != nil {
		t.Error(err)
	}
	m.Shed()
	m.Shed()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(head+"http_server_shed_requests_total 2\n"), "http_server_shed_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestNativeHistogramsOption(t *testing.T) {
	for _, native := range []bool{false, true} {
		m, reg := newHTTP(t, metrics.Options{NativeHistograms: native})
		r := m.Route("GET", "/x")
		r.Start()
		r.Done(200, 42*time.Millisecond)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "http_server_request_duration_seconds" {
				continue
			}
			h := mf.GetMetric()[0].GetHistogram()
			if got := h.Schema != nil; got != native {
				t.Errorf("NativeHistograms=%v: native schema present = %v", native, got)
			}
			if len(h.GetBucket()) != len(metrics.DurationBuckets()) {
				t.Errorf("NativeHistograms=%v: %d classic buckets, want %d", native, len(h.GetBucket()), len(metrics.DurationBuckets()))
			}
		}
	}
}

func TestHandlerServesTheRegistry(t *testing.T) {
	_, reg := newHTTP(t, metrics.Options{})
	h := metrics.Handler(reg, reg)
	body := scrape(t, h)
	for _, want := range []string{"service_build_info", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if body = scrape(t, h); !strings.Contains(body, `promhttp_metric_handler_requests_total{code="200"} 1`) {
		t.Errorf("/metrics does not count its own scrapes:\n%s", body)
	}
}
