package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// activeVec is the http_server_active_requests collector. Each Route keeps
// its own count of requests in flight as an atomic integer, so marking a
// request started or done is one atomic addition; client_golang's gauge
// stores a float64 and pays a load and a compare-and-swap loop for each.
// The collector only reads the counts of the routes it was given.
type activeVec struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	routes []*Route // appended under mu, never removed
}

func newActiveVec() *activeVec {
	return &activeVec{desc: prometheus.NewDesc(
		"http_server_active_requests",
		"Number of HTTP server requests in flight, being handled right now.",
		[]string{LabelMethod, LabelRoute}, nil,
	)}
}

// add makes r's count of requests in flight a series of the gauge, from the
// next scrape on.
func (v *activeVec) add(r *Route) {
	v.mu.Lock()
	v.routes = append(v.routes, r)
	v.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (v *activeVec) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

// Collect implements prometheus.Collector.
func (v *activeVec) Collect(ch chan<- prometheus.Metric) {
	v.mu.Lock()
	routes := v.routes
	v.mu.Unlock()
	for _, r := range routes {
		m, err := prometheus.NewConstMetric(v.desc, prometheus.GaugeValue, float64(r.active.Load()), r.method, r.route)
		if err != nil {
			m = prometheus.NewInvalidMetric(v.desc, err)
		}
		ch <- m
	}
}
