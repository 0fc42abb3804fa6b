package metrics

import "github.com/prometheus/client_golang/prometheus"

// newShedCounter returns the counter behind HTTP.Shed. It has no labels: a
// shed request is also recorded, with status 503 and its route, in the
// request duration histogram.
func newShedCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{
		Name: "http_server_shed_requests_total",
		Help: "Number of HTTP server requests refused with 503 because the limit of requests in flight (MAX_IN_FLIGHT) was reached.",
	})
}

// Shed counts one request refused because the limit of requests in flight
// was reached.
func (m *HTTP) Shed() { m.shed.Inc() }
