// Package config builds the service's typed configuration from environment
// variables. Every variable has a working default; Load reports every bad
// value at once, each naming its variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of the service.
type Config struct {
	HTTPAddr           string        // HTTP_ADDR: public listener
	AdminAddr          string        // ADMIN_ADDR: /metrics and /healthz listener
	LogLevel           slog.Level    // LOG_LEVEL
	LogFormat          string        // LOG_FORMAT: json or text
	LogFlushInterval   time.Duration // LOG_FLUSH_INTERVAL: 0 writes each line at once
	GinMode            string        // GIN_MODE: release, debug or test
	ShutdownDrainDelay time.Duration // SHUTDOWN_DRAIN_DELAY
	ShutdownTimeout    time.Duration // SHUTDOWN_TIMEOUT
	ReadHeaderTimeout  time.Duration // READ_HEADER_TIMEOUT
	ReadTimeout        time.Duration // READ_TIMEOUT
	WriteTimeout       time.Duration // WRITE_TIMEOUT
	IdleTimeout        time.Duration // IDLE_TIMEOUT
	MaxBodyBytes       int64         // MAX_BODY_BYTES
	MaxHeaderBytes     int           // MAX_HEADER_BYTES
	TLSCertFile        string        // TLS_CERT_FILE
	TLSKeyFile         string        // TLS_KEY_FILE
	TrustedProxies     []string      // TRUSTED_PROXIES: comma-separated IPs or CIDRs
	DemoEndpoints      bool          // DEMO_ENDPOINTS
	NativeHistograms   bool          // METRICS_NATIVE_HISTOGRAMS
	MaxInFlight        int           // MAX_IN_FLIGHT: 0 turns load shedding off
	Pprof              bool          // PPROF_ENABLED: /debug/pprof/ on the admin listener
	Tracing            Tracing       // OTEL_*: OpenTelemetry tracing, off by default
}

// TLS reports whether the public listener serves HTTPS.
func (c Config) TLS() bool { return c.TLSCertFile != "" }

// Var describes one environment variable: its name, its default, one line
// on what it does, and how Load parses and checks its value into Config.
type Var struct {
	Name    string
	Default string // used when the variable is unset or empty; "" for none
	Help    string // one line, shown in .env.example and the README
	parse   func(c *Config, value string) error
}

//go:generate go run ./internal/configdoc/gen -root ..

// Vars returns every variable the service reads, in documentation order.
// It is the one place a variable is declared: Load reads the variables it
// lists, and `go generate ./...` writes .env.example and the configuration
// table of README.md from it.
func Vars() []Var {
	return append([]Var{
		{"HTTP_ADDR", ":8080", "public HTTP listener, host:port", addr(func(c *Config) *string { return &c.HTTPAddr })},
		{"ADMIN_ADDR", ":9090", "admin listener for /metrics and /healthz, host:port; keep it off the public network", addr(func(c *Config) *string { return &c.AdminAddr })},
		{"LOG_LEVEL", "info", "debug, info, warn or error", parseLevel},
		{"LOG_FORMAT", "json", "json or text", oneOf(func(c *Config) *string { return &c.LogFormat }, "json", "text")},
		{"LOG_FLUSH_INTERVAL", "100ms", "longest time an info or debug line waits in memory before it is written; warnings and errors are written at once; 0 writes every line at once", duration(func(c *Config) *time.Duration { return &c.LogFlushInterval }, true)},
		{"GIN_MODE", "release", "release, debug or test; debug prints gin's route table", oneOf(func(c *Config) *string { return &c.GinMode }, "release", "debug", "test")},
		{"SHUTDOWN_DRAIN_DELAY", "5s", "after SIGTERM: time /readyz answers 503 while requests are still served, so load balancers can stop sending", duration(func(c *Config) *time.Duration { return &c.ShutdownDrainDelay }, true)},
		{"SHUTDOWN_TIMEOUT", "20s", "after the drain delay: longest wait for requests in flight to finish", duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, false)},
		{"READ_HEADER_TIMEOUT", "5s", "longest time a client may take to send the request headers", duration(func(c *Config) *time.Duration { return &c.ReadHeaderTimeout }, false)},
		{"READ_TIMEOUT", "30s", "longest time a client may take to send the whole request", duration(func(c *Config) *time.Duration { return &c.ReadTimeout }, false)},
		{"WRITE_TIMEOUT", "60s", "longest time from the end of the request headers to the end of the response", duration(func(c *Config) *time.Duration { return &c.WriteTimeout }, false)},
		{"IDLE_TIMEOUT", "120s", "how long an idle keep-alive connection stays open", duration(func(c *Config) *time.Duration { return &c.IdleTimeout }, false)},
		{"MAX_BODY_BYTES", "1048576", "largest request body in bytes; larger bodies get 413", parseBodyBytes},
		{"MAX_HEADER_BYTES", "65536", "largest request header block in bytes; larger headers get 431", parseHeaderBytes},
		{"TLS_CERT_FILE", "", "PEM certificate; with TLS_KEY_FILE the public listener serves HTTPS", str(func(c *Config) *string { return &c.TLSCertFile })},
		{"TLS_KEY_FILE", "", "PEM private key for TLS_CERT_FILE", str(func(c *Config) *string { return &c.TLSKeyFile })},
		{"TRUSTED_PROXIES", "", "comma-separated proxy IPs or CIDRs whose X-Forwarded-For is believed; empty trusts none", parseProxies},
		{"DEMO_ENDPOINTS", "false", "serve /v1/demo/panic and /v1/demo/sleep to watch the panic counter and the in-flight gauge", boolean(func(c *Config) *bool { return &c.DemoEndpoints })},
		{"METRICS_NATIVE_HISTOGRAMS", "false", "also expose the request duration as a Prometheus native histogram", boolean(func(c *Config) *bool { return &c.NativeHistograms })},
		{"MAX_IN_FLIGHT", "0", "most requests handled at once; more get 503 with Retry-After at once (probes excepted); 0 turns load shedding off", wholeNumber(func(c *Config) *int { return &c.MaxInFlight }, 0, maxInFlightLimit)},
		{"PPROF_ENABLED", "false", "serve net/http/pprof under /debug/pprof/ on the admin listener (never on the public one)", boolean(func(c *Config) *bool { return &c.Pprof })},
	}, tracingVars()...)
}

// Load builds a Config from getenv. A variable that is unset or empty takes
// its default. The error, when not nil, joins one error per bad variable.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	for _, v := range Vars() {
		value := strings.TrimSpace(getenv(v.Name))
		if value == "" {
			value = v.Default
		}
		if err := v.parse(&c, value); err != nil {
			if errors.As(err, new(secretError)) {
				errs = append(errs, fmt.Errorf("%s (value not shown): %w", v.Name, err))
				continue
			}
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.Name, value, err))
		}
	}
	errs = append(errs, c.check()...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// check validates combinations of variables.
func (c Config) check() []error {
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE: set both for HTTPS, or neither"))
	}
	// A sampler that failed to parse is empty, and is reported already.
	if c.Tracing.SamplerRatio != 1 && c.Tracing.Sampler != "" && !strings.HasSuffix(c.Tracing.Sampler, "traceidratio") {
		errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG and OTEL_TRACES_SAMPLER: a ratio of %v is set, but %s takes none; "+
			"set OTEL_TRACES_SAMPLER=parentbased_traceidratio to sample that ratio of new traces", c.Tracing.SamplerRatio, c.Tracing.Sampler))
	}
	if c.HTTPAddr != "" && c.HTTPAddr == c.AdminAddr && !strings.HasSuffix(c.HTTPAddr, ":0") {
		errs = append(errs, fmt.Errorf("HTTP_ADDR and ADMIN_ADDR: both are %q; they must differ", c.HTTPAddr))
	}
	return errs
}

func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

func addr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			return errors.New("want host:port, such as :8080 or 127.0.0.1:8080")
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
			return errors.New("port must be a number from 0 to 65535")
		}
		*field(c) = v
		return nil
	}
}

func oneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*field(c) = a
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func duration(field func(*Config) *time.Duration, zeroOK bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("want a Go duration such as 500ms, 5s or 1m")
		}
		if d < 0 || (d == 0 && !zeroOK) {
			if zeroOK {
				return errors.New("must not be negative")
			}
			return errors.New("must be positive")
		}
		*field(c) = d
		return nil
	}
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*field(c) = b
		return nil
	}
}

// maxInFlightLimit caps MAX_IN_FLIGHT far above what one process serves, so
// that a typo with extra digits is caught.
const maxInFlightLimit = 1_000_000

func wholeNumber(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func parseLevel(c *Config, v string) error {
	levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	l, ok := levels[strings.ToLower(v)]
	if !ok {
		return errors.New("want debug, info, warn or error")
	}
	c.LogLevel = l
	return nil
}

func parseBodyBytes(c *Config, v string) error {
	n, err := positiveInt(v, 1<<40)
	c.MaxBodyBytes = n
	return err
}

func parseHeaderBytes(c *Config, v string) error {
	n, err := positiveInt(v, 64<<20)
	c.MaxHeaderBytes = int(n)
	return err
}

func positiveInt(v string, limit int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > limit {
		return 0, fmt.Errorf("want a whole number of bytes from 1 to %d", limit)
	}
	return n, nil
}

func parseProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	if v == "" {
		return nil
	}
	var bad []string
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" { // a trailing comma
			continue
		}
		if _, err := netip.ParsePrefix(p); err == nil {
			c.TrustedProxies = append(c.TrustedProxies, p)
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			c.TrustedProxies = append(c.TrustedProxies, p)
			continue
		}
		bad = append(bad, strconv.Quote(p))
	}
	if len(bad) > 0 {
		return fmt.Errorf("not an IP address or CIDR: %s", strings.Join(bad, ", "))
	}
	return nil
}
