package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// Trace and span IDs that test callers send in traceparent.
const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// traceparent returns a W3C traceparent header value for the caller's
// span, sampled or not.
func traceparent(sampled bool) string {
	flags := "00"
	if sampled {
		flags = "01"
	}
	return "00-" + callerTrace + "-" + callerSpan + "-" + flags
}

// tracedStack is newStack with Tracing outside the access log, as
// routes.Middleware orders it, a real SDK tracer provider whose ended spans
// are recorded in spans, and exemplars on.
type tracedStack struct {
	*stack
	spans *tracetest.SpanRecorder
}

func newTracedStack(tb testing.TB, sampler sdktrace.Sampler, opts metrics.Options) *tracedStack {
	tb.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(spans))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	opts.Exemplars = true
	s := newStackWith(tb, opts, middleware.Tracing(tp.Tracer("test"), propagation.TraceContext{}, "/healthz"))
	s.engine.GET("/items/:id", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	s.engine.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	s.engine.GET("/panic", func(*gin.Context) { panic("boom") })
	s.engine.GET("/wait", func(c *gin.Context) { <-c.Request.Context().Done() })
	return &tracedStack{stack: s, spans: spans}
}

// serve sends a request with the given traceparent ("" for none).
func (s *stack) serve(tb testing.TB, method, target, parent string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	if parent != "" {
		req.Header.Set("traceparent", parent)
	}
	rec := httptest.NewRecorder()
	s.engine.ServeHTTP(rec, req)
	return rec
}

// onlySpan returns the one span s ended, failing when there is not exactly
// one.
func (s *tracedStack) onlySpan(tb testing.TB) sdktrace.ReadOnlySpan {
	tb.Helper()
	ended := s.spans.Ended()
	if len(ended) != 1 {
		tb.Fatalf("%d spans ended, want 1", len(ended))
	}
	return ended[0]
}

func attrs(span sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value)
	for _, kv := range span.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestTracingServerSpanContinuesTheCallersTrace(t *testing.T) {
	s := newTracedStack(t, sdktrace.ParentBased(sdktrace.AlwaysSample()), metrics.Options{})
	rec := s.serve(t, http.MethodGet, "/items/42?q=1", traceparent(true))
	span := s.onlySpan(t)

	if got, want := span.Name(), "GET /items/:id"; got != want {
		t.Errorf("span name = %q, want %q", got, want)
	}
	if span.SpanKind() != trace.SpanKindServer {
		t.Errorf("span kind = %v, want server", span.SpanKind())
	}
	if got := span.SpanContext().TraceID().String(); got != callerTrace {
		t.Errorf("trace ID = %s, want the caller's %s", got, callerTrace)
	}
	if got := span.Parent().SpanID().String(); got != callerSpan || !span.Parent().IsRemote() {
		t.Errorf("parent = %s (remote %v), want the caller's span %s", got, span.Parent().IsRemote(), callerSpan)
	}
	if span.Status().Code != codes.Unset {
		t.Errorf("status = %v, want unset for a 200", span.Status())
	}
	a := attrs(span)
	for key, want := range map[attribute.Key]attribute.Value{
		"http.request.method":       attribute.StringValue("GET"),
		"http.route":                attribute.StringValue("/items/:id"),
		"url.path":                  attribute.StringValue("/items/42"),
		"url.scheme":                attribute.StringValue("http"),
		"http.response.status_code": attribute.IntValue(200),
		"http.request.id":           attribute.StringValue(rec.Header().Get(apierror.RequestIDHeader)),
	} {
		if got := a[key]; got != want {
			t.Errorf("attribute %s = %v, want %v", key, got.String(), want.String())
		}
	}

	lines := logLines(t, s.stack)
	if len(lines) != 1 {
		t.Fatalf("got %d access lines, want 1", len(lines))
	}
	if got, want := lines[0]["trace_id"], callerTrace; got != want {
		t.Errorf("access line trace_id = %v, want %s", got, want)
	}
	if got, want := lines[0]["span_id"], span.SpanContext().SpanID().String(); got != want {
		t.Errorf("access line span_id = %v, want the server span's %s", got, want)
	}
}

func TestTracingSpanNames(t *testing.T) {
	tests := []struct {
		name, method, target string
		wantName             string
		wantStatus           int
		wantAttrs            map[attribute.Key]string // "" means absent
	}{
		{"unmatched path: the method alone", http.MethodGet, "/no/such/thing", "GET", 404,
			map[attribute.Key]string{"http.route": "", "url.path": "/no/such/thing"}},
		{"unknown method", "FOO", "/items/1", "HTTP", 405,
			map[attribute.Key]string{"http.request.method": "_OTHER", "http.request.method_original": "FOO"}},
		{"no parent: a new trace", http.MethodGet, "/items/1", "GET /items/:id", 200,
			map[attribute.Key]string{"http.route": "/items/:id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTracedStack(t, sdktrace.ParentBased(sdktrace.AlwaysSample()), metrics.Options{})
			if rec := s.serve(t, tt.method, tt.target, ""); rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			span := s.onlySpan(t)
			if span.Name() != tt.wantName {
				t.Errorf("span name = %q, want %q", span.Name(), tt.wantName)
			}
			if span.Parent().IsValid() {
				t.Errorf("span has parent %v, want a root span", span.Parent())
			}
			a := attrs(span)
			for key, want := range tt.wantAttrs {
				if got := a[key].AsString(); got != want {
					t.Errorf("attribute %s = %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestTracingPanicEndsTheSpanAsAnError(t *testing.T) {
	s := newTracedStack(t, sdktrace.AlwaysSample(), metrics.Options{})
	if rec := s.serve(t, http.MethodGet, "/panic", traceparent(true)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	span := s.onlySpan(t)
	if span.Status().Code != codes.Error {
		t.Errorf("status = %v, want error", span.Status())
	}
	if got := attrs(span)["http.response.status_code"].AsInt64(); got != 500 {
		t.Errorf("status code attribute = %d, want 500", got)
	}
	if got := attrs(span)["error.type"].AsString(); got != "500" {
		t.Errorf("error.type = %q, want 500", got)
	}
	events := span.Events()
	if len(events) != 1 || events[0].Name != "exception" {
		t.Fatalf("events = %+v, want one exception", events)
	}
	panicLine, ok := s.log.Find("panic recovered")
	if !ok {
		t.Fatalf("no panic line in:\n%s", s.log.String())
	}
	if panicLine.Get("trace_id") != callerTrace || panicLine.Get("span_id") != span.SpanContext().SpanID().String() {
		t.Errorf("panic line trace_id, span_id = %q, %q; want %s, %s",
			panicLine.Get("trace_id"), panicLine.Get("span_id"), callerTrace, span.SpanContext().SpanID())
	}
}

func TestTracingClientGoneIs499(t *testing.T) {
	s := newTracedStack(t, sdktrace.AlwaysSample(), metrics.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/wait", nil).WithContext(ctx)
	s.engine.ServeHTTP(httptest.NewRecorder(), req)
	span := s.onlySpan(t)
	if got := attrs(span)["http.response.status_code"].AsInt64(); got != apierror.StatusClientClosedRequest {
		t.Errorf("status code attribute = %d, want 499", got)
	}
	if span.Status().Code == codes.Error {
		t.Error("a client that went away marked the span as a server error")
	}
}

func TestTracingSkipsProbes(t *testing.T) {
	s := newTracedStack(t, sdktrace.AlwaysSample(), metrics.Options{})
	s.serve(t, http.MethodGet, "/healthz", traceparent(true))
	if n := len(s.spans.Ended()); n != 0 {
		t.Errorf("a probe ended %d spans, want 0", n)
	}
}

// TestTracingUnsampledParent follows the caller's decision not to sample:
// nothing is recorded, but the log line still names the trace.
func TestTracingUnsampledParent(t *testing.T) {
	s := newTracedStack(t, sdktrace.ParentBased(sdktrace.AlwaysSample()), metrics.Options{})
	s.serve(t, http.MethodGet, "/items/1", traceparent(false))
	if n := len(s.spans.Ended()); n != 0 {
		t.Errorf("%d spans recorded under an unsampled parent, want 0", n)
	}
	lines := logLines(t, s.stack)
	if len(lines) != 1 || lines[0]["trace_id"] != callerTrace {
		t.Fatalf("access lines = %v, want one with trace_id %s", lines, callerTrace)
	}
	if id, _ := lines[0]["span_id"].(string); len(id) != 16 || id == callerSpan {
		t.Errorf("span_id = %q, want the server span's own ID", id)
	}
	if ex := exemplarsOf(t, s.stack); len(ex) != 0 {
		t.Errorf("an unsampled request left exemplars %v", ex)
	}
}

// TestLogsCarryTheCallersTraceWithTracingOff: without Tracing, the access
// line names the caller's trace and span when it sent a valid traceparent.
func TestLogsCarryTheCallersTraceWithTracingOff(t *testing.T) {
	tests := []struct {
		name, parent        string
		wantTrace, wantSpan any // nil: the key is absent
	}{
		{"sampled", traceparent(true), callerTrace, callerSpan},
		{"unsampled", traceparent(false), callerTrace, callerSpan},
		{"none", "", nil, nil},
		{"malformed", "00-xyz-00f067aa0ba902b7-01", nil, nil},
		{"all-zero trace ID", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			s.engine.GET("/items/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
			s.serve(t, http.MethodGet, "/items/1", tt.parent)
			lines := logLines(t, s)
			if len(lines) != 1 {
				t.Fatalf("got %d access lines, want 1", len(lines))
			}
			if got := lines[0]["trace_id"]; got != tt.wantTrace {
				t.Errorf("trace_id = %v, want %v", got, tt.wantTrace)
			}
			if got := lines[0]["span_id"]; got != tt.wantSpan {
				t.Errorf("span_id = %v, want %v", got, tt.wantSpan)
			}
		})
	}
}

// TestTracingEnginesDoNotShareProviders builds two engines in one process,
// each with its own provider: each records only its own requests.
func TestTracingEnginesDoNotShareProviders(t *testing.T) {
	a := newTracedStack(t, sdktrace.AlwaysSample(), metrics.Options{})
	b := newTracedStack(t, sdktrace.AlwaysSample(), metrics.Options{})
	a.serve(t, http.MethodGet, "/items/1", "")
	a.serve(t, http.MethodGet, "/items/2", "")
	b.serve(t, http.MethodGet, "/items/3", "")
	if na, nb := len(a.spans.Ended()), len(b.spans.Ended()); na != 2 || nb != 1 {
		t.Errorf("spans ended: a %d, b %d; want 2 and 1", na, nb)
	}
}
