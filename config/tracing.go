package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Tracing is the OpenTelemetry tracing configuration, read from the
// standard OTEL_* variables. Tracing is on when an OTLP endpoint is set.
type Tracing struct {
	// Endpoint is the URL that spans are posted to (OTLP over HTTP): the
	// traces endpoint as given, or the base endpoint with /v1/traces
	// appended. Empty turns tracing off.
	Endpoint      string
	Headers       map[string]string // sent with every export
	ExportTimeout time.Duration     // one export request, retries included
	ServiceName   string            // empty: the binary's name
	Resource      map[string]string // extra resource attributes
	Sampler       string            // one of Samplers
	SamplerRatio  float64           // for the traceidratio samplers
	QueueSize     int               // spans waiting for export; more are dropped
	ScheduleDelay time.Duration     // longest wait before a batch is exported
}

// Enabled reports whether spans are recorded and exported.
func (t Tracing) Enabled() bool { return t.Endpoint != "" }

// Samplers are the values of OTEL_TRACES_SAMPLER that the service accepts.
var Samplers = []string{
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
	"always_on", "always_off", "traceidratio",
}

// maxQueueSize caps OTEL_BSP_MAX_QUEUE_SIZE: the queue holds whole spans.
const maxQueueSize = 1 << 20

func tracingVars() []Var {
	return []Var{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector base URL, such as http://otel-collector:4318 (spans go to its /v1/traces); tracing is off while this and the next are empty", otlpURL("/v1/traces")},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "full OTLP/HTTP traces URL; wins over OTEL_EXPORTER_OTLP_ENDPOINT", otlpURL("")},
		{"OTEL_EXPORTER_OTLP_HEADERS", "", "headers sent with every export, key=value pairs separated by commas (values percent-encoded)", secret(keyValues(func(t *Tracing) *map[string]string { return &t.Headers }))},
		{"OTEL_EXPORTER_OTLP_TIMEOUT", "10000", "longest time in milliseconds one export may take, retries included", millis(func(t *Tracing) *time.Duration { return &t.ExportTimeout })},
		{"OTEL_SERVICE_NAME", "", "service.name of every span; empty: the binary's name", func(c *Config, v string) error { c.Tracing.ServiceName = v; return nil }},
		{"OTEL_RESOURCE_ATTRIBUTES", "", "more resource attributes, key=value pairs separated by commas, such as deployment.environment.name=prod", keyValues(func(t *Tracing) *map[string]string { return &t.Resource })},
		{"OTEL_TRACES_SAMPLER", "parentbased_always_on", "which requests are sampled: " + strings.Join(Samplers, ", "), parseSampler},
		{"OTEL_TRACES_SAMPLER_ARG", "1", "the ratio of new traces sampled, from 0 to 1, for the traceidratio samplers (another value with another sampler is an error)", parseSamplerRatio},
		{"OTEL_BSP_MAX_QUEUE_SIZE", "2048", "most finished spans waiting for export; more are dropped and counted, never waited for", wholeNumber(func(c *Config) *int { return &c.Tracing.QueueSize }, 1, maxQueueSize)},
		{"OTEL_BSP_SCHEDULE_DELAY", "5000", "longest time in milliseconds a finished span waits before its batch is exported", millis(func(t *Tracing) *time.Duration { return &t.ScheduleDelay })},
	}
}

// otlpURL parses an endpoint variable into Tracing.Endpoint, appending
// path. The traces endpoint comes after the base endpoint in Vars, so that
// it wins when both are set.
func otlpURL(path string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http:// or https:// URL with a host, such as http://otel-collector:4318")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return errors.New("want a URL without a query or fragment")
		}
		c.Tracing.Endpoint = v
		if path != "" {
			c.Tracing.Endpoint = strings.TrimSuffix(v, "/") + path
		}
		return nil
	}
}

// keyValues parses the W3C-baggage-like lists of the OTEL_* variables:
// key=value pairs separated by commas, values percent-encoded.
func keyValues(field func(*Tracing) *map[string]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(&c.Tracing) = nil
		if v == "" {
			return nil
		}
		m := make(map[string]string)
		for i, pair := range strings.Split(v, ",") {
			key, value, ok := strings.Cut(pair, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				// The pair is not quoted: it may hold a credential.
				return fmt.Errorf("want key=value pairs separated by commas; pair %d is not one", i+1)
			}
			decoded, err := url.PathUnescape(strings.TrimSpace(value))
			if err != nil {
				return fmt.Errorf("the value of %q is not percent-encoded correctly", key)
			}
			m[key] = decoded
		}
		*field(&c.Tracing) = m
		return nil
	}
}

// secretError marks an error about a value that must not be printed, such
// as headers that carry credentials.
type secretError struct{ error }

func (e secretError) Unwrap() error { return e.error }

// secret makes parse's errors secretErrors.
func secret(parse func(*Config, string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		if err := parse(c, v); err != nil {
			return secretError{err}
		}
		return nil
	}
}

// maxMillis caps the millisecond variables at a day, so that a value in
// the wrong unit is caught.
const maxMillis = 24 * 60 * 60 * 1000

func millis(field func(*Tracing) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxMillis {
			return fmt.Errorf("want a whole number of milliseconds from 1 to %d", maxMillis)
		}
		*field(&c.Tracing) = time.Duration(n) * time.Millisecond
		return nil
	}
}

func parseSampler(c *Config, v string) error {
	for _, s := range Samplers {
		if strings.EqualFold(v, s) {
			c.Tracing.Sampler = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(Samplers, ", "))
}

func parseSamplerRatio(c *Config, v string) error {
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || !(r >= 0 && r <= 1) {
		// The default's value, so that Config.check adds nothing about
		// a value reported here.
		c.Tracing.SamplerRatio = 1
		return errors.New("want a number from 0 to 1, such as 0.25")
	}
	c.Tracing.SamplerRatio = r
	return nil
}
