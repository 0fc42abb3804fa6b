package metrics_test

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
			got, exp := exposition(t, reg, durationFamily), exposition(t, ref, durationFamily)
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
	record := func(g, i int) {
		r := m.Route("GET", "/r"+strconv.Itoa((g+i)%4))
		r.Start()
		r.Done(200+(i%5), time.Duration(i)*time.Millisecond)
	}
	scrapeWhileRecording(t, reg, durationFamily, record, func(series []*dto.Metric, recorded int) {
		var total uint64
		for _, s := range series {
			h := s.GetHistogram()
			top := uint64(0)
			for _, b := range h.GetBucket() {
				if b.GetCumulativeCount() < top {
					t.Fatalf("buckets not cumulative: %v", h)
				}
				top = b.GetCumulativeCount()
			}
			if h.GetSampleCount() < top {
				t.Fatalf("_count %d below the last bucket %d", h.GetSampleCount(), top)
			}
			total += h.GetSampleCount()
		}
		if recorded >= 0 && total != uint64(recorded) {
			t.Errorf("observations = %d, want %d", total, recorded)
		}
	})
}

// recorders is the number of goroutines that record in the concurrent scrape
// tests; each records at least minRecordings times and goes on until
// minScrapes scrapes have been made.
const recorders, minRecordings, minScrapes = 8, 2000, 10

// scrapeWhileRecording calls record(g, i) for i = 0, 1, ... in each of
// recorders goroutines g, and meanwhile gathers reg again and again, handing
// check the series of the family name from each scrape. recorded is -1
// while recording goes on, and the number of recordings for the one scrape
// made after all of them. It returns the number of scrapes.
func scrapeWhileRecording(t *testing.T, reg prometheus.Gatherer, name string, record func(g, i int), check func(series []*dto.Metric, recorded int)) int {
	t.Helper()
	var (
		wg       sync.WaitGroup
		scrapes  atomic.Int64
		recorded atomic.Int64
		stop     atomic.Bool // set when this function returns, or check fails the test
	)
	defer func() { stop.Store(true); wg.Wait() }()
	for g := range recorders {
		wg.Go(func() {
			i := 0
			for ; (i < minRecordings || scrapes.Load() < minScrapes) && !stop.Load(); i++ {
				record(g, i)
			}
			recorded.Add(int64(i))
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for scraping := true; scraping; scrapes.Add(1) {
		select {
		case <-done:
			scraping = false
		default:
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var series []*dto.Metric
		for _, mf := range mfs {
			if mf.GetName() == name {
				series = mf.GetMetric()
			}
		}
		n := -1
		if !scraping {
			n = int(recorded.Load())
		}
		check(series, n)
	}
	return int(scrapes.Load())
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

const durationFamily = "http_server_request_duration_seconds"

// exposition returns the family named name gathered from g, in the protobuf
// text form, which includes native buckets when present.
func exposition(t *testing.T, g prometheus.Gatherer, name string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			// Creation times differ between the two registries; nothing
			// else may.
			if h := s.GetHistogram(); h != nil {
				h.CreatedTimestamp = nil
			}
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
		buf.WriteString(mf.String())
	}
	if buf.Len() == 0 {
		t.Fatalf("no %s family gathered", name)
	}
	return buf.String()
}
