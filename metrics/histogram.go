package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// durationObserver records request durations in one series of
// http_server_request_duration_seconds.
type durationObserver interface {
	observe(d time.Duration)
	// observeSampled also keeps the observation as the exemplar of its
	// bucket, linked to the sampled span sc.
	observeSampled(d time.Duration, sc trace.SpanContext)
}

// durationBuckets are DurationBuckets, made once for every scrape, and
// durationBounds the same bounds as durations, so that an observation is
// placed by integer comparisons.
var (
	durationBuckets = DurationBuckets()
	durationBounds  = func() []time.Duration {
		d := make([]time.Duration, len(durationBuckets))
		for i, s := range durationBuckets {
			d[i] = time.Duration(s * float64(time.Second))
		}
		return d
	}()
)

// classicSeries is one series of the request duration histogram with the
// classic buckets only. An observation costs two atomic additions: one
// bucket count and the sum in nanoseconds. client_golang's histogram costs
// about twice as much, for a consistency between count and sum under
// concurrent scrapes that a latency histogram does not need.
type classicSeries struct {
	labels    []string // method, route, status
	counts    []atomic.Uint64
	sumNs     atomic.Int64
	exemplars exemplars // nil unless exemplars are on
}

func (s *classicSeries) observe(d time.Duration) { s.add(d) }

func (s *classicSeries) observeSampled(d time.Duration, sc trace.SpanContext) {
	i := s.add(d)
	if s.exemplars != nil {
		s.exemplars.store(i, d, sc)
	}
}

// add counts d in its bucket and returns the bucket's index.
func (s *classicSeries) add(d time.Duration) int {
	i := 0
	for i < len(durationBounds) && d > durationBounds[i] {
		i++
	}
	s.counts[i].Add(1) // the last count is the +Inf bucket's own
	s.sumNs.Add(int64(d))
	return i
}

// metric returns a snapshot of s. Its count is the total of the bucket
// counts read, so the buckets are always consistent with _count; the sum may
// lack an observation that is being recorded at that moment.
func (s *classicSeries) metric(desc *prometheus.Desc) (prometheus.Metric, error) {
	buckets := make(map[float64]uint64, len(durationBounds))
	var total uint64
	for i, b := range durationBuckets {
		total += s.counts[i].Load()
		buckets[b] = total
	}
	total += s.counts[len(durationBounds)].Load()
	sum := time.Duration(s.sumNs.Load()).Seconds()
	m, err := prometheus.NewConstHistogram(desc, total, sum, buckets, s.labels...)
	if err != nil || s.exemplars == nil {
		return m, err
	}
	return s.exemplars.attach(m)
}

// promObserver adapts a client_golang histogram child, used when native
// histograms are on.
type promObserver struct{ o prometheus.Observer }

func (p promObserver) observe(d time.Duration) { p.o.Observe(d.Seconds()) }

func (p promObserver) observeSampled(d time.Duration, sc trace.SpanContext) {
	if e, ok := p.o.(prometheus.ExemplarObserver); ok {
		e.ObserveWithExemplar(d.Seconds(), exemplarLabels(sc))
		return
	}
	p.o.Observe(d.Seconds())
}

// durationVec is the http_server_request_duration_seconds collector. By
// default it holds classicSeries; with native histograms it is
// client_golang's HistogramVec, which implements them.
type durationVec struct {
	desc      *prometheus.Desc
	native    *prometheus.HistogramVec // nil unless native histograms are on
	exemplars bool                     // classic series keep exemplars

	mu     sync.Mutex
	byKey  map[[3]string]durationObserver // under mu
	series []*classicSeries               // appended under mu, never changed after
}

func newDurationVec(opts Options) *durationVec {
	const (
		name = "http_server_request_duration_seconds"
		help = "Duration of HTTP server requests, from the first middleware to the last byte handed to the connection."
	)
	labels := []string{LabelMethod, LabelRoute, LabelStatus}
	if opts.NativeHistograms {
		return &durationVec{native: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                           name,
			Help:                           help,
			Buckets:                        DurationBuckets(),
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxBucketNumber: 160,
		}, labels)}
	}
	return &durationVec{desc: prometheus.NewDesc(name, help, labels, nil), exemplars: opts.Exemplars}
}

// with returns the observer of one series, creating it on first use. It
// takes a lock: callers cache the result.
func (v *durationVec) with(method, route, status string) durationObserver {
	if v.native != nil {
		return promObserver{v.native.WithLabelValues(method, route, status)}
	}
	key := [3]string{method, route, status}
	v.mu.Lock()
	defer v.mu.Unlock()
	if o, ok := v.byKey[key]; ok {
		return o
	}
	s := &classicSeries{labels: key[:], counts: make([]atomic.Uint64, len(durationBounds)+1)}
	if v.exemplars {
		s.exemplars = make(exemplars, len(durationBounds)+1)
	}
	if v.byKey == nil {
		v.byKey = make(map[[3]string]durationObserver)
	}
	v.byKey[key] = s
	v.series = append(v.series, s)
	return s
}

// Describe implements prometheus.Collector.
func (v *durationVec) Describe(ch chan<- *prometheus.Desc) {
	if v.native != nil {
		v.native.Describe(ch)
		return
	}
	ch <- v.desc
}

// Collect implements prometheus.Collector.
func (v *durationVec) Collect(ch chan<- prometheus.Metric) {
	if v.native != nil {
		v.native.Collect(ch)
		return
	}
	v.mu.Lock()
	series := v.series
	v.mu.Unlock()
	for _, s := range series {
		m, err := s.metric(v.desc)
		if err != nil {
			m = prometheus.NewInvalidMetric(v.desc, err)
		}
		ch <- m
	}
}
