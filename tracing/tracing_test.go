package tracing

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/config"
)

func loadTracing(tb testing.TB, vars map[string]string) config.Tracing {
	tb.Helper()
	c, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		tb.Fatal(err)
	}
	return c.Tracing
}

func TestNewOffWithoutEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := New(context.Background(), loadTracing(t, nil), "svc", buildinfo.Info{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() || tr.Tracer() != nil {
		t.Error("tracing is on without an endpoint")
	}
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Errorf("%d metric families registered with tracing off", len(mfs))
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of tracing that is off: %v", err)
	}
}

func TestNewOnRegistersItsMetricsAndShutsDownTwice(t *testing.T) {
	cfg := loadTracing(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})
	reg := prometheus.NewRegistry()
	tr, err := New(context.Background(), cfg, "svc", buildinfo.Info{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Enabled() || tr.Tracer() == nil {
		t.Fatal("tracing is off with an endpoint")
	}
	// A second tracing on the same registry is refused, not a panic.
	if _, err := New(context.Background(), cfg, "svc", buildinfo.Info{}, reg, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "registering tracing metrics") {
		t.Errorf("second New on one registry: %v, want a registration error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 2 {
		if err := tr.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown #%d: %v", i+1, err)
		}
	}
}

func TestServiceName(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"the binary's name by default", nil, "ginstarter"},
		{"from the resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=a"}, "from-attrs"},
		{"OTEL_SERVICE_NAME wins", map[string]string{
			"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs",
			"OTEL_SERVICE_NAME":        "from-name",
		}, "from-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadTracing(t, tt.vars)
			res := newResource(serviceName(cfg, "ginstarter"), buildinfo.Info{Version: "v1.2.3"}, cfg.Resource)
			got := map[string]string{}
			for _, kv := range res.Attributes() {
				got[string(kv.Key)] = kv.Value.String()
			}
			if got[string(semconv.ServiceNameKey)] != tt.want {
				t.Errorf("service.name = %q, want %q", got[string(semconv.ServiceNameKey)], tt.want)
			}
			if got[string(semconv.ServiceVersionKey)] != "v1.2.3" {
				t.Errorf("service.version = %q, want v1.2.3", got[string(semconv.ServiceVersionKey)])
			}
			if tt.vars["OTEL_RESOURCE_ATTRIBUTES"] != "" && strings.Contains(tt.vars["OTEL_RESOURCE_ATTRIBUTES"], "team") && got["team"] != "a" {
				t.Errorf("team = %q, want a", got["team"])
			}
		})
	}
}

func TestSamplers(t *testing.T) {
	want := map[string]string{
		"parentbased_always_on":    "ParentBased{root:AlwaysOnSampler",
		"parentbased_always_off":   "ParentBased{root:AlwaysOffSampler",
		"parentbased_traceidratio": "ParentBased{root:TraceIDRatioBased{0.25}",
		"always_on":                "AlwaysOnSampler",
		"always_off":               "AlwaysOffSampler",
		"traceidratio":             "TraceIDRatioBased{0.25}",
	}
	for _, name := range config.Samplers {
		if got := newSampler(name, 0.25).Description(); !strings.HasPrefix(got, want[name]) {
			t.Errorf("%s: sampler %q, want %q", name, got, want[name])
		}
	}
}
