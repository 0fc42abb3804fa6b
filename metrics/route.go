package metrics

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
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

// StandardMethod reports whether method is one of the methods that keep
// their own label value; any other is labelled MethodOther.
func StandardMethod(method string) bool {
	return methodIndex(method) < len(standardMethods)
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
	methodIndex   int          // into standardMethods
	key           string       // the route as gin gave it, "" when unmatched
	method, route string       // label values
	active        atomic.Int64 // requests in flight, read by activeVec
	duration      *durationVec

	// statuses holds a series per status code seen so far, in the order
	// first seen. Most routes answer with a handful of codes, so a linear
	// search of a short slice beats a table of every possible code, which
	// would cost kilobytes per route. The slice is replaced, never changed,
	// so that reads take no lock; mu serializes the replacements.
	mu       sync.Mutex
	statuses atomic.Pointer[[]statusSeries]
}

// statusSeries is the histogram series of one status code of a Route.
type statusSeries struct {
	code int
	o    durationObserver
}

// Start marks one request of r as in flight. Every Start must be followed by
// exactly one Done.
func (r *Route) Start() { r.active.Add(1) }

// Done marks a request started with Start as finished with the given status
// after d.
func (r *Route) Done(status int, d time.Duration) {
	r.active.Add(-1)
	r.observer(status).observe(d)
}

// DoneSampled is Done for a request traced by the sampled span sc: when
// exemplars are on, the observation becomes the exemplar of its bucket.
func (r *Route) DoneSampled(status int, d time.Duration, sc trace.SpanContext) {
	r.active.Add(-1)
	r.observer(status).observeSampled(d, sc)
}

// observer returns the histogram series for status, creating it on first
// use.
func (r *Route) observer(status int) durationObserver {
	if status < minStatus || status > maxStatus {
		// net/http refuses such codes; gin reports 0 or -1 in edge cases.
		status = http.StatusInternalServerError
	}
	if o := r.find(status); o != nil {
		return o
	}
	return r.addStatus(status)
}

// find returns the series for status, or nil if r has none yet.
func (r *Route) find(status int) durationObserver {
	if p := r.statuses.Load(); p != nil {
		for _, s := range *p {
			if s.code == status {
				return s.o
			}
		}
	}
	return nil
}

// addStatus returns the series for status, adding it to r.statuses unless
// a concurrent first request with the same status already did.
func (r *Route) addStatus(status int) durationObserver {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o := r.find(status); o != nil {
		return o
	}
	var old []statusSeries
	if p := r.statuses.Load(); p != nil {
		old = *p
	}
	o := r.duration.with(r.method, r.route, strconv.Itoa(status))
	next := make([]statusSeries, len(old)+1)
	copy(next, old)
	next[len(old)] = statusSeries{status, o}
	r.statuses.Store(&next)
	return o
}

// routeCache maps method and route to a Route. Reads take no lock and no
// allocation: each method has an immutable map that is replaced, under mu,
// by a copy with one more entry when a new route is first seen. Routes are a
// bounded set, so the copies stop early.
//
// In front of the maps sits recent, a direct-mapped table indexed by the
// address of the route string's bytes. Gin hands the middleware the same
// string, its tree node's copy of the template, for every request of a
// route, so a hit costs one multiplication and one comparison of a string
// with itself (the runtime compares the pointers first) instead of hashing
// the route. A slot shared by two routes only sends one of them to the map.
//
// What the table saves is small but steady: a lookup takes 7.3, 8.4 and
// 11.7 ns through it against 11.2, 12.4 and 15.0 ns through the maps alone,
// over 1, 10 and 100 routes (go test -run '^$' -bench RouteLookup -count=8
// ./metrics), about 4 ns of the 95 ns that metrics and recovery add to a
// request. With more routes, more of them share a slot and evict each
// other, so the gain shrinks.
type routeCache struct {
	metrics  *HTTP
	mu       sync.Mutex
	byMethod [len(standardMethods) + 1]atomic.Pointer[map[string]*Route]
	recent   [recentSlots]atomic.Pointer[Route]
}

// recentSlots is the size of routeCache.recent, a power of two.
const recentSlots = 256

func (c *routeCache) get(method, route string) *Route {
	i := methodIndex(method)
	slot := &c.recent[recentSlot(route, i)]
	if r := slot.Load(); r != nil && r.methodIndex == i && r.key == route {
		return r
	}
	r := c.lookup(i, route)
	slot.Store(r)
	return r
}

// recentSlot picks the slot of route and method index i in recent, from
// the address of the route's bytes (only hashed, never dereferenced). The
// hash is computed in 64 bits on every target, so that the multiplier and
// the shift that keeps its top 8 bits need no variant for 32-bit ones.
func recentSlot(route string, i int) uint64 {
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(route)))) //nolint:gosec // G103: the address is only hashed
	return ((p + uint64(i)) * 0x9E3779B97F4A7C15) >> (64 - 8)      //nolint:gosec // G115: i indexes byMethod, never negative
}

func (c *routeCache) lookup(i int, route string) *Route {
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
	r := &Route{methodIndex: i, key: route, method: method, route: label, duration: c.metrics.duration}
	c.metrics.active.add(r)
	next := make(map[string]*Route, 1)
	if old != nil {
		maps.Copy(next, *old)
	}
	next[route] = r
	c.byMethod[i].Store(&next)
	return r
}
