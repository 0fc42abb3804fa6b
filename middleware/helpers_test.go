package middleware_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/logging"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// stack is an engine with the project's middleware in the order routes.Middleware uses and
// the registry and log it records into.
type stack struct {
	engine *gin.Engine
	reg    *prometheus.Registry
	log    *testkit.LogBuffer
}

func newStack(tb testing.TB) *stack {
	tb.Helper()
	return newStackWith(tb, metrics.Options{})
}

// newStackWith is newStack with metrics options, and with the handlers
// outer in front of the access log (Tracing, in the order
// routes.Middleware uses).
func newStackWith(tb testing.TB, opts metrics.Options, outer ...gin.HandlerFunc) *stack {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.Info{Version: "test"}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &testkit.LogBuffer{}
	// The service's logger, writing each line at once (no flush interval).
	logger := logging.New(logging.NewOutput(logs, 0), "json", slog.LevelDebug)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.Use(middleware.RequestID())
	e.Use(outer...)
	e.Use(
		middleware.AccessLog(logger, "/healthz"),
		middleware.Metrics(m, "/healthz"),
		middleware.Recovery(logger, m),
		middleware.BodyLimit(16),
	)
	e.NoRoute(func(c *gin.Context) { apierror.Abort(c, apierror.New(apierror.CodeNotFound, "no such endpoint")) })
	return &stack{engine: e, reg: reg, log: logs}
}

// do serves a request without a body through the stack and returns what it
// wrote.
func (s *stack) do(tb testing.TB, method, target string) *httptest.ResponseRecorder {
	tb.Helper()
	return s.serve(tb, method, target, "")
}

// family returns the gathered metric family called name, or nil.
func (s *stack) family(tb testing.TB, name string) *dto.MetricFamily {
	tb.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// series returns the metric of family name whose labels equal want, or nil.
func (s *stack) series(tb testing.TB, name string, want map[string]string) *dto.Metric {
	tb.Helper()
	mf := s.family(tb, name)
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if labelsEqual(m.GetLabel(), want) {
			return m
		}
	}
	return nil
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

// requestCount returns how many requests the duration histogram recorded
// for method, route and status.
func (s *stack) requestCount(tb testing.TB, method, route, status string) uint64 {
	tb.Helper()
	m := s.series(tb, "http_server_request_duration_seconds", map[string]string{
		metrics.LabelMethod: method, metrics.LabelRoute: route, metrics.LabelStatus: status,
	})
	if m == nil {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}

// decodeError decodes the JSON error body of rec, failing if it has
// another shape.
func decodeError(tb testing.TB, rec *httptest.ResponseRecorder) apierror.Detail {
	tb.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var body apierror.Body
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		tb.Fatalf("error body is not the JSON error shape: %v", err)
	}
	if body.Error.Code == "" || body.Error.Message == "" {
		tb.Fatalf("error body lacks code or message: %+v", body)
	}
	return body.Error
}
