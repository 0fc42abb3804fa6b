package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Exemplar label names: the trace and span of a sampled request.
const (
	ExemplarTraceID = "trace_id"
	ExemplarSpanID  = "span_id"
)

// exemplar is the latest sampled observation of one bucket: its value, the
// time it was made and the span it belongs to.
type exemplar struct {
	d    time.Duration
	at   time.Time
	span trace.SpanContext
}

// exemplars holds the latest exemplar of each bucket of a series, the last
// one being +Inf's. A new one replaces the old without a lock.
type exemplars []atomic.Pointer[exemplar]

func (e exemplars) store(bucket int, d time.Duration, sc trace.SpanContext) {
	e[bucket].Store(&exemplar{d: d, at: time.Now(), span: sc})
}

// attach returns m with the exemplars of e, or m itself when e holds none.
// Each exemplar keeps the time of its observation, so that Prometheus
// stores it once however often it is scraped.
func (e exemplars) attach(m prometheus.Metric) (prometheus.Metric, error) {
	var list []prometheus.Exemplar
	for i := range e {
		ex := e[i].Load()
		if ex == nil {
			continue
		}
		list = append(list, prometheus.Exemplar{Value: ex.d.Seconds(), Timestamp: ex.at, Labels: exemplarLabels(ex.span)})
	}
	if len(list) == 0 {
		return m, nil
	}
	return prometheus.NewMetricWithExemplars(m, list...)
}

// exemplarLabels returns the exemplar labels of sc.
func exemplarLabels(sc trace.SpanContext) prometheus.Labels {
	return prometheus.Labels{
		ExemplarTraceID: sc.TraceID().String(),
		ExemplarSpanID:  sc.SpanID().String(),
	}
}
