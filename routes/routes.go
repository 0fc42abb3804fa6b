// Package routes is the whole HTTP surface of the service: the middleware
// order and every route, on the public engine and on the admin handler.
package routes

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// Deps are the dependencies of the public engine.
type Deps struct {
	Logger         *slog.Logger
	Metrics        *metrics.HTTP
	Registerer     prometheus.Registerer // the service's registry, for the controllers' own metrics
	Build          buildinfo.Info
	Items          controllers.ItemStore
	Ready          func() bool // false once shutdown has begun
	MaxBodyBytes   int64
	MaxInFlight    int      // 0 sheds nothing
	TrustedProxies []string // nil trusts no proxy
	DemoEndpoints  bool
	// Tracer, when not nil, gives every request but the probes a server
	// span; Propagator reads the caller's trace from the request headers.
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
}

// Probe routes are neither counted in the request metrics nor logged at
// info level.
var probes = []string{"/healthz", "/readyz"}

// New returns the public engine: the Middleware stack in front of every
// route, including the answers to unknown routes (404) and methods (405).
func New(d Deps) (*gin.Engine, error) {
	e := gin.New()
	// A redirect would answer before any middleware runs: no metrics, no
	// request ID. Paths are matched exactly instead.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("setting trusted proxies: %w", err)
	}
	itemMetrics, err := controllers.NewItemMetrics(d.Registerer)
	if err != nil {
		return nil, err
	}

	e.Use(Middleware(d)...)
	e.NoRoute(controllers.NotFound())
	e.NoMethod(controllers.MethodNotAllowed())

	e.GET("/healthz", controllers.Live())
	e.HEAD("/healthz", controllers.Live())
	e.GET("/readyz", controllers.Ready(d.Ready))
	e.HEAD("/readyz", controllers.Ready(d.Ready))
	e.GET("/version", controllers.Version(d.Build))

	v1 := e.Group("/v1")
	v1.POST("/items", controllers.CreateItem(d.Items, itemMetrics))
	v1.GET("/items", controllers.ListItems(d.Items))
	v1.GET("/items/:id", controllers.GetItem(d.Items))
	v1.DELETE("/items/:id", controllers.DeleteItem(d.Items))

	if d.DemoEndpoints {
		v1.GET("/demo/panic", controllers.DemoPanic())
		v1.GET("/demo/sleep", controllers.DemoSleep(controllers.MaxDemoSleep))
	}
	return e, nil
}

// Middleware returns the middleware of every public route, outermost first:
// request ID, headers, tracing (only when Tracer is set), access log,
// metrics, recovery, load shedding (only when MaxInFlight is set), body
// limit. Tracing sits outside the access log and metrics so that they see
// the request's span, and outside recovery so that its span ends with the
// 500 of a recovered panic. Metrics sits outside recovery so
// that a recovered panic is recorded with its 500, and outside shedding so
// that a shed request is recorded with its 503.
func Middleware(d Deps) []gin.HandlerFunc {
	chain := []gin.HandlerFunc{middleware.RequestID(), middleware.SecureHeaders()}
	if d.Tracer != nil {
		chain = append(chain, middleware.Tracing(d.Tracer, d.Propagator, probes...))
	}
	chain = append(chain,
		middleware.AccessLog(d.Logger, probes...),
		middleware.Metrics(d.Metrics, probes...),
		middleware.Recovery(d.Logger, d.Metrics),
	)
	if d.MaxInFlight > 0 {
		chain = append(chain, middleware.Shed(d.MaxInFlight, d.Metrics, probes...))
	}
	return append(chain, middleware.BodyLimit(d.MaxBodyBytes))
}

// AdminDeps are the dependencies of the admin handler.
type AdminDeps struct {
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Pprof      bool // serve net/http/pprof under /debug/pprof/
}

// Admin returns the handler of the admin listener: /metrics from the
// service's own registry, /healthz and, when d.Pprof is set, the
// net/http/pprof handlers under /debug/pprof/. It is a plain ServeMux:
// nothing on it is counted in the request metrics.
func Admin(d AdminDeps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(d.Registerer, d.Gatherer))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	if d.Pprof {
		// Registered here, explicitly: the registrations that importing
		// net/http/pprof makes on http.DefaultServeMux are never served.
		// Index also serves the named profiles (heap, goroutine, ...).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
