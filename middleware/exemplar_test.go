package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ginstarter/ginstarter/metrics"
)

// exemplarsOf returns the exemplars of the GET /items/:id 200 series of the
// request duration histogram: on its classic buckets and, with native
// histograms, on the histogram itself.
func exemplarsOf(tb testing.TB, s *stack) []*dto.Exemplar {
	tb.Helper()
	m := s.series(tb, "http_server_request_duration_seconds", map[string]string{
		metrics.LabelMethod: "GET", metrics.LabelRoute: "/items/:id", metrics.LabelStatus: "200",
	})
	if m == nil {
		tb.Fatal("no series for GET /items/:id 200")
	}
	var out []*dto.Exemplar
	for _, b := range m.GetHistogram().GetBucket() {
		if e := b.GetExemplar(); e != nil {
			out = append(out, e)
		}
	}
	return append(out, m.GetHistogram().GetExemplars()...)
}

func exemplarLabel(e *dto.Exemplar, name string) string {
	for _, lp := range e.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

func TestExemplarLinksTheBucketToTheSampledSpan(t *testing.T) {
	for _, native := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic", true: "native"}[native], func(t *testing.T) {
			s := newTracedStack(t, sdktrace.ParentBased(sdktrace.AlwaysSample()), metrics.Options{NativeHistograms: native})
			before := time.Now()
			s.serve(t, http.MethodGet, "/items/1", traceparent(true))
			after := time.Now()
			span := s.onlySpan(t)

			ex := exemplarsOf(t, s.stack)
			if len(ex) == 0 {
				t.Fatal("no exemplar after a sampled request")
			}
			for _, e := range ex {
				if got := exemplarLabel(e, "trace_id"); got != callerTrace {
					t.Errorf("exemplar trace_id = %q, want %s", got, callerTrace)
				}
				if got, want := exemplarLabel(e, "span_id"), span.SpanContext().SpanID().String(); got != want {
					t.Errorf("exemplar span_id = %q, want the server span's %s", got, want)
				}
				// The observation's own time, not the scrape's: a scrape made
				// later must not move it.
				if ts := e.GetTimestamp().AsTime(); ts.Before(before) || ts.After(after) {
					t.Errorf("exemplar time %v is outside the request's %v..%v", ts, before, after)
				}
			}
			time.Sleep(10 * time.Millisecond)
			if again := exemplarsOf(t, s.stack); !again[0].GetTimestamp().AsTime().Equal(ex[0].GetTimestamp().AsTime()) {
				t.Errorf("a second scrape moved the exemplar's time from %v to %v",
					ex[0].GetTimestamp().AsTime(), again[0].GetTimestamp().AsTime())
			}
		})
	}
}

// TestExemplarsNeedSampledSpanAndTheOption is the control: a request
// without a sampled span, or metrics without exemplars, leaves none.
func TestExemplarsNeedSampledSpanAndTheOption(t *testing.T) {
	never := newTracedStack(t, sdktrace.NeverSample(), metrics.Options{})
	never.serve(t, http.MethodGet, "/items/1", "")
	if ex := exemplarsOf(t, never.stack); len(ex) != 0 {
		t.Errorf("unsampled request left exemplars %v", ex)
	}

	off := newStack(t) // metrics.Options{}: no exemplars
	off.engine.GET("/items/:id", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	off.serve(t, http.MethodGet, "/items/1", traceparent(true))
	if ex := exemplarsOf(t, off); len(ex) != 0 {
		t.Errorf("metrics without exemplars kept %v", ex)
	}
}

// TestExemplarsInOpenMetricsOnly scrapes the handler as Prometheus does:
// the OpenMetrics exposition carries the exemplar; the classic text format
// cannot and does not.
func TestExemplarsInOpenMetricsOnly(t *testing.T) {
	s := newTracedStack(t, sdktrace.AlwaysSample(), metrics.Options{})
	s.serve(t, http.MethodGet, "/items/1", traceparent(true))
	h := metrics.Handler(s.reg, s.reg)
	scrape := func(accept string) string {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	om := scrape("application/openmetrics-text; version=1.0.0")
	var line string
	for l := range strings.SplitSeq(om, "\n") {
		if strings.HasPrefix(l, "http_server_request_duration_seconds_bucket{") && strings.Contains(l, " # {") {
			line = l
		}
	}
	if !strings.Contains(line, `trace_id="`+callerTrace+`"`) || !strings.Contains(line, `span_id="`) {
		t.Fatalf("no bucket line with the exemplar in the OpenMetrics exposition:\n%s", om)
	}
	if text := scrape("text/plain"); strings.Contains(text, "trace_id") {
		t.Errorf("the classic text format carries an exemplar:\n%s", text)
	}
}
