package routes_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/internal/testkit"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
)

// getOrder is the controller a user adds for a new resource, written as
// README's "Adding an endpoint" says: it knows nothing of metrics, request
// IDs, logging or recovery. Order "1" exists, any other is not found, and
// "boom" is a bug.
func getOrder() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch id := c.Param("id"); id {
		case "1":
			c.JSON(http.StatusOK, gin.H{"id": id, "total": 42})
		case "boom":
			panic("order store is nil")
		default:
			apierror.Abort(c, apierror.New(apierror.CodeNotFound, "no order with this id"))
		}
	}
}

// TestAddingARouteGetsEverything is the README's promise about adding an
// endpoint: one controller function and one route line, and the route has
// metrics, panic recovery, request IDs, access logs and the JSON error
// shape with no other change. The engine is built as run builds it, with
// the defaults of every variable.
func TestAddingARouteGetsEverything(t *testing.T) {
	gin.SetMode(gin.TestMode)
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LogBuffer
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.New("test", "test"), metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := routes.New(routes.Deps{
		Logger:         slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: cfg.LogLevel})),
		Metrics:        m,
		Build:          buildinfo.New("test", "test"),
		Items:          controllers.NewMemoryItems(),
		Ready:          func() bool { return true },
		MaxBodyBytes:   cfg.MaxBodyBytes,
		MaxInFlight:    cfg.MaxInFlight,
		TrustedProxies: cfg.TrustedProxies,
	})
	if err != nil {
		t.Fatal(err)
	}

	// The one line: the same v1 group as in routes.New.
	e.Group("/v1").GET("/orders/:id", getOrder())

	const route = "/v1/orders/:id"
	tests := []struct {
		id     string
		status int
		code   apierror.Code // "" for a success
	}{
		{"1", http.StatusOK, ""},
		{"404", http.StatusNotFound, apierror.CodeNotFound},
		{"boom", http.StatusInternalServerError, apierror.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/orders/"+tt.id, nil))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			id := rec.Header().Get("X-Request-ID")
			if id == "" {
				t.Error("no X-Request-ID in the response")
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if tt.code != "" {
				checkErrorBody(t, rec, tt.code, id)
			}
			checkAccessLogged(t, &logs, route, id, tt.status)
		})
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"200", "404", "500"} {
		got := histogramCount(mfs, "http_server_request_duration_seconds", map[string]string{
			metrics.LabelMethod: "GET", metrics.LabelRoute: route, metrics.LabelStatus: s,
		})
		if got != 1 {
			t.Errorf("http_server_request_duration_seconds{http_route=%q,http_response_status_code=%q} count = %d, want 1", route, s, got)
		}
	}
	if got, ok := value(mfs, "http_server_active_requests", map[string]string{metrics.LabelMethod: "GET", metrics.LabelRoute: route}); !ok || got != 0 {
		t.Errorf("http_server_active_requests{http_route=%q} = %v (present %v), want 0 after the requests", route, got, ok)
	}
	if got, ok := value(mfs, "http_server_panics_total", map[string]string{metrics.LabelRoute: route}); !ok || got != 1 {
		t.Errorf("http_server_panics_total{http_route=%q} = %v (present %v), want 1", route, got, ok)
	}
}

// checkErrorBody checks that rec carries the project's JSON error with
// code and the request ID, and nothing of the panic.
func checkErrorBody(tb testing.TB, rec *httptest.ResponseRecorder, code apierror.Code, requestID string) {
	tb.Helper()
	var body apierror.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		tb.Fatalf("body is not the JSON error: %v; body %s", err, rec.Body)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		tb.Errorf("error code, message = %q, %q; want %q and a message", body.Error.Code, body.Error.Message, code)
	}
	if body.Error.RequestID != requestID {
		tb.Errorf("request_id = %q, want the X-Request-ID %q", body.Error.RequestID, requestID)
	}
	if strings.Contains(rec.Body.String(), "order store") {
		tb.Errorf("the error body reveals the panic value: %s", rec.Body)
	}
}

// checkAccessLogged checks that logs has an access log line for the request
// with requestID, naming its route template and status.
func checkAccessLogged(tb testing.TB, logs *testkit.LogBuffer, route, requestID string, status int) {
	tb.Helper()
	for _, s := range logs.Lines() {
		l := testkit.ParseLogLine(s)
		if l.Get("msg") != "request" || l.Get("request_id") != requestID {
			continue
		}
		if l.Get("route") != route || l["status"] != float64(status) {
			tb.Errorf("access log route, status = %q, %v; want %q, %d", l.Get("route"), l["status"], route, status)
		}
		return
	}
	tb.Errorf("no access log line with request_id %q in:\n%s", requestID, logs.String())
}

// histogramCount returns the observation count of a histogram series, 0
// when there is none.
func histogramCount(mfs []*dto.MetricFamily, name string, labels map[string]string) uint64 {
	return testkit.FindSeries(mfs, name, labels).GetHistogram().GetSampleCount()
}

// value returns the value of a gauge or counter series, and whether it
// exists.
func value(mfs []*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	m := testkit.FindSeries(mfs, name, labels)
	switch {
	case m == nil:
		return 0, false
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	default:
		return m.GetCounter().GetValue(), true
	}
}
