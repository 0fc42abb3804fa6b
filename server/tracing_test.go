package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// collector is an OTLP/HTTP trace receiver on loopback that keeps the spans
// it is sent, decoded from the protobuf the exporter posts.
type collector struct {
	URL string // base endpoint: spans go to URL + "/v1/traces"

	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string // service.name of each span's resource
}

func newCollector(tb testing.TB) *collector {
	tb.Helper()
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if r.URL.Path != "/v1/traces" || err != nil {
			http.Error(w, fmt.Sprintf("path %s, body: %v", r.URL.Path, err), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					c.spans = append(c.spans, s)
					c.services = append(c.services, service)
				}
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	tb.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// received returns the names and service names of the spans received.
func (c *collector) received() (names, services []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.spans {
		names = append(names, s.GetName())
		services = append(services, c.services[i])
	}
	return names, services
}

// hungCollector accepts connections and never answers, until the test ends.
func hungCollector(tb testing.TB) string {
	tb.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	tb.Cleanup(func() { close(release); srv.Close() })
	return srv.URL
}

// closedPort returns a loopback URL on which nothing listens.
func closedPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return "http://" + addr
}

// tracesRequests are the requests each tracing test sends.
const tracesRequests = 20

func TestTracingExportsSpansOfFinishedRequestsAtShutdown(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	svc := startService(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL,
		"OTEL_SERVICE_NAME":           "items-api",
		"OTEL_BSP_SCHEDULE_DELAY":     "3600000", // nothing goes before the shutdown
	})
	c := newClient(t)
	sendRequests(t, c, svc.URL("/v1/items"), tracesRequests)
	get(t, c, svc.URL("/healthz")) // probes are not traced
	if names, _ := col.received(); len(names) != 0 {
		t.Fatalf("%d spans exported before the shutdown; the test needs them queued", len(names))
	}
	c.CloseIdleConnections()
	svc.Stop(t)
	names, services := col.received()
	if len(names) != tracesRequests {
		t.Fatalf("%d spans exported by the time Run returned, want %d: %v", len(names), tracesRequests, names)
	}
	for i := range names {
		if names[i] != "GET /v1/items" || services[i] != "items-api" {
			t.Errorf("span %d: name %q, service %q; want \"GET /v1/items\", \"items-api\"", i, names[i], services[i])
		}
	}
}

// TestTracingSpansAndSignals runs the binary: SIGTERM exports the queued
// spans; a second SIGTERM still exits at once while the collector hangs;
// SIGKILL, the control, loses them.
func TestTracingSpansAndSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		hung  bool
		end   func(t *testing.T, p *testkit.Process)
		spans int
	}{
		{"SIGTERM", false, func(t *testing.T, p *testkit.Process) {
			p.Signal(t, syscall.SIGTERM)
			if state := p.Wait(t); state.ExitCode() != 0 {
				t.Errorf("exit %v after SIGTERM, want 0", state)
			}
		}, tracesRequests},
		{"a second SIGTERM while the collector hangs", true, func(t *testing.T, p *testkit.Process) {
			p.Signal(t, syscall.SIGTERM)
			eventually(t, "the flush begun", func() (bool, string) {
				_, ok := p.Stdout.Find("shutdown: waiting for requests in flight")
				return ok, "no shutdown line"
			})
			p.Signal(t, syscall.SIGTERM)
			state := p.Wait(t)
			if ws, ok := state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Errorf("exit %v after the second SIGTERM, want killed by SIGTERM", state)
			}
		}, 0},
		{"SIGKILL loses them", false, func(t *testing.T, p *testkit.Process) {
			p.Signal(t, syscall.SIGKILL)
			p.Wait(t)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			col := newCollector(t)
			endpoint := col.URL
			if tt.hung {
				endpoint = hungCollector(t)
			}
			p := startBinary(t, "",
				"OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint,
				"OTEL_BSP_SCHEDULE_DELAY=3600000",
				"SHUTDOWN_DRAIN_DELAY=0s",
				"SHUTDOWN_TIMEOUT=60s")
			c := newClient(t)
			sendRequests(t, c, p.URL("/v1/items"), tracesRequests)
			c.CloseIdleConnections()
			tt.end(t, p)
			if names, _ := col.received(); len(names) != tt.spans {
				t.Errorf("%d spans exported, want %d", len(names), tt.spans)
			}
		})
	}
}

// heapAfterGC returns the bytes of live heap objects in this process, in
// which Run serves.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestTracingNeverHoldsRequestsForTheCollector points the service at a
// collector that never answers and at a closed port: every request is
// served, spans beyond the queue are dropped (or fail to export) and
// counted, and the heap does
// not grow with the spans. The control gives the queue room for every
// span: then nothing is dropped and the heap grows, which shows that both
// checks can fail.
func TestTracingNeverHoldsRequestsForTheCollector(t *testing.T) {
	const (
		warm     = 500
		measured = 3000
		queue    = 64
		// Each finished span the queue would keep costs well over 500
		// bytes; bound the growth far below what the measured spans would
		// take, far above the heap's own noise.
		maxGrowth = measured * 500 / 4
	)
	tests := []struct {
		name      string
		endpoint  func(testing.TB) string
		queue     int
		timeoutMs int
		wantDrops bool
	}{
		{"collector never answers", hungCollector, queue, 60000, true},
		{"closed port", closedPort, queue, 200, true},
		{"control: a queue with room for every span", hungCollector, 2 * (warm + measured), 60000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The log is capped, or its buffer would grow with the requests.
			svc := startServiceLogging(t, map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT": tt.endpoint(t),
				"OTEL_BSP_MAX_QUEUE_SIZE":     strconv.Itoa(tt.queue),
				"OTEL_BSP_SCHEDULE_DELAY":     "10",
				"OTEL_EXPORTER_OTLP_TIMEOUT":  strconv.Itoa(tt.timeoutMs),
				"SHUTDOWN_TIMEOUT":            "1s",
			}, 64<<10)
			c := newClient(t)
			sendRequests(t, c, svc.URL("/v1/items"), warm)
			before := heapAfterGC()
			sendRequests(t, c, svc.URL("/v1/items"), measured)
			growth := int64(heapAfterGC()) - int64(before)

			mfs, _ := scrape(t, c, svc.Admin)
			dropped := value(mfs, "tracing_spans_dropped_total", nil)
			failed := value(mfs, "tracing_spans_export_failed_total", nil)
			exported := value(mfs, "tracing_spans_exported_total", nil)
			queued := value(mfs, "tracing_export_queue_spans", nil)
			t.Logf("heap growth over %d requests: %d bytes; spans dropped %v, failed %v, exported %v, queued %v",
				measured, growth, dropped, failed, exported, queued)
			if exported != 0 {
				t.Errorf("tracing_spans_exported_total = %v with no collector answering", exported)
			}
			if queued > float64(tt.queue) {
				t.Errorf("tracing_export_queue_spans = %v, above the queue's size %d", queued, tt.queue)
			}
			if !tt.wantDrops {
				if dropped+failed != 0 || growth < maxGrowth {
					t.Errorf("control: %v spans lost, heap growth %d; want 0 and at least %d", dropped+failed, growth, maxGrowth)
				}
				return
			}
			if lost := dropped + failed; lost < measured-queue {
				t.Errorf("spans dropped and failed = %v, want at least %d", lost, measured-queue)
			}
			if growth > maxGrowth {
				t.Errorf("the heap grew by %d bytes over %d requests, want at most %d", growth, measured, maxGrowth)
			}
		})
	}
}

// TestTracingOffRegistersNothing checks that without an endpoint no span
// is made and the tracing metrics are absent.
func TestTracingOffRegistersNothing(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	c := newClient(t)
	sendRequests(t, c, svc.URL("/v1/items"), 1)
	mfs, _ := scrape(t, c, svc.Admin)
	for name := range mfs {
		if len(name) >= 8 && name[:8] == "tracing_" {
			t.Errorf("metric %s registered with tracing off", name)
		}
	}
	if l, ok := svc.Logs.Find("serving"); !ok || l.Get("tracing") != "false" {
		t.Errorf("serving line %v, want tracing=false", l)
	}
}
