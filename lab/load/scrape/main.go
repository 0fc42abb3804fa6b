// Command scrape measures what one /metrics scrape costs once the service's
// request metrics hold many series: it builds the project's own pieces
// in-process (metrics.New on a fresh registry, middleware.Metrics and
// middleware.Recovery on a gin engine), registers -routes route templates
// for each of the nine standard methods, sends one request per route,
// method and status so that every combination has a series, and then times
// scrapes of metrics.Handler. A registry with no request recorded yet is the
// baseline, measured in the same run.
//
// Usage:
//
//	scrape -routes 100 -scrapes 20
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// methods are the nine standard methods, each of which gets its own series.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
	http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch,
}

// statuses are the answers driven on every route and method; 500 comes from
// a panic, so that Recovery and the panic counter are exercised as well.
var statuses = []int{200, 201, 204, 400, 404, 500}

// formats are the scrapes measured: what a plain curl gets, and what
// Prometheus asks for (OpenMetrics, gzip).
var formats = []struct {
	name, accept string
	gzip         bool
}{
	{"text 0.0.4", "text/plain;version=0.0.4", false},
	{"text 0.0.4, gzip", "text/plain;version=0.0.4", true},
	{"OpenMetrics 1.0.0, gzip", "application/openmetrics-text;version=1.0.0", true},
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("scrape", flag.ContinueOnError)
	routes := fs.Int("routes", 100, "route templates, each registered for the nine standard methods")
	scrapes := fs.Int("scrapes", 20, "timed scrapes per format (the median is reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)

	base, err := newRegistry()
	if err != nil {
		return err
	}
	loaded, err := newRegistry()
	if err != nil {
		return err
	}
	requests, err := drive(newEngine(loaded.metrics, *routes), *routes)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "routes: %d x %d methods x %d statuses, %d requests sent in-process\n\n",
		*routes, len(methods), len(statuses), requests)
	fmt.Fprintln(out, "| registry | format | samples (series) | median ms | min ms | bytes | ratio to baseline (time, bytes) |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|---|")
	for _, f := range formats {
		b, err := measure(base.handler, f.accept, f.gzip, *scrapes)
		if err != nil {
			return err
		}
		l, err := measure(loaded.handler, f.accept, f.gzip, *scrapes)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| baseline (no request yet) | %s | %d | %.2f | %.2f | %d | 1.0x, 1.0x |\n",
			f.name, b.samples, ms(b.median), ms(b.min), b.bytes)
		fmt.Fprintf(out, "| %d routes, all methods and statuses | %s | %d | %.2f | %.2f | %d | %.0fx, %.0fx |\n",
			*routes, f.name, l.samples, ms(l.median), ms(l.min), l.bytes,
			float64(l.median)/float64(b.median), float64(l.bytes)/float64(b.bytes))
	}
	return nil
}

// registry is a fresh Prometheus registry with the service's collectors
// (metrics.New) and its /metrics handler.
type registry struct {
	metrics *metrics.HTTP
	handler http.Handler
}

func newRegistry() (*registry, error) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.New("load", "scrape"), metrics.Options{})
	if err != nil {
		return nil, err
	}
	return &registry{metrics: m, handler: metrics.Handler(reg, reg)}, nil
}

// newEngine returns a gin engine with the service's metrics and recovery
// middleware and routes route templates for each standard method. The
// handler answers with the status named by the s query parameter.
func newEngine(m *metrics.HTTP, routes int) *gin.Engine {
	logger := slog.New(slog.DiscardHandler) // the forced panics would flood the output
	e := gin.New()
	e.Use(middleware.Metrics(m), middleware.Recovery(logger, m))
	for i := range routes {
		for _, method := range methods {
			e.Handle(method, fmt.Sprintf("/v1/res%03d/:id", i), answer)
		}
	}
	return e
}

func answer(c *gin.Context) {
	status, _ := strconv.Atoi(c.Query("s"))
	switch status {
	case http.StatusInternalServerError:
		panic("load/scrape: forced 500")
	case http.StatusNoContent:
		c.Status(status)
	default:
		c.JSON(status, gin.H{"status": status})
	}
}

// drive sends one request per route, method and status, plus one unmatched
// request per method, and checks every answer.
func drive(e *gin.Engine, routes int) (int, error) {
	n := 0
	for i := range routes {
		for _, method := range methods {
			for _, status := range statuses {
				target := fmt.Sprintf("/v1/res%03d/x?s=%d", i, status)
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), method, target, nil))
				if rec.Code != status {
					return n, fmt.Errorf("%s %s: status %d, want %d", method, target, rec.Code, status)
				}
				n++
			}
		}
	}
	for _, method := range methods {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), method, "/unknown", nil))
		n++
	}
	return n, nil
}

// result is what the scrapes of one handler and format measured.
type result struct {
	median, min time.Duration
	bytes       int // body size as sent: compressed when gzip was asked for
	samples     int // sample lines in the exposition, one per time series
}

// measure times scrapes of h after two untimed ones. The size and the
// sample count are those of the last scrape.
func measure(h http.Handler, accept string, gz bool, scrapes int) (result, error) {
	var r result
	times := make([]time.Duration, 0, scrapes)
	var rec *httptest.ResponseRecorder
	for i := range scrapes + 2 {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", accept)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec = httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK {
			return r, fmt.Errorf("GET /metrics: status %d", rec.Code)
		}
		if got := rec.Header().Get("Content-Encoding"); gz != (got == "gzip") {
			return r, fmt.Errorf("GET /metrics with gzip=%v: Content-Encoding %q", gz, got)
		}
		if i >= 2 {
			times = append(times, d)
		}
	}
	slices.Sort(times)
	r.median, r.min = times[len(times)/2], times[0]
	r.bytes = rec.Body.Len()
	body := rec.Body.Bytes()
	if gz {
		var err error
		if body, err = gunzip(body); err != nil {
			return r, err
		}
	}
	r.samples = countSamples(body)
	return r, nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("reading the gzip scrape: %w", err)
	}
	return io.ReadAll(zr)
}

// countSamples counts the lines of an exposition that are not comments.
func countSamples(body []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
