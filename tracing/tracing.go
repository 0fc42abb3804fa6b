// Package tracing builds the service's OpenTelemetry tracing: a tracer
// provider that exports spans over OTLP/HTTP through a bounded queue, and the
// W3C Trace Context propagator. Nothing is registered globally: the caller
// passes the tracer and the propagator down, like the metrics registry.
package tracing

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
)

// InstrumentationName names the tracer of the service's server spans.
const InstrumentationName = "github.com/ginstarter/ginstarter/middleware"

// Tracing is the tracing of one service. Its zero value, and the value New
// returns when no endpoint is configured, traces nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider // nil when tracing is off
}

// New builds the tracing that cfg describes and registers the export
// queue's metrics on reg. Exports outlive ctx's cancellation: they stop at
// Shutdown. With no endpoint configured it returns a Tracing
// that is off: Tracer returns nil and nothing is registered. service is
// the service.name of every span unless OTEL_SERVICE_NAME sets one.
func New(ctx context.Context, cfg config.Tracing, service string, build buildinfo.Info, reg prometheus.Registerer, logger *slog.Logger) (*Tracing, error) {
	if !cfg.Enabled() {
		return &Tracing{}, nil
	}
	exporter, err := otlptracehttp.New(ctx, exporterOptions(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("creating the OTLP trace exporter: %w", err)
	}
	q, err := newQueue(ctx, exporter, queueOptions{
		size:    cfg.QueueSize,
		delay:   cfg.ScheduleDelay,
		timeout: cfg.ExportTimeout,
	}, reg, logger)
	if err != nil {
		return nil, err
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(newResource(serviceName(cfg, service), build, cfg.Resource)),
		sdktrace.WithSampler(newSampler(cfg.Sampler, cfg.SamplerRatio)),
		sdktrace.WithSpanProcessor(q),
	)
	return &Tracing{provider: provider}, nil
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t.provider != nil }

// Tracer returns the tracer of the service's server spans, or nil when
// tracing is off.
func (t *Tracing) Tracer() trace.Tracer {
	if t.provider == nil {
		return nil
	}
	return t.provider.Tracer(InstrumentationName)
}

// Propagator returns the propagator of incoming and outgoing requests: W3C
// traceparent and tracestate, and W3C baggage.
func (t *Tracing) Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Shutdown exports the spans that have ended and stops the exporter,
// waiting for them at most until ctx is done. Spans that end afterwards are
// dropped. It may be called more than once.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flushing spans: %w", err)
	}
	return nil
}

// exporterOptions sets every option of the exporter that it would otherwise
// read from the process environment, so that the configuration comes from
// config alone.
func exporterOptions(cfg config.Tracing) []otlptracehttp.Option {
	headers := maps.Clone(cfg.Headers)
	if headers == nil {
		headers = map[string]string{}
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(cfg.Endpoint),
		otlptracehttp.WithHeaders(headers),
		otlptracehttp.WithTimeout(cfg.ExportTimeout),
		otlptracehttp.WithCompression(otlptracehttp.NoCompression),
		// Retries stop when one export has taken OTEL_EXPORTER_OTLP_TIMEOUT,
		// so that a failing collector holds the queue for no longer.
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled:         true,
			InitialInterval: cfg.ExportTimeout / 20,
			MaxInterval:     cfg.ExportTimeout / 4,
			MaxElapsedTime:  cfg.ExportTimeout,
		}),
	}
	if strings.HasPrefix(cfg.Endpoint, "https://") {
		// The system's roots; the exporter would otherwise read
		// certificate files named in the environment.
		opts = append(opts, otlptracehttp.WithTLSClientConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return opts
}

// serviceName picks the service.name as the specification orders:
// OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, then
// the default.
func serviceName(cfg config.Tracing, byDefault string) string {
	if cfg.ServiceName != "" {
		return cfg.ServiceName
	}
	if v := cfg.Resource[string(semconv.ServiceNameKey)]; v != "" {
		return v
	}
	return byDefault
}

// newResource describes the service: service.name and service.version, then
// the other attributes of OTEL_RESOURCE_ATTRIBUTES, in key order.
func newResource(service string, build buildinfo.Info, extra map[string]string) *resource.Resource {
	attrs := []attribute.KeyValue{semconv.ServiceVersion(build.Version)}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if k != string(semconv.ServiceNameKey) {
			attrs = append(attrs, attribute.String(k, extra[k]))
		}
	}
	attrs = append(attrs, semconv.ServiceName(service))
	return resource.NewWithAttributes(semconv.SchemaURL, attrs...)
}

// newSampler returns the sampler that OTEL_TRACES_SAMPLER names.
func newSampler(name string, ratio float64) sdktrace.Sampler {
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	default: // parentbased_always_on
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}
