package metrics_test

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/ginstarter/ginstarter/metrics"
)

// TestDurationHistogramMatchesClientGolang records the same durations in the
// service's request duration histogram and in a client_golang histogram with
// the same name, help, labels and buckets, and expects the same exposition:
// every bucket, the count and the sum. The durations include each bucket
// bound exactly (Prometheus buckets are "less than or equal"), one
// nanosecond either side of it, zero and values past the last bound.
func TestDurationHistogramMatchesClientGolang(t *testing.T) {
	var durations []time.Duration
	for _, b := range metrics.DurationBuckets() {
		bound := time.Duration(b * float64(time.Second))
		durations = append(durations, bound-1, bound, bound+1)
	}
	durations = append(durations, 0, time.Microsecond, time.Minute, time.Hour)

	for _, native := range []bool{false, true} {
		t.Run("native="+strconv.FormatBool(native), func(t *testing.T) {
			m, reg := newHTTP(t, metrics.Options{NativeHistograms: native})
			want := referenceHistogram(native)
			ref := prometheus.NewRegistry()
			ref.MustRegister(want)
			for i, d := range durations {
				route, status := []string{"/a", "/b/:id"}[i%2], 200+(i%3)*100
				r := m.Route("GET", route)
				r.Start()
				r.Done(status, d)
				want.WithLabelValues("GET", route, strconv.Itoa(status)).Observe(d.Seconds())
			}
			got, exp := exposition(t, reg), exposition(t, ref)
			if got != exp {
				t.Errorf("exposition differs from client_golang's\n got:\n%s\nwant:\n%s", got, exp)
			}
		})
	}
}

// TestDurationHistogramUnderConcurrentScrapes scrapes while 8 goroutines
// record: every scrape must gather without error (no duplicate series, the
// buckets consistent with _count), and the last one must hold every
// observation.
func TestDurationHistogramUnderConcurrentScrapes(t *testing.T) {
	m, reg := newHTTP(t, metrics.Options{})
	const goroutines, each = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := m.Route("GET", "/r"+strconv.Itoa((g+i)%4))
				r.Start()
				r.Done(200+(i%5), time.Duration(i)*time.Millisecond)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for scraping := true; scraping; {
		select {
		case <-done:
			scraping = false
		default:
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var total uint64
		for _, mf := range mfs {
			if mf.GetName() != "http_server_request_duration_seconds" {
				continue
			}
			for _, s := range mf.GetMetric() {
				h := s.GetHistogram()
				last := uint64(0)
				for _, b := range h.GetBucket() {
					if b.GetCumulativeCount() < last {
						t.Fatalf("buckets not cumulative: %v", h)
					}
					last = b.GetCumulativeCount()
				}
				if h.GetSampleCount() < last {
					t.Fatalf("_count %d below the last bucket %d", h.GetSampleCount(), last)
				}
				total += h.GetSampleCount()
			}
		}
		if !scraping && total != goroutines*each {
			t.Errorf("observations = %d, want %d", total, goroutines*each)
		}
	}
}

// referenceHistogram is the histogram client_golang would build for the
// request durations.
func referenceHistogram(native bool) *prometheus.HistogramVec {
	opts := prometheus.HistogramOpts{
		Name:    "http_server_request_duration_seconds",
		Help:    "Duration of HTTP server requests, from the first middleware to the last byte handed to the connection.",
		Buckets: metrics.DurationBuckets(),
	}
	if native {
		opts.NativeHistogramBucketFactor = 1.1
		opts.NativeHistogramMaxBucketNumber = 160
	}
	return prometheus.NewHistogramVec(opts, []string{metrics.LabelMethod, metrics.LabelRoute, metrics.LabelStatus})
}

// exposition returns the request duration family gathered from g, in the
// protobuf text form, which includes native buckets when present.
func exposition(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() != "http_server_request_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			// Creation times differ between the two registries; nothing
			// else may.
			s.GetHistogram().CreatedTimestamp = nil
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
		buf.WriteString(mf.String())
	}
	if buf.Len() == 0 {
		t.Fatal("no http_server_request_duration_seconds family gathered")
	}
	return buf.String()
}
