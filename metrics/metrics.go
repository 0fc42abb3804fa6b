// Package metrics defines the service's Prometheus collectors, registered on
// a registry that the caller passes in, and the /metrics handler.
//
// Names and labels follow the OpenTelemetry HTTP semantic conventions as
// Prometheus writes them. Every label value comes from a bounded set: route
// templates, the standard methods and status codes.
package metrics

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ginstarter/ginstarter/buildinfo"
)

// Label names of the HTTP metrics.
const (
	LabelMethod = "http_request_method"
	LabelRoute  = "http_route"
	LabelStatus = "http_response_status_code"
)

// RouteUnmatched is the http_route value of every request that matched no
// route, so that unknown paths add one series, not one per path.
const RouteUnmatched = "unmatched"

// MethodOther is the http_request_method value of any method outside the
// standard set, so that clients cannot invent label values.
const MethodOther = "_OTHER"

// DurationBuckets are the OpenTelemetry default boundaries for
// http.server.request.duration, in seconds (5 ms to 10 s).
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}

// Options tune the collectors.
type Options struct {
	// NativeHistograms adds a native (sparse) histogram representation to
	// the request duration histogram, next to the classic buckets.
	NativeHistograms bool
	// Exemplars keeps, for each bucket of the request duration histogram,
	// the trace and span of the latest sampled request that fell in it.
	// They are exposed in the OpenMetrics and protobuf formats only.
	Exemplars bool
}

// HTTP holds the request metrics of one HTTP server and caches the
// per-label children, so that recording a request takes no allocation and
// no label hashing once a route has been seen.
type HTTP struct {
	duration  *durationVec
	active    *activeVec
	panics    *prometheus.CounterVec
	shed      prometheus.Counter
	cache     routeCache
	exemplars bool
}

// New creates the HTTP request metrics, the counter of shed requests, the
// service_build_info gauge (its labels describe info) and the Go runtime and
// process collectors, and registers them all on reg. It fails, rather than
// panics, when any of them is already registered there.
func New(reg prometheus.Registerer, info buildinfo.Info, opts Options) (*HTTP, error) {
	m := &HTTP{
		duration: newDurationVec(opts),
		active:   newActiveVec(),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_panics_total",
			Help: "Number of panics recovered in HTTP handlers.",
		}, []string{LabelRoute}),
		shed:      newShedCounter(),
		exemplars: opts.Exemplars,
	}
	m.cache.metrics = m
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "service_build_info",
		Help: "Always 1; its labels describe the running build.",
		ConstLabels: prometheus.Labels{
			"version":   info.Version,
			"revision":  info.Revision,
			"goversion": info.GoVersion,
		},
	})
	build.Set(1)
	for _, c := range []prometheus.Collector{
		m.duration, m.active, m.panics, m.shed, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return m, nil
}

// Route returns the recorder for requests with the given method and gin
// route template. An empty route stands for a request that matched no
// route. Methods outside the standard set share one recorder per route.
func (m *HTTP) Route(method, route string) *Route {
	return m.cache.get(method, route)
}

// Exemplars reports whether sampled requests leave exemplars (Options).
func (m *HTTP) Exemplars() bool { return m.exemplars }

// Panic counts one recovered panic in a handler of route.
func (m *HTTP) Panic(route string) {
	if route == "" {
		route = RouteUnmatched
	}
	m.panics.WithLabelValues(route).Inc()
}

// Handler serves the metrics gathered by g in the Prometheus text format
// (or OpenMetrics when the scraper asks for it). The handler's own request
// counts are registered on reg.
func Handler(reg prometheus.Registerer, g prometheus.Gatherer) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(g, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
	}))
}
