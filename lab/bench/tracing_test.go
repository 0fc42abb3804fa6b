package bench_test

import (
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/lab/bench"
	"github.com/ginstarter/ginstarter/metrics"
)

// tracingWant is a tracing stack's middleware and what one request does to
// it.
type tracingWant struct {
	chain   []string // the functions of its middleware, outermost first
	sdk     bool     // the stack has an SDK provider (a SpanCounter)
	sampled bool     // its spans are recorded and end in the processor
	// exemplars: a sampled request leaves its trace as an exemplar.
	exemplars bool
}

// The middleware functions, as the names that runtime.FuncForPC gives the
// closures they return contain them: middleware.Metrics.func1, or, where
// the call was inlined, bench.projectMiddleware.Recovery.func1 or
// bench.init.func10.Tracing.1.
const (
	fnMetrics  = "Metrics"
	fnRecovery = "Recovery"
	fnTracing  = "Tracing"
	fnOtelgin  = "otelgin.Middleware"
)

var (
	chainOff     = []string{fnMetrics, fnRecovery}
	chainOurs    = []string{fnTracing, fnMetrics, fnRecovery}
	chainOtelgin = []string{fnOtelgin, fnMetrics, fnRecovery}
)

var tracingWants = map[string]tracingWant{
	bench.TracingOff:       {chain: chainOff},
	bench.TracingUnsampled: {chain: chainOurs, sdk: true},
	bench.TracingSampled:   {chain: chainOurs, sdk: true, sampled: true, exemplars: true},
	bench.OtelginNoop:      {chain: chainOtelgin},
	bench.OtelginUnsampled: {chain: chainOtelgin, sdk: true},
	bench.OtelginSampled:   {chain: chainOtelgin, sdk: true, sampled: true},
}

// TestTracingStacks checks that every stack of BenchmarkTracing has the
// middleware its name says, answers each request with the expected status
// and traces it as its name says: one
// sampling decision per request on the SDK stacks, continuing the caller's
// trace when the request has a traceparent; one span recorded and ended on
// the sampled ones, none on the others; the request in this project's
// metrics; and, on this project's sampled stack only, the request's trace as
// an exemplar.
func TestTracingStacks(t *testing.T) {
	stacks, err := bench.TracingStacks()
	if err != nil {
		t.Fatal(err)
	}
	if len(stacks) != len(tracingWants) {
		t.Fatalf("%d tracing stacks, want %d", len(stacks), len(tracingWants))
	}
	for _, s := range stacks {
		want, ok := tracingWants[s.Name]
		if !ok {
			t.Fatalf("unexpected stack %q", s.Name)
		}
		checkChain(t, s, want.chain)
		if (s.Spans != nil) != want.sdk {
			t.Fatalf("%s: has a span counter: %t, want %t", s.Name, s.Spans != nil, want.sdk)
		}
		for _, rt := range bench.Routes {
			for _, p := range bench.Parents {
				t.Run(s.Name+"/"+rt.Name+"/"+p.Name, func(t *testing.T) {
					var before bench.SpanCounts
					if s.Spans != nil {
						before = s.Spans.Counts()
					}
					observed := observations(t, s.Registry)
					rec := httptest.NewRecorder()
					s.Handler.ServeHTTP(rec, bench.NewTracingRequest(rt, p).Next())
					if rec.Code != rt.WantStatus {
						t.Errorf("status = %d, want %d", rec.Code, rt.WantStatus)
					}
					if n := observations(t, s.Registry) - observed; n != 1 {
						t.Errorf("the request added %d observations to the metrics, want 1", n)
					}
					if s.Spans != nil {
						checkSpans(t, s.Spans.Counts(), before, want.sampled, p.Traceparent)
					}
					checkExemplars(t, s.Registry, want.exemplars, p.Traceparent)
				})
			}
		}
	}
}

// checkChain checks that the middleware of s, outermost first, are the
// closures of the functions in want.
func checkChain(t *testing.T, s *bench.TracingStack, want []string) {
	t.Helper()
	e, ok := s.Handler.(*gin.Engine)
	if !ok {
		t.Fatalf("%s: handler is a %T, not a *gin.Engine", s.Name, s.Handler)
	}
	var got []string
	for _, h := range e.Handlers {
		got = append(got, runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name())
	}
	ok = len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = regexp.MustCompile(`(^|[./])` + regexp.QuoteMeta(want[i]) + `\.(func)?\d+(\.|$)`).MatchString(got[i])
	}
	if !ok {
		t.Fatalf("%s: middleware %q, want %q", s.Name, got, want)
	}
}

// observations returns the number of observations of every histogram that
// reg gathers: the requests that the stack's metrics recorded.
func observations(t *testing.T, reg prometheus.Gatherer) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

// checkSpans checks what one request added to a stack's span counts.
func checkSpans(t *testing.T, after, before bench.SpanCounts, sampled, traceparent bool) {
	t.Helper()
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	got := bench.SpanCounts{
		Started:       after.Started - before.Started,
		StartedJoined: after.StartedJoined - before.StartedJoined,
		Ended:         after.Ended - before.Ended,
		EndedJoined:   after.EndedJoined - before.EndedJoined,
	}
	want := bench.SpanCounts{
		Started:       1,
		StartedJoined: b2i(traceparent),
		Ended:         b2i(sampled),
		EndedJoined:   b2i(sampled && traceparent),
	}
	if got != want {
		t.Errorf("spans of one request: %+v, want %+v", got, want)
	}
}

// checkExemplars checks the exemplars in reg: none unless want, and then
// one of the Traceparent trace after a request that carried it.
func checkExemplars(t *testing.T, reg prometheus.Gatherer, want, traceparent bool) {
	t.Helper()
	traces, err := exemplarTraces(reg)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !want && len(traces) > 0:
		t.Errorf("exemplars of traces %v, want none", traces)
	case want && len(traces) == 0:
		t.Error("no exemplar after a sampled request")
	case want && traceparent && !traces[bench.TraceparentTraceID]:
		t.Errorf("exemplars of traces %v, none of the caller's trace %s", traces, bench.TraceparentTraceID)
	}
}

// exemplarTraces returns the trace IDs of the exemplars that reg gathers.
func exemplarTraces(reg prometheus.Gatherer) (map[string]bool, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	traces := make(map[string]bool)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				for _, lp := range b.GetExemplar().GetLabel() {
					if lp.GetName() == metrics.ExemplarTraceID {
						traces[lp.GetValue()] = true
					}
				}
			}
		}
	}
	return traces, nil
}
