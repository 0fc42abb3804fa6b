package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// Names of the tracing stacks, as they appear in the names of
// BenchmarkTracing. Each is this project's metrics and recovery behind a
// tracing middleware, or behind none.
const (
	TracingOff       = "ginstarter-metrics-recovery"
	TracingUnsampled = "ginstarter-tracing-unsampled"
	TracingSampled   = "ginstarter-tracing-sampled"
	OtelginNoop      = "otelgin-noop"
	OtelginUnsampled = "otelgin-unsampled"
	OtelginSampled   = "otelgin-sampled"
)

// otelginServiceName is the server name that otelgin puts on its spans.
const otelginServiceName = "bench"

// Traceparent is the W3C Trace Context header of the requests that carry a
// caller's trace: a sampled parent span with TraceparentTraceID and
// TraceparentSpanID.
const (
	TraceparentTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	TraceparentSpanID  = "00f067aa0ba902b7"
	Traceparent        = "00-" + TraceparentTraceID + "-" + TraceparentSpanID + "-01"
)

// Parent is whether a benchmarked request carries a caller's trace.
type Parent struct {
	Name        string
	Traceparent bool
}

// Parents are the two variants of each route in BenchmarkTracing: without a
// traceparent header, and with Traceparent (sampled by the caller).
var Parents = []Parent{
	{"no-parent", false},
	{"sampled-parent", true},
}

// NewTracingRequest builds the request of rt once, with the Traceparent
// header when p says so.
func NewTracingRequest(rt Route, p Parent) *Request {
	req := rt.NewRequest()
	if p.Traceparent {
		req.req.Header.Set("Traceparent", Traceparent)
	}
	return req
}

// SpanCounter is the sampler and the span processor of every SDK tracer
// provider in the tracing stacks. It counts the sampling decisions, which
// every span the middleware starts goes through, sampled or not, and the
// spans that end, then drops them: a stack's cost is its middleware and the
// SDK, not an exporter. It is the same on both sides of the comparison.
type SpanCounter struct {
	sampler                sdktrace.Sampler
	started, startedJoined atomic.Int64
	ended, endedJoined     atomic.Int64
}

// SpanCounts are the counts of a SpanCounter.
type SpanCounts struct {
	// Started is the number of spans started, and StartedJoined those of
	// them whose parent was the caller's span that Traceparent names.
	Started, StartedJoined int64
	// Ended is the number of spans that were recorded and ended, and
	// EndedJoined those of them that were children of that span, in its
	// trace.
	Ended, EndedJoined int64
}

var (
	parentTraceID = mustTraceID(TraceparentTraceID)
	parentSpanID  = mustSpanID(TraceparentSpanID)
)

// joins reports whether parent is the caller's span that Traceparent names.
func joins(parent trace.SpanContext) bool {
	return parent.IsRemote() && parent.TraceID() == parentTraceID && parent.SpanID() == parentSpanID
}

// ShouldSample counts the decision and leaves it to the wrapped sampler.
func (c *SpanCounter) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	c.started.Add(1)
	if joins(trace.SpanContextFromContext(p.ParentContext)) && p.TraceID == parentTraceID {
		c.startedJoined.Add(1)
	}
	return c.sampler.ShouldSample(p)
}

// Description is the wrapped sampler's.
func (c *SpanCounter) Description() string { return c.sampler.Description() }

// OnStart does nothing.
func (*SpanCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd counts s and drops it.
func (c *SpanCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	c.ended.Add(1)
	if joins(s.Parent()) && s.SpanContext().TraceID() == parentTraceID {
		c.endedJoined.Add(1)
	}
}

// Shutdown does nothing.
func (*SpanCounter) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (*SpanCounter) ForceFlush(context.Context) error { return nil }

// Counts returns the counts so far.
func (c *SpanCounter) Counts() SpanCounts {
	return SpanCounts{
		Started: c.started.Load(), StartedJoined: c.startedJoined.Load(),
		Ended: c.ended.Load(), EndedJoined: c.endedJoined.Load(),
	}
}

// TracingStack is one engine of BenchmarkTracing.
type TracingStack struct {
	Name    string
	Handler http.Handler
	// Registry holds the stack's request metrics.
	Registry *prometheus.Registry
	// Spans counts the spans that the stack's SDK tracer provider started
	// and ended; nil for the stacks without one.
	Spans *SpanCounter
}

// newProvider returns the SDK tracer provider of the tracing stacks: sampler
// decides, behind a SpanCounter that also takes the finished spans, and
// the resource is empty so that nothing is read from the environment or
// the host. Unsampled means sdktrace.NeverSample, not ParentBased: a
// request with a sampled traceparent is not sampled either.
func newProvider(sampler sdktrace.Sampler) (*sdktrace.TracerProvider, *SpanCounter) {
	spans := &SpanCounter{sampler: sampler}
	return sdktrace.NewTracerProvider(
		sdktrace.WithSampler(spans),
		sdktrace.WithSpanProcessor(spans),
		sdktrace.WithResource(resource.Empty()),
	), spans
}

// propagator reads the caller's trace on both sides: W3C traceparent and
// tracestate.
var propagator = propagation.TraceContext{}

type tracingDef struct {
	name      string
	exemplars bool
	// tracing returns the middleware that goes in front of metrics and
	// recovery, or nil; and the span counter of its provider, or nil.
	tracing func() (gin.HandlerFunc, *SpanCounter)
}

// tracerName is the name of the service's tracer, tracing.InstrumentationName.
// It is spelled out: importing the tracing package would bring its OTLP
// exporter, and gRPC, into this module's go.mod for a name.
const tracerName = "github.com/ginstarter/ginstarter/middleware"

// ours is this project's Tracing middleware on an SDK provider with sampler.
func ours(sampler sdktrace.Sampler) func() (gin.HandlerFunc, *SpanCounter) {
	return func() (gin.HandlerFunc, *SpanCounter) {
		tp, spans := newProvider(sampler)
		return middleware.Tracing(tp.Tracer(tracerName), propagator), spans
	}
}

// otelginWith is otelgin's middleware on provider tp, with the propagator
// and a no-op meter provider passed explicitly: otelgin reads neither from
// the OpenTelemetry globals then.
func otelginWith(tp trace.TracerProvider) gin.HandlerFunc {
	return otelgin.Middleware(otelginServiceName,
		otelgin.WithTracerProvider(tp),
		otelgin.WithPropagators(propagator),
		otelgin.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

func otelginSDK(sampler sdktrace.Sampler) func() (gin.HandlerFunc, *SpanCounter) {
	return func() (gin.HandlerFunc, *SpanCounter) {
		tp, spans := newProvider(sampler)
		return otelginWith(tp), spans
	}
}

// tracingDefs lists the tracing stacks in the order they are benchmarked.
// This project's exemplars are on wherever its Tracing is: they are part of
// what its tracing costs on a sampled request.
var tracingDefs = []tracingDef{
	{TracingOff, false, func() (gin.HandlerFunc, *SpanCounter) { return nil, nil }},
	{TracingUnsampled, true, ours(sdktrace.NeverSample())},
	{TracingSampled, true, ours(sdktrace.AlwaysSample())},
	{OtelginNoop, false, func() (gin.HandlerFunc, *SpanCounter) {
		return otelginWith(tracenoop.NewTracerProvider()), nil
	}},
	{OtelginUnsampled, false, otelginSDK(sdktrace.NeverSample())},
	{OtelginSampled, false, otelginSDK(sdktrace.AlwaysSample())},
}

var (
	tracingOnce      sync.Once
	tracingStacks    []*TracingStack
	tracingStacksErr error
)

// TracingStacks returns the stacks of BenchmarkTracing, built once per
// process like Stacks.
func TracingStacks() ([]*TracingStack, error) {
	tracingOnce.Do(func() { tracingStacks, tracingStacksErr = buildTracingStacks() })
	return tracingStacks, tracingStacksErr
}

func buildTracingStacks() ([]*TracingStack, error) {
	gin.SetMode(gin.ReleaseMode)
	var out []*TracingStack
	for _, d := range tracingDefs {
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{Exemplars: d.exemplars})
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", d.name, err)
		}
		e := gin.New()
		mw, spans := d.tracing()
		if mw != nil {
			e.Use(mw)
		}
		e.Use(projectMiddleware(m)...)
		AddRoutes(e)
		out = append(out, &TracingStack{Name: d.name, Handler: e, Registry: reg, Spans: spans})
	}
	return out, nil
}

func mustTraceID(s string) trace.TraceID {
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		panic(err)
	}
	return id
}

func mustSpanID(s string) trace.SpanID {
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		panic(err)
	}
	return id
}
