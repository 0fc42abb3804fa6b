package server_test

// The harness of the service's tests: the service run in-process by
// server.Run, an HTTP client for it, and readers of its /metrics. Tests that
// need a process of their own (signals, exit codes, .env) run the built
// binary through testkit.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/internal/testkit"
	"github.com/ginstarter/ginstarter/server"
)

// TestMain fails the run when a goroutine outlives the tests, and removes
// the binary that the tests built.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(testkit.WithBinary(m))
}

// waitLimit bounds every wait of the tests. It is an upper bound that fails
// a hung test, never a measure of speed.
const waitLimit = 10 * time.Second

// Names of the metrics the tests read, and the demo route that sleeps.
const (
	durationMetric = "http_server_request_duration_seconds"
	activeMetric   = "http_server_active_requests"
	panicsMetric   = "http_server_panics_total"
	shedMetric     = "http_server_shed_requests_total"
	sleepRoute     = "/v1/demo/sleep"
)

// eventually calls cond until it reports true and fails tb when that has
// not happened within waitLimit.
func eventually(tb testing.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	testkit.Until(tb, what, waitLimit, 10*time.Millisecond, cond)
}

// service is one run of server.Run in this process.
type service struct {
	HTTP, Admin string // host:port of the public and the admin listener
	Logs        *testkit.LogBuffer

	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned; read after done is closed
	once   sync.Once
}

// launchService calls server.Run in a goroutine with env over defaults that
// listen on loopback ports chosen by the kernel and shut down without
// delay, keeping only the first maxLog bytes of the log in Logs (all of it
// when maxLog is 0), for tests whose requests log far more than they read.
// It does not wait for the service to serve: see waitServing. The service
// is stopped when the test ends, if not before.
func launchService(tb testing.TB, env map[string]string, maxLog int) *service {
	tb.Helper()
	vars := map[string]string{
		"HTTP_ADDR":            "127.0.0.1:0",
		"ADMIN_ADDR":           "127.0.0.1:0",
		"SHUTDOWN_DRAIN_DELAY": "0s",
		"SHUTDOWN_TIMEOUT":     "5s",
	}
	maps.Copy(vars, env)
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{Logs: new(testkit.LogBuffer), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var stdout io.Writer = s.Logs
		if maxLog > 0 {
			stdout = &cappedWriter{w: s.Logs, max: maxLog}
		}
		s.err = server.Run(ctx, buildinfo.New("", ""), func(k string) string { return vars[k] }, stdout)
	}()
	tb.Cleanup(func() { s.Stop(tb) })
	return s
}

// startService starts the service with env (see launchService) and waits
// until it serves.
func startService(tb testing.TB, env map[string]string) *service {
	tb.Helper()
	s := launchService(tb, env, 0)
	s.waitServing(tb)
	return s
}

// startServiceLogging is startService keeping only the first maxLog bytes
// of the log.
func startServiceLogging(tb testing.TB, env map[string]string, maxLog int) *service {
	tb.Helper()
	s := launchService(tb, env, maxLog)
	s.waitServing(tb)
	return s
}

// waitServing waits until s serves and records its addresses.
func (s *service) waitServing(tb testing.TB) {
	tb.Helper()
	s.HTTP, s.Admin = testkit.WaitServing(tb, s.Logs, s.done)
}

// Stop cancels the context of Run, waits for Run to return and fails tb
// unless it returned nil. Only the first call does anything.
func (s *service) Stop(tb testing.TB) {
	tb.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case <-s.done:
			if s.err != nil {
				tb.Errorf("Run returned %v, want nil", s.err)
			}
		case <-time.After(2 * waitLimit):
			tb.Errorf("Run did not return within %v of its context being cancelled", 2*waitLimit)
		}
	})
}

// URL returns the address of path on the public listener.
func (s *service) URL(path string) string { return "http://" + s.HTTP + path }

// cappedWriter passes whole writes on to w until max bytes have gone
// through, and drops the rest.
type cappedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	max  int
	sent int
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent+len(p) > c.max {
		c.sent = c.max
		return len(p), nil
	}
	c.sent += len(p)
	return c.w.Write(p)
}

// startBinary starts the built binary (see testkit.StartService) in dir, a
// new empty directory when dir is "". It skips the test under -short.
func startBinary(tb testing.TB, dir string, env ...string) *testkit.Process {
	tb.Helper()
	skipBinaryIfShort(tb)
	return testkit.StartService(tb, dir, env...)
}

// skipBinaryIfShort skips a test that builds and runs the binary under
// -short.
func skipBinaryIfShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds and runs the binary")
	}
}

// newClient returns an HTTP client whose idle connections are closed when
// the test ends, so that no goroutine outlives it. Its timeout only stops a
// hung request.
func newClient(tb testing.TB) *http.Client {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 3 * waitLimit}
}

// transport returns the *http.Transport of a client that newClient made.
func transport(tb testing.TB, c *http.Client) *http.Transport {
	tb.Helper()
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		tb.Fatalf("the client's transport is a %T, want *http.Transport", c.Transport)
	}
	return tr
}

// do sends a request and returns the response with its whole body.
func do(tb testing.TB, c *http.Client, method, url string, body io.Reader, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	maps.Copy(req.Header, header)
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

// get sends a GET and returns its status and body.
func get(tb testing.TB, c *http.Client, url string) (int, []byte) {
	tb.Helper()
	resp, body := do(tb, c, http.MethodGet, url, nil, nil)
	return resp.StatusCode, body
}

// scrape reads the /metrics of the admin listener at adminAddr and returns
// it parsed and as text.
func scrape(tb testing.TB, c *http.Client, adminAddr string) (map[string]*dto.MetricFamily, string) {
	tb.Helper()
	status, body := get(tb, c, "http://"+adminAddr+"/metrics")
	if status != http.StatusOK {
		tb.Fatalf("GET /metrics: status %d; body %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("parsing /metrics: %v", err)
	}
	return mfs, string(body)
}

// value sums the series of metric name whose labels include want: gauge and
// counter values, histogram sample counts. A missing series counts 0.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range mfs[name].GetMetric() {
		if !testkit.HasLabels(m, want) {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// labels builds a label set from name, value pairs.
func labels(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// holdSleeps sends n requests to the demo sleep that stay in flight until
// the returned release is called, and returns once the service counts all n
// in flight. release makes the clients go away and fails tb unless each of
// them was still waiting for its answer, that is, none was refused.
func holdSleeps(tb testing.TB, svc *service, c *http.Client, n int) (release func()) {
	tb.Helper()
	held := testkit.HoldRequests(tb, c, svc.URL(sleepRoute+"?d=30s"), n)
	route := labels("http_request_method", "GET", "http_route", sleepRoute)
	waitActive := func(want int) {
		tb.Helper()
		eventually(tb, fmt.Sprintf("%d held sleeps in flight", want), func() (bool, string) {
			mfs, _ := scrape(tb, c, svc.Admin)
			v := value(mfs, activeMetric, route)
			return v == float64(want), fmt.Sprintf("%s = %v, want %d", activeMetric, v, want)
		})
	}
	waitActive(n)
	return func() {
		tb.Helper()
		for _, err := range held() {
			tb.Errorf("held request: %v, want it held until its client went away", err)
		}
		waitActive(0)
	}
}
