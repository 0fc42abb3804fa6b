package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ginstarter/ginstarter/metrics"
)

func TestMetricsRecordsRouteTemplateMethodAndStatus(t *testing.T) {
	s := newStack(t)
	s.engine.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	s.engine.DELETE("/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	for i := range 3 {
		s.do(t, http.MethodGet, fmt.Sprintf("/users/%d", i))
	}
	s.do(t, http.MethodDelete, "/users/7")

	tests := []struct {
		method, route, status string
		want                  uint64
	}{
		{"GET", "/users/:id", "200", 3},
		{"DELETE", "/users/:id", "204", 1},
		{"GET", "/users/0", "200", 0},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.route+tt.status, func(t *testing.T) {
			if got := s.requestCount(t, tt.method, tt.route, tt.status); got != tt.want {
				t.Errorf("count = %d, want %d", got, tt.want)
			}
		})
	}
	want := `
# HELP http_server_active_requests Number of HTTP server requests in flight, being handled right now.
# TYPE http_server_active_requests gauge
http_server_active_requests{http_request_method="DELETE",http_route="/users/:id"} 0
http_server_active_requests{http_request_method="GET",http_route="/users/:id"} 0
`
	if err := testutil.GatherAndCompare(s.reg, strings.NewReader(want), "http_server_active_requests"); err != nil {
		t.Error(err)
	}
}

func TestMetricsUsesDefaultOpenTelemetryBuckets(t *testing.T) {
	s := newStack(t)
	s.engine.GET("/x", func(c *gin.Context) { c.Status(http.StatusOK) })
	s.do(t, http.MethodGet, "/x")
	m := s.series(t, "http_server_request_duration_seconds", map[string]string{
		metrics.LabelMethod: "GET", metrics.LabelRoute: "/x", metrics.LabelStatus: "200",
	})
	if m == nil {
		t.Fatal("no series for GET /x 200")
	}
	var got []float64
	for _, b := range m.GetHistogram().GetBucket() {
		got = append(got, b.GetUpperBound())
	}
	want := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("buckets = %v, want %v", got, want)
	}
}

func TestMetricsBoundsLabelValues(t *testing.T) {
	s := newStack(t)
	s.engine.GET("/items/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	for i := range 1000 {
		s.do(t, http.MethodGet, fmt.Sprintf("/unknown/%d/%x", i, i*7919))
	}
	s.do(t, "BREW", "/items/1")
	s.do(t, "PURGE", "/items/2")

	routes := map[string]bool{}
	methods := map[string]bool{}
	for _, m := range s.family(t, "http_server_request_duration_seconds").GetMetric() {
		for _, lp := range m.GetLabel() {
			switch lp.GetName() {
			case metrics.LabelRoute:
				routes[lp.GetValue()] = true
			case metrics.LabelMethod:
				methods[lp.GetValue()] = true
			}
		}
	}
	if len(routes) != 1 || !routes[metrics.RouteUnmatched] {
		t.Errorf("route label values = %v, want only %q", routes, metrics.RouteUnmatched)
	}
	if len(methods) != 2 || !methods["GET"] || !methods[metrics.MethodOther] {
		t.Errorf("method label values = %v, want GET and %s", methods, metrics.MethodOther)
	}
	if got := s.requestCount(t, "GET", metrics.RouteUnmatched, "404"); got != 1000 {
		t.Errorf("unmatched 404 count = %d, want 1000", got)
	}
}

func TestMetricsSkipsProbeRoutes(t *testing.T) {
	s := newStack(t)
	s.engine.GET("/healthz", func(c *gin.Context) { c.Status(http.StatusOK) })
	s.do(t, http.MethodGet, "/healthz")
	if n, err := testutil.GatherAndCount(s.reg, "http_server_request_duration_seconds", "http_server_active_requests"); err != nil || n != 0 {
		t.Errorf("series after a probe = %d (err %v), want 0", n, err)
	}
}

// TestMetricsGaugeCountsHeldRequests holds N requests in a handler and
// reads the gauge while they are held and after they are released.
func TestMetricsGaugeCountsHeldRequests(t *testing.T) {
	const n = 25
	s := newStack(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	s.engine.GET("/hold", func(c *gin.Context) {
		entered <- struct{}{}
		<-release
		c.Status(http.StatusOK)
	})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { s.do(t, http.MethodGet, "/hold") })
	}
	for range n {
		<-entered
	}
	gauge := func() float64 {
		m := s.series(t, "http_server_active_requests", map[string]string{metrics.LabelMethod: "GET", metrics.LabelRoute: "/hold"})
		return m.GetGauge().GetValue()
	}
	if got := gauge(); got != n {
		t.Errorf("gauge while held = %v, want %d", got, n)
	}
	close(release)
	wg.Wait()
	if got := gauge(); got != 0 {
		t.Errorf("gauge after release = %v, want 0", got)
	}
	if got := s.requestCount(t, "GET", "/hold", "200"); got != n {
		t.Errorf("count = %d, want %d", got, n)
	}
}

// TestMetricsClientGone records a request whose context was cancelled and
// which wrote nothing as 499, not as gin's default 200.
func TestMetricsClientGone(t *testing.T) {
	s := newStack(t)
	s.engine.GET("/wait", func(c *gin.Context) { <-c.Request.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/wait", nil).WithContext(ctx)
	cancel()
	s.engine.ServeHTTP(httptest.NewRecorder(), req)
	if got := s.requestCount(t, "GET", "/wait", "499"); got != 1 {
		t.Errorf("499 count = %d, want 1", got)
	}
	if got := s.requestCount(t, "GET", "/wait", "200"); got != 0 {
		t.Errorf("200 count = %d, want 0", got)
	}
}

func TestMetricsTwoEnginesInOneProcess(t *testing.T) {
	a, b := newStack(t), newStack(t)
	for _, s := range []*stack{a, b} {
		s.engine.GET("/x", func(c *gin.Context) { c.Status(http.StatusOK) })
	}
	a.do(t, http.MethodGet, "/x")
	a.do(t, http.MethodGet, "/x")
	b.do(t, http.MethodGet, "/x")
	if got := a.requestCount(t, "GET", "/x", "200"); got != 2 {
		t.Errorf("engine a count = %d, want 2", got)
	}
	if got := b.requestCount(t, "GET", "/x", "200"); got != 1 {
		t.Errorf("engine b count = %d, want 1", got)
	}
}
