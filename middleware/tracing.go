package middleware

import (
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/metrics"
)

// Tracing returns a middleware that gives every request a server span from
// tracer, continuing the trace that the request's headers carry (read with
// propagator, such as W3C traceparent and tracestate). The span is named
// "{method} {route template}", or the method alone when no route matched,
// so that a client cannot invent span names; it carries the HTTP semantic
// convention attributes, the request ID and the final status, and a 5xx
// marks it as an error. Requests to the routes in skip (health probes) are
// not traced.
//
// The span's context replaces the request's context, so that the access
// log, the metrics' exemplars, the handlers and any client they call see
// it. The span ends in a defer, from the final status, so a recovered panic
// ends it as a 500 even though the handler never returned. It must run
// outside AccessLog, Metrics and Recovery.
func Tracing(tracer trace.Tracer, propagator propagation.TextMapPropagator, skip ...string) gin.HandlerFunc {
	skip = slices.Clone(skip)
	var names spanNames
	// Made once: building the option per request costs two allocations.
	start := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	// The slices that endSpan builds the attributes in.
	attrs := &sync.Pool{New: func() any { s := make([]attribute.KeyValue, 0, 10); return &s }}
	return func(c *gin.Context) {
		route := c.FullPath()
		if slices.Contains(skip, route) {
			c.Next()
			return
		}
		r := c.Request
		ctx := propagator.Extract(r.Context(), headerCarrier(r.Header))
		ctx, span := tracer.Start(ctx, names.get(r.Method, route), start...)
		c.Request = r.WithContext(ctx)
		defer endSpan(span, c, route, attrs)
		c.Next()
	}
}

// endSpan records the outcome of the request in c on span and ends it.
//
// The span gets at most eight attributes on the common paths: from the
// ninth, the SDK builds a map on the heap to de-duplicate them when the span
// ends, three allocations per request. server.address and
// network.protocol.version, which the conventions only recommend, are left
// out for that reason.
func endSpan(span trace.Span, c *gin.Context, route string, pool *sync.Pool) {
	status := finalStatus(c)
	if span.IsRecording() {
		r := c.Request
		method := metricsMethod(r.Method)
		buf, _ := pool.Get().(*[]attribute.KeyValue) // the pool holds nothing else
		attrs := (*buf)[:0]
		attrs = append(attrs,
			semconv.HTTPRequestMethodKey.String(method),
			semconv.URLPath(r.URL.Path),
			semconv.URLScheme(scheme(r)),
			semconv.HTTPResponseStatusCode(status),
			semconv.ClientAddress(c.ClientIP()),
			attribute.String(requestIDAttribute, RequestIDOf(c)),
		)
		if route != "" {
			attrs = append(attrs, semconv.HTTPRoute(route))
		}
		if ua := r.UserAgent(); ua != "" {
			attrs = append(attrs, semconv.UserAgentOriginal(ua))
		}
		if method != r.Method {
			attrs = append(attrs, semconv.HTTPRequestMethodOriginal(r.Method))
		}
		if status >= http.StatusInternalServerError {
			code := strconv.Itoa(status)
			attrs = append(attrs, semconv.ErrorTypeKey.String(code))
			span.SetStatus(codes.Error, code)
		}
		span.SetAttributes(attrs...) // copied: the slice goes back to the pool
		clear(attrs)
		*buf = attrs[:0]
		pool.Put(buf)
	}
	span.End()
}

// requestIDAttribute is the span attribute that holds the request ID.
const requestIDAttribute = "http.request.id"

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// metricsMethod returns method when it is a standard one and "_OTHER"
// otherwise, as the metrics label it.
func metricsMethod(method string) string {
	if metrics.StandardMethod(method) {
		return method
	}
	return metrics.MethodOther
}

// spanNames caches the span name of each method and route, so that a
// request does not build it. Routes are a bounded set; the map is
// replaced, never changed, so reads take no lock.
type spanNames struct {
	mu    sync.Mutex
	names atomic.Pointer[map[[2]string]string]
}

func (n *spanNames) get(method, route string) string {
	key := [2]string{method, route}
	if m := n.names.Load(); m != nil {
		if name, ok := (*m)[key]; ok {
			return name
		}
	}
	name := spanName(method, route)
	if !metrics.StandardMethod(method) {
		return name // a method a client made up is not cached
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	next := map[[2]string]string{key: name}
	if m := n.names.Load(); m != nil {
		maps.Copy(next, *m)
	}
	n.names.Store(&next)
	return name
}

// spanName follows the HTTP semantic conventions: "HTTP" stands for a
// method outside the standard set.
func spanName(method, route string) string {
	if !metrics.StandardMethod(method) {
		method = "HTTP"
	}
	if route == "" {
		return method
	}
	return method + " " + route
}

// headerCarrier reads and writes http.Header for a propagator. It looks up
// the W3C Trace Context and Baggage headers under their canonical names
// directly: propagation.HeaderCarrier canonicalizes the key on every call,
// which allocates for these three.
type headerCarrier http.Header

func (h headerCarrier) Get(key string) string {
	var v []string
	switch key {
	case "traceparent":
		v = h["Traceparent"]
	case "tracestate":
		v = h["Tracestate"]
	case "baggage":
		v = h["Baggage"]
	default:
		v = h[textproto.CanonicalMIMEHeaderKey(key)]
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (h headerCarrier) Set(key, value string) { http.Header(h).Set(key, value) }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
