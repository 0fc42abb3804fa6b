package config_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/config"
)

// env returns a getenv that answers from vars and "" for everything else.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// defaults is the Config that Load must return when nothing is set.
func defaults() config.Config {
	return config.Config{
		HTTPAddr:           ":8080",
		AdminAddr:          ":9090",
		LogLevel:           slog.LevelInfo,
		LogFormat:          "json",
		LogFlushInterval:   100 * time.Millisecond,
		GinMode:            "release",
		ShutdownDrainDelay: 5 * time.Second,
		ShutdownTimeout:    20 * time.Second,
		ReadHeaderTimeout:  5 * time.Second,
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       60 * time.Second,
		IdleTimeout:        120 * time.Second,
		MaxBodyBytes:       1 << 20,
		MaxHeaderBytes:     64 << 10,
		Tracing: config.Tracing{
			ExportTimeout: 10 * time.Second,
			Sampler:       "parentbased_always_on",
			SamplerRatio:  1,
			QueueSize:     2048,
			ScheduleDelay: 5 * time.Second,
		},
	}
}

// mustLoad calls Load and fails the test on an error.
func mustLoad(tb testing.TB, vars map[string]string) config.Config {
	tb.Helper()
	c, err := config.Load(env(vars))
	if err != nil {
		tb.Fatalf("Load(%v): unexpected error:\n%v", vars, err)
	}
	return c
}

// loadErr calls Load, fails the test unless it returns an error, and returns
// the error's text.
func loadErr(tb testing.TB, vars map[string]string) string {
	tb.Helper()
	c, err := config.Load(env(vars))
	if err == nil {
		tb.Fatalf("Load(%v) = %+v, want an error", vars, c)
	}
	if !reflect.DeepEqual(c, config.Config{}) {
		tb.Errorf("Load(%v) returned %+v with its error, want the zero Config", vars, c)
	}
	return err.Error()
}

func TestLoadDefaults(t *testing.T) {
	got := mustLoad(t, nil)
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load with nothing set:\n got %+v\nwant %+v", got, want)
	}
	if got.TLS() {
		t.Error("TLS() = true with no certificate configured")
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name, value string
		want        func(c *config.Config) // applied to defaults()
	}{
		{"HTTP_ADDR", "127.0.0.1:8081", func(c *config.Config) { c.HTTPAddr = "127.0.0.1:8081" }},
		{"HTTP_ADDR", "[::1]:65535", func(c *config.Config) { c.HTTPAddr = "[::1]:65535" }},
		{"HTTP_ADDR", "localhost:0", func(c *config.Config) { c.HTTPAddr = "localhost:0" }},
		{"ADMIN_ADDR", "127.0.0.1:9091", func(c *config.Config) { c.AdminAddr = "127.0.0.1:9091" }},
		{"LOG_LEVEL", "debug", func(c *config.Config) { c.LogLevel = slog.LevelDebug }},
		{"LOG_LEVEL", "WARN", func(c *config.Config) { c.LogLevel = slog.LevelWarn }},
		{"LOG_LEVEL", "error", func(c *config.Config) { c.LogLevel = slog.LevelError }},
		{"LOG_FORMAT", "text", func(c *config.Config) { c.LogFormat = "text" }},
		{"LOG_FORMAT", "TEXT", func(c *config.Config) { c.LogFormat = "text" }},
		{"LOG_FLUSH_INTERVAL", "0", func(c *config.Config) { c.LogFlushInterval = 0 }},
		{"LOG_FLUSH_INTERVAL", "1s", func(c *config.Config) { c.LogFlushInterval = time.Second }},
		{"GIN_MODE", "debug", func(c *config.Config) { c.GinMode = "debug" }},
		{"GIN_MODE", "test", func(c *config.Config) { c.GinMode = "test" }},
		{"SHUTDOWN_DRAIN_DELAY", "0", func(c *config.Config) { c.ShutdownDrainDelay = 0 }},
		{"SHUTDOWN_DRAIN_DELAY", "1500ms", func(c *config.Config) { c.ShutdownDrainDelay = 1500 * time.Millisecond }},
		{"SHUTDOWN_TIMEOUT", "1m", func(c *config.Config) { c.ShutdownTimeout = time.Minute }},
		{"READ_HEADER_TIMEOUT", "2s", func(c *config.Config) { c.ReadHeaderTimeout = 2 * time.Second }},
		{"READ_TIMEOUT", "45s", func(c *config.Config) { c.ReadTimeout = 45 * time.Second }},
		{"WRITE_TIMEOUT", "1m30s", func(c *config.Config) { c.WriteTimeout = 90 * time.Second }},
		{"IDLE_TIMEOUT", "1h", func(c *config.Config) { c.IdleTimeout = time.Hour }},
		{"MAX_BODY_BYTES", "1", func(c *config.Config) { c.MaxBodyBytes = 1 }},
		{"MAX_BODY_BYTES", "1099511627776", func(c *config.Config) { c.MaxBodyBytes = 1 << 40 }},
		{"MAX_HEADER_BYTES", "4096", func(c *config.Config) { c.MaxHeaderBytes = 4096 }},
		{"TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.1,::1,fd00::/8", func(c *config.Config) {
			c.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.1", "::1", "fd00::/8"}
		}},
		{"DEMO_ENDPOINTS", "true", func(c *config.Config) { c.DemoEndpoints = true }},
		{"DEMO_ENDPOINTS", "1", func(c *config.Config) { c.DemoEndpoints = true }},
		{"DEMO_ENDPOINTS", "FALSE", func(*config.Config) {}},
		{"METRICS_NATIVE_HISTOGRAMS", "true", func(c *config.Config) { c.NativeHistograms = true }},
		{"MAX_IN_FLIGHT", "1", func(c *config.Config) { c.MaxInFlight = 1 }},
		{"MAX_IN_FLIGHT", "1000000", func(c *config.Config) { c.MaxInFlight = 1_000_000 }},
		{"MAX_IN_FLIGHT", "0", func(*config.Config) {}},
		{"PPROF_ENABLED", "true", func(c *config.Config) { c.Pprof = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			got := mustLoad(t, map[string]string{tt.name: tt.value})
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name, value string
		alsoInMsg   string // a further piece of text the message must hold
	}{
		{"HTTP_ADDR", "8080", "host:port"},
		{"HTTP_ADDR", ":70000", "port"},
		{"HTTP_ADDR", ":-1", "port"},
		{"HTTP_ADDR", "localhost:http", "port"},
		{"HTTP_ADDR", "localhost:", "port"},
		{"ADMIN_ADDR", "127.0.0.1:70000", "port"},
		{"ADMIN_ADDR", "admin", "host:port"},
		{"LOG_LEVEL", "loud", "loud"},
		{"LOG_FORMAT", "xml", "xml"},
		{"LOG_FLUSH_INTERVAL", "-1ms", "negative"},
		{"LOG_FLUSH_INTERVAL", "100", "duration"},
		{"GIN_MODE", "prod", "prod"},
		{"SHUTDOWN_DRAIN_DELAY", "soon", "duration"},
		{"SHUTDOWN_DRAIN_DELAY", "-1s", "negative"},
		{"SHUTDOWN_TIMEOUT", "abc", "duration"},
		{"SHUTDOWN_TIMEOUT", "20", "duration"},
		{"SHUTDOWN_TIMEOUT", "0", "positive"},
		{"SHUTDOWN_TIMEOUT", "-5s", "positive"},
		{"READ_HEADER_TIMEOUT", "0s", "positive"},
		{"READ_TIMEOUT", "-1ms", "positive"},
		{"WRITE_TIMEOUT", "10 s", "duration"},
		{"IDLE_TIMEOUT", "0", "positive"},
		{"MAX_BODY_BYTES", "0", "1 to"},
		{"MAX_BODY_BYTES", "-1", "1 to"},
		{"MAX_BODY_BYTES", "abc", "1 to"},
		{"MAX_BODY_BYTES", "1.5", "1 to"},
		{"MAX_BODY_BYTES", "1099511627777", "1 to"},
		{"MAX_HEADER_BYTES", "0", "1 to"},
		{"MAX_HEADER_BYTES", "67108865", "1 to"},
		{"TRUSTED_PROXIES", "10.0.0.1,not-an-ip", `"not-an-ip"`},
		{"TRUSTED_PROXIES", "10.0.0.0/33", `"10.0.0.0/33"`},
		{"DEMO_ENDPOINTS", "maybe", "true or false"},
		{"METRICS_NATIVE_HISTOGRAMS", "yes", "true or false"},
		{"MAX_IN_FLIGHT", "-1", "0 to 1000000"},
		{"MAX_IN_FLIGHT", "many", "0 to 1000000"},
		{"MAX_IN_FLIGHT", "2.5", "0 to 1000000"},
		{"MAX_IN_FLIGHT", "1000001", "0 to 1000000"},
		{"PPROF_ENABLED", "on", "true or false"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "http://"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://collector:4317", "http://"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://", "with a host"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces?x=1", "without a query"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "api-key", "key=value"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "=v", "key=value"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "k=%zz", `"k"`},
		{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "milliseconds"},
		{"OTEL_EXPORTER_OTLP_TIMEOUT", "0", "milliseconds"},
		{"OTEL_RESOURCE_ATTRIBUTES", "a=1,b", "key=value"},
		{"OTEL_TRACES_SAMPLER", "sometimes", "parentbased_always_on"},
		{"OTEL_TRACES_SAMPLER_ARG", "1.5", "0 to 1"},
		{"OTEL_TRACES_SAMPLER_ARG", "NaN", "0 to 1"},
		{"OTEL_TRACES_SAMPLER_ARG", "half", "0 to 1"},
		{"OTEL_BSP_MAX_QUEUE_SIZE", "0", "1 to"},
		{"OTEL_BSP_MAX_QUEUE_SIZE", "1048577", "1 to"},
		{"OTEL_BSP_SCHEDULE_DELAY", "5s", "milliseconds"},
		{"OTEL_BSP_SCHEDULE_DELAY", "86400001", "milliseconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			msg := loadErr(t, map[string]string{tt.name: tt.value})
			for _, want := range []string{tt.name, tt.alsoInMsg} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			if n := strings.Count(msg, "\n") + 1; n != 1 {
				t.Errorf("one bad variable gave %d messages:\n%s", n, msg)
			}
		})
	}
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	bad := map[string]string{
		"HTTP_ADDR":                   "nowhere",
		"LOG_LEVEL":                   "loud",
		"SHUTDOWN_TIMEOUT":            "-1s",
		"MAX_BODY_BYTES":              "0",
		"TRUSTED_PROXIES":             "bogus",
		"DEMO_ENDPOINTS":              "maybe",
		"TLS_CERT_FILE":               "cert.pem",
		"MAX_IN_FLIGHT":               "-3",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "nowhere",
		"OTEL_TRACES_SAMPLER_ARG":     "2",
	}
	msg := loadErr(t, bad)
	for name := range bad {
		if !strings.Contains(msg, name) {
			t.Errorf("error does not mention %s:\n%s", name, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != len(bad) {
		t.Errorf("got %d messages for %d bad variables:\n%s", n, len(bad), msg)
	}
}

func TestLoadCombinations(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr []string // names the error must mention; nil means no error
	}{
		{"cert without key", map[string]string{"TLS_CERT_FILE": "cert.pem"}, []string{"TLS_CERT_FILE", "TLS_KEY_FILE"}},
		{"key without cert", map[string]string{"TLS_KEY_FILE": "key.pem"}, []string{"TLS_CERT_FILE", "TLS_KEY_FILE"}},
		{"cert and key", map[string]string{"TLS_CERT_FILE": "cert.pem", "TLS_KEY_FILE": "key.pem"}, nil},
		{"public on the admin default", map[string]string{"HTTP_ADDR": ":9090"}, []string{"HTTP_ADDR", "ADMIN_ADDR"}},
		{"same explicit address", map[string]string{"HTTP_ADDR": "127.0.0.1:8000", "ADMIN_ADDR": "127.0.0.1:8000"}, []string{"HTTP_ADDR", "ADMIN_ADDR"}},
		{"both on port 0", map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"}, nil},
		{"a ratio without a ratio sampler", map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0.1"}, []string{"OTEL_TRACES_SAMPLER_ARG", "OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}},
		{"a ratio of 1 with any sampler", map[string]string{"OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_SAMPLER_ARG": "1"}, nil},
		{"a ratio with a ratio sampler", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr == nil {
				c := mustLoad(t, tt.vars)
				if _, ok := tt.vars["TLS_CERT_FILE"]; ok && (!c.TLS() || c.TLSCertFile != "cert.pem" || c.TLSKeyFile != "key.pem") {
					t.Errorf("TLS() = %v, cert %q, key %q; want HTTPS with cert.pem and key.pem", c.TLS(), c.TLSCertFile, c.TLSKeyFile)
				}
				return
			}
			msg := loadErr(t, tt.vars)
			for _, want := range tt.wantErr {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %s", msg, want)
				}
			}
		})
	}
}

func TestLoadTrimsSpaces(t *testing.T) {
	got := mustLoad(t, map[string]string{
		"HTTP_ADDR":        "  127.0.0.1:8081 ",
		"LOG_FORMAT":       "\ttext\n",
		"SHUTDOWN_TIMEOUT": " 7s ",
		"MAX_BODY_BYTES":   " 2048 ",
		"TRUSTED_PROXIES":  " 10.0.0.1 , 10.1.0.0/16 ",
		"DEMO_ENDPOINTS":   " true ",
		"LOG_LEVEL":        "   ", // only spaces: the default
	})
	want := defaults()
	want.HTTPAddr = "127.0.0.1:8081"
	want.LogFormat = "text"
	want.ShutdownTimeout = 7 * time.Second
	want.MaxBodyBytes = 2048
	want.TrustedProxies = []string{"10.0.0.1", "10.1.0.0/16"}
	want.DemoEndpoints = true
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

func TestVarsAreDocumentedAndDefaultsParse(t *testing.T) {
	seen := make(map[string]bool)
	for _, v := range config.Vars() {
		t.Run(v.Name, func(t *testing.T) {
			if v.Name == "" || strings.TrimSpace(v.Help) == "" {
				t.Fatalf("Var %+v: want a Name and a Help text", v)
			}
			if seen[v.Name] {
				t.Errorf("%s is listed twice", v.Name)
			}
			seen[v.Name] = true
			got := mustLoad(t, map[string]string{v.Name: v.Default})
			if !reflect.DeepEqual(got, defaults()) {
				t.Errorf("%s=%q (its default) gave %+v, want the defaults %+v", v.Name, v.Default, got, defaults())
			}
		})
	}
	if len(seen) == 0 {
		t.Fatal("Vars() is empty")
	}
}
