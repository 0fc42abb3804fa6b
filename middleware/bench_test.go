package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/logging"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
	"github.com/ginstarter/ginstarter/routes"
)

// discardWriter is an http.ResponseWriter that keeps nothing and allocates
// nothing per request, so that benchmarks measure the router and middleware.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var okBody = []byte("ok")

func okHandler(c *gin.Context) {
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(okBody)
}

func newBenchMetrics(tb testing.TB) *metrics.HTTP {
	tb.Helper()
	m, err := metrics.New(prometheus.NewRegistry(), buildinfo.Info{}, metrics.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func metricsAndRecovery(m *metrics.HTTP) []gin.HandlerFunc {
	discard := slog.New(slog.DiscardHandler)
	return []gin.HandlerFunc{middleware.Metrics(m), middleware.Recovery(discard, m)}
}

// BenchmarkMiddleware serves GET /users/:id through each middleware stack.
// Compare each sub-benchmark's ns/op with "bare", measured in the same run.
func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	stacks := []struct {
		name  string
		chain func(b *testing.B) []gin.HandlerFunc
	}{
		{"bare", func(*testing.B) []gin.HandlerFunc { return nil }},
		{"gin.Recovery", func(*testing.B) []gin.HandlerFunc {
			return []gin.HandlerFunc{gin.RecoveryWithWriter(io.Discard)}
		}},
		{"metrics+recovery", func(b *testing.B) []gin.HandlerFunc {
			return metricsAndRecovery(newBenchMetrics(b))
		}},
		// Tracing in front of metrics and recovery, with exemplars on and
		// the SDK's provider, whose finished spans go nowhere: the cost of
		// the span, not of its export.
		{"tracing+metrics+recovery/unsampled", func(b *testing.B) []gin.HandlerFunc {
			return tracingChain(b, sdktrace.NeverSample())
		}},
		{"tracing+metrics+recovery/sampled", func(b *testing.B) []gin.HandlerFunc {
			return tracingChain(b, sdktrace.AlwaysSample())
		}},
	}
	for _, s := range stacks {
		b.Run(s.name, func(b *testing.B) {
			e := gin.New()
			e.Use(s.chain(b)...)
			e.GET("/users/:id", okHandler)
			serveLoop(b, e)
		})
	}
	// The engine as the service builds it, with every middleware: with the
	// service's logger and an access line per request (JSON, buffered, to
	// io.Discard); with LOG_LEVEL=warn, which turns access lines off; and
	// with slog's own JSON handler, which encodes each line through a
	// slog.Record.
	for _, l := range []struct {
		name   string
		logger *slog.Logger
	}{
		{"log=INFO", logging.New(logging.NewOutput(io.Discard, time.Second), "json", slog.LevelInfo)},
		{"log=WARN", logging.New(logging.NewOutput(io.Discard, time.Second), "json", slog.LevelWarn)},
		{"log=INFO/slog-handler", slog.New(slog.NewJSONHandler(io.Discard, nil))}, //nolint:sloglint // the benchmark measures slog's handler
	} {
		b.Run("full-stack/"+l.name, func(b *testing.B) {
			e, err := routes.New(routes.Deps{
				Logger:       l.logger,
				Metrics:      newBenchMetrics(b),
				Items:        controllers.NewMemoryItems(),
				Ready:        func() bool { return true },
				MaxBodyBytes: 1 << 20,
			})
			if err != nil {
				b.Fatal(err)
			}
			e.GET("/users/:id", okHandler)
			serveLoop(b, e)
		})
	}
}

// tracingChain returns Tracing, with a provider that samples with sampler,
// in front of metrics (with exemplars) and recovery.
func tracingChain(tb testing.TB, sampler sdktrace.Sampler) []gin.HandlerFunc {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	m, err := metrics.New(prometheus.NewRegistry(), buildinfo.Info{}, metrics.Options{Exemplars: true})
	if err != nil {
		tb.Fatal(err)
	}
	return append([]gin.HandlerFunc{middleware.Tracing(tp.Tracer("bench"), propagation.TraceContext{})}, metricsAndRecovery(m)...)
}

func serveLoop(b *testing.B, e *gin.Engine) {
	req := httptest.NewRequest(http.MethodGet, "/users/42", nil)
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.ServeHTTP(w, req)
	}
}

// BenchmarkMonotonicClock measures one read of the monotonic clock, the way
// Metrics reads it (twice per request). It explains most of the distance
// between "bare" and "metrics+recovery" on machines with a slow clock.
func BenchmarkMonotonicClock(b *testing.B) {
	epoch := time.Now()
	var d time.Duration
	b.ReportAllocs()
	for b.Loop() {
		d += time.Since(epoch)
	}
	_ = d
}
