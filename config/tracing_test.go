package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/config"
)

func TestTracingIsOffByDefault(t *testing.T) {
	if c := mustLoad(t, nil); c.Tracing.Enabled() {
		t.Errorf("tracing is on with nothing set: %+v", c.Tracing)
	}
}

func TestLoadTracing(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want func(t *config.Tracing) // applied to the defaults
	}{
		{"base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			func(t *config.Tracing) { t.Endpoint = "http://collector:4318/v1/traces" }},
		{"base endpoint with a path and a slash", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example/otlp/"},
			func(t *config.Tracing) { t.Endpoint = "https://collector.example/otlp/v1/traces" }},
		{"traces endpoint as given", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/custom"},
			func(t *config.Tracing) { t.Endpoint = "http://127.0.0.1:4318/custom" }},
		{"traces endpoint wins", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://base:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/v1/traces",
		}, func(t *config.Tracing) { t.Endpoint = "http://traces:4318/v1/traces" }},
		{"headers, percent-decoded", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr%2Ct, x-tenant = a b"},
			func(t *config.Tracing) { t.Headers = map[string]string{"api-key": "s3cr,t", "x-tenant": "a b"} }},
		{"timeout", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"},
			func(t *config.Tracing) { t.ExportTimeout = 2500 * time.Millisecond }},
		{"service name", map[string]string{"OTEL_SERVICE_NAME": "checkout"},
			func(t *config.Tracing) { t.ServiceName = "checkout" }},
		{"resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=prod,k8s.pod.name=api-1"},
			func(t *config.Tracing) {
				t.Resource = map[string]string{"deployment.environment.name": "prod", "k8s.pod.name": "api-1"}
			}},
		{"sampler in capitals", map[string]string{"OTEL_TRACES_SAMPLER": "ParentBased_TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			func(t *config.Tracing) { t.Sampler = "parentbased_traceidratio"; t.SamplerRatio = 0.25 }},
		{"ratio 0", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
			func(t *config.Tracing) { t.Sampler = "traceidratio"; t.SamplerRatio = 0 }},
		{"queue and delay", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "1", "OTEL_BSP_SCHEDULE_DELAY": "100"},
			func(t *config.Tracing) { t.QueueSize = 1; t.ScheduleDelay = 100 * time.Millisecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustLoad(t, tt.vars)
			want := defaults()
			tt.want(&want.Tracing)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got.Tracing, want.Tracing)
			}
			if got.Tracing.Enabled() != (want.Tracing.Endpoint != "") {
				t.Errorf("Enabled() = %v with endpoint %q", got.Tracing.Enabled(), got.Tracing.Endpoint)
			}
		})
	}
}

// TestLoadHidesHeaderValues: the headers may carry credentials, so a bad
// value is named but never printed.
func TestLoadHidesHeaderValues(t *testing.T) {
	for _, v := range []string{"authorization=Bearer%zzs3cret", "s3cret-token"} {
		msg := loadErr(t, map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": v})
		if !strings.Contains(msg, "OTEL_EXPORTER_OTLP_HEADERS") || strings.Contains(msg, "s3cret") {
			t.Errorf("error for %q: %q; want the variable named and the value not shown", v, msg)
		}
	}
	// The control: another variable's bad value is shown.
	if msg := loadErr(t, map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "s3cret"}); !strings.Contains(msg, "s3cret") {
		t.Errorf("error %q does not show the value of OTEL_RESOURCE_ATTRIBUTES", msg)
	}
}
