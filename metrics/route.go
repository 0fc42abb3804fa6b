package metrics

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status codes that net/http lets a handler send span 100 to 999.
const (
	minStatus = 100
	maxStatus = 999
)

// standardMethods are the methods that keep their own label value; the
// index of a method in this list selects its route map in routeCache.
var standardMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
	http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch,
}

// methodIndex returns the index of method in standardMethods, or
// len(standardMethods) for any other method.
func methodIndex(method string) int {
	for i, m := range standardMethods {
		if m == method {
			return i
		}
	}
	return len(standardMethods)
}

// Route records the requests of one method and route. Its methods are safe
// for concurrent use.
type Route struct {
	method, route string
	active        prometheus.Gauge
	duration      *durationVec
	byStatus      [maxStatus - minStatus + 1]atomic.Pointer[durationObserver]
}

// Start marks one request of r as in flight. Every Start must be followed by
// exactly one Done.
func (r *Route) Start() { r.active.Inc() }

// Done marks a request started with Start as finished with the given status
// after d.
func (r *Route) Done(status int, d time.Duration) {
	r.active.Dec()
	r.observer(status).observe(d)
}

// observer returns the histogram series for status, creating it on first
// use.
func (r *Route) observer(status int) durationObserver {
	if status < minStatus || status > maxStatus {
		// net/http refuses such codes; gin reports 0 or -1 in edge cases.
		status = http.StatusInternalServerError
	}
	slot := &r.byStatus[status-minStatus]
	if o := slot.Load(); o != nil {
		return *o
	}
	o := r.duration.with(r.method, r.route, strconv.Itoa(status))
	slot.Store(&o)
	return o
}

// routeCache maps method and route to a Route. Reads take no lock and no
// allocation: each method has an immutable map that is replaced, under mu,
// by a copy with one more entry when a new route is first seen. Routes are a
// bounded set, so the copies stop early.
type routeCache struct {
	metrics  *HTTP
	mu       sync.Mutex
	byMethod [len(standardMethods) + 1]atomic.Pointer[map[string]*Route]
}

func (c *routeCache) get(method, route string) *Route {
	i := methodIndex(method)
	if m := c.byMethod[i].Load(); m != nil {
		if r, ok := (*m)[route]; ok {
			return r
		}
	}
	return c.add(i, route)
}

func (c *routeCache) add(i int, route string) *Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.byMethod[i].Load()
	if old != nil {
		if r, ok := (*old)[route]; ok {
			return r
		}
	}
	method := MethodOther
	if i < len(standardMethods) {
		method = standardMethods[i]
	}
	label := route
	if label == "" {
		label = RouteUnmatched
	}
	r := &Route{
		method:   method,
		route:    label,
		active:   c.metrics.active.WithLabelValues(method, label),
		duration: c.metrics.duration,
	}
	next := make(map[string]*Route, 1)
	if old != nil {
		maps.Copy(next, *old)
	}
	next[route] = r
	c.byMethod[i].Store(&next)
	return r
}
