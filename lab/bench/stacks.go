// Package bench compares the per-request cost of this project's metrics and
// recovery middleware with bare gin, gin's own Recovery and four Prometheus
// middlewares for gin, on the same routes, in the same process and run; and
// (tracing.go) the cost of this project's tracing middleware with otelgin's.
//
// It is a module of its own so that the service's go.mod does not carry the
// compared libraries. See README.md for how to run it.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/Depado/ginprom"
	"github.com/gin-gonic/gin"
	"github.com/penglongli/gin-metrics/ginmetrics"
	"github.com/prometheus/client_golang/prometheus"
	slokprom "github.com/slok/go-http-metrics/metrics/prometheus"
	slokmw "github.com/slok/go-http-metrics/middleware"
	slokgin "github.com/slok/go-http-metrics/middleware/gin"
	ginprometheus "github.com/zsais/go-gin-prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
	"github.com/ginstarter/ginstarter/routes"
)

// Names of the stacks, as they appear in the benchmark names.
const (
	BareGin            = "bare-gin"
	GinRecovery        = "gin-recovery"
	ClockFloor         = "clock-floor"
	Ginstarter         = "ginstarter"
	GinstarterFull     = "ginstarter-full-stack"
	ZsaisGinPrometheus = "zsais-go-gin-prometheus"
	PenglongliMetrics  = "penglongli-gin-metrics"
	DepadoGinprom      = "depado-ginprom"
	SlokHTTPMetrics    = "slok-go-http-metrics"
)

// UnknownPaths is how many distinct unmatched paths each stack is sent
// right after it is built, before its route label values are counted.
const UnknownPaths = 100

// Stack is one gin engine under test, with its own metrics registry.
type Stack struct {
	Name    string
	Handler http.Handler
	// UnknownPathLabels is the number of distinct values of the stack's
	// route (or path) label in its registry after UnknownPaths requests to
	// distinct unmatched paths, counted right after the stack was built;
	// -1 for the stacks without metrics.
	UnknownPathLabels int
	// ParamPathLabels is the number of route label values that UnknownPaths
	// requests to /users/:id with distinct ids added after that; -1 for
	// the stacks without metrics.
	ParamPathLabels int
}

type stackDef struct {
	name string
	// routeLabel is the label that carries the route or path; empty when
	// the stack records no metrics.
	routeLabel string
	build      func(reg *prometheus.Registry) (*gin.Engine, error)
}

// defs lists the stacks in the order they are benchmarked. Every
// middleware that records metrics sits in front of a recovery middleware,
// so that each row is "metrics + recovery", like this project's.
var defs = []stackDef{
	{BareGin, "", func(*prometheus.Registry) (*gin.Engine, error) { return gin.New(), nil }},
	{GinRecovery, "", func(*prometheus.Registry) (*gin.Engine, error) {
		e := gin.New()
		e.Use(gin.RecoveryWithWriter(io.Discard))
		return e, nil
	}},
	{ClockFloor, "", func(*prometheus.Registry) (*gin.Engine, error) {
		e := gin.New()
		e.Use(ClockFloorMiddleware(), gin.RecoveryWithWriter(io.Discard))
		return e, nil
	}},
	{Ginstarter, metrics.LabelRoute, func(reg *prometheus.Registry) (*gin.Engine, error) {
		m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{})
		if err != nil {
			return nil, err
		}
		e := gin.New()
		e.Use(projectMiddleware(m)...)
		return e, nil
	}},
	{GinstarterFull, metrics.LabelRoute, newFullStack},
	{ZsaisGinPrometheus, "url", func(reg *prometheus.Registry) (*gin.Engine, error) {
		e := gin.New()
		// The README's way: NewPrometheus registers on the default
		// registry, Use adds the middleware and GET /metrics.
		withDefaultRegisterer(reg, func() { ginprometheus.NewPrometheus("gin").Use(e) })
		e.Use(gin.RecoveryWithWriter(io.Discard))
		return e, nil
	}},
	{PenglongliMetrics, "uri", func(reg *prometheus.Registry) (*gin.Engine, error) {
		e := gin.New()
		// The README's way: a process-wide Monitor whose Use registers
		// on the default registry and adds GET /debug/metrics.
		withDefaultRegisterer(reg, func() { ginmetrics.GetMonitor().Use(e) })
		e.Use(gin.RecoveryWithWriter(io.Discard))
		return e, nil
	}},
	{DepadoGinprom, "path", func(reg *prometheus.Registry) (*gin.Engine, error) {
		e := gin.New()
		p := ginprom.New(ginprom.Engine(e), ginprom.Registry(reg))
		e.Use(p.Instrument(), gin.RecoveryWithWriter(io.Discard))
		return e, nil
	}},
	{SlokHTTPMetrics, "handler", func(reg *prometheus.Registry) (*gin.Engine, error) {
		mdlw := slokmw.New(slokmw.Config{
			Recorder: slokprom.NewRecorder(slokprom.Config{Registry: reg}),
		})
		e := gin.New()
		// An empty handler ID labels each request with c.FullPath(). The
		// library's example adds the handler per route; Use puts it on
		// every route and on the 404 answer too, like the others.
		e.Use(slokgin.Handler("", mdlw), gin.RecoveryWithWriter(io.Discard))
		return e, nil
	}},
}

// ClockFloorMiddleware reads the monotonic clock before and after the rest
// of the chain, as any middleware that measures request durations must, and
// records nothing. With gin.Recovery behind it, it is the least that a
// "metrics + recovery" stack can cost: the floor under every metrics row.
func ClockFloorMiddleware() gin.HandlerFunc {
	epoch := time.Now()
	return func(c *gin.Context) {
		start := time.Since(epoch)
		c.Next()
		if time.Since(epoch) < start { // never: the monotonic clock does not go back
			c.Status(http.StatusInternalServerError)
		}
	}
}

// projectMiddleware is this project's metrics and recovery middleware, in
// the order routes.Middleware puts them, with the log discarded.
func projectMiddleware(m *metrics.HTTP) []gin.HandlerFunc {
	discard := slog.New(slog.DiscardHandler)
	return []gin.HandlerFunc{middleware.Metrics(m), middleware.Recovery(discard, m)}
}

// newFullStack builds the engine as the service does, with LOG_LEVEL=warn,
// which turns the access log off.
func newFullStack(reg *prometheus.Registry) (*gin.Engine, error) {
	m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{})
	if err != nil {
		return nil, err
	}
	return routes.New(routes.Deps{
		Logger:       slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})), //nolint:sloglint // the service's own handler, as LOG_LEVEL=warn configures it
		Metrics:      m,
		Items:        controllers.NewMemoryItems(),
		Ready:        func() bool { return true },
		MaxBodyBytes: 1 << 20,
	})
}

// withDefaultRegisterer runs f with prometheus.DefaultRegisterer set to reg,
// for the libraries that register only on the default registry. It is why
// those stacks are built once per process.
func withDefaultRegisterer(reg prometheus.Registerer, f func()) {
	saved := prometheus.DefaultRegisterer
	prometheus.DefaultRegisterer = reg
	defer func() { prometheus.DefaultRegisterer = saved }()
	f()
}

var (
	stacksOnce sync.Once
	stacks     []*Stack
	stacksErr  error
)

// Stacks returns every stack, built once per process: two of the libraries
// keep process-wide state and cannot be built twice.
func Stacks() ([]*Stack, error) {
	stacksOnce.Do(func() { stacks, stacksErr = buildStacks() })
	return stacks, stacksErr
}

func buildStacks() ([]*Stack, error) {
	gin.SetMode(gin.ReleaseMode)
	var out []*Stack
	for _, d := range defs {
		reg := prometheus.NewRegistry()
		e, err := d.build(reg)
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", d.name, err)
		}
		AddRoutes(e)
		s := &Stack{Name: d.name, Handler: e, UnknownPathLabels: -1, ParamPathLabels: -1}
		if d.routeLabel != "" {
			if err := countLabels(s, reg, d.routeLabel); err != nil {
				return nil, fmt.Errorf("counting labels of %s: %w", d.name, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// countLabels sets s.UnknownPathLabels and s.ParamPathLabels by sending
// s.Handler first UnknownPaths distinct unmatched paths, then as many
// distinct ids on /users/:id.
func countLabels(s *Stack, reg prometheus.Gatherer, label string) error {
	send(s.Handler, "/unknown/%d")
	n, err := CountLabelValues(reg, label)
	if err != nil {
		return err
	}
	send(s.Handler, "/users/%d")
	m, err := CountLabelValues(reg, label)
	if err != nil {
		return err
	}
	s.UnknownPathLabels, s.ParamPathLabels = n, m-n
	return nil
}

// send serves UnknownPaths GET requests to the paths that format makes of
// 0, 1, 2...
func send(h http.Handler, format string) {
	w := NewDiscardWriter()
	for i := range UnknownPaths {
		h.ServeHTTP(w, httptest.NewRequestWithContext(context.Background(), http.MethodGet, fmt.Sprintf(format, i), nil))
	}
}

// CountLabelValues returns the number of distinct values of label across
// every series that g gathers.
func CountLabelValues(g prometheus.Gatherer, label string) (int, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	seen := make(map[string]struct{})
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					seen[lp.GetValue()] = struct{}{}
				}
			}
		}
	}
	return len(seen), nil
}
