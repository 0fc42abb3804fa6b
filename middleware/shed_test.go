package middleware_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/internal/testkit"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// newShedStack is the service's middleware order with at most limit
// requests in flight: request ID, headers, metrics, recovery, shed.
func newShedStack(tb testing.TB, limit int) *stack {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	logs := &testkit.LogBuffer{}
	e := gin.New()
	e.Use(
		middleware.RequestID(),
		middleware.SecureHeaders(),
		middleware.Metrics(m, "/healthz"),
		middleware.Recovery(slog.New(slog.NewJSONHandler(logs, nil)), m),
		middleware.Shed(limit, m, "/healthz"),
	)
	e.GET("/healthz", func(c *gin.Context) { c.Status(http.StatusOK) })
	e.GET("/ok", func(c *gin.Context) { c.Status(http.StatusOK) })
	return &stack{engine: e, reg: reg, log: logs}
}

// shedCount reads http_server_shed_requests_total.
func (s *stack) shedCount(tb testing.TB) float64 {
	tb.Helper()
	m := s.series(tb, "http_server_shed_requests_total", nil)
	if m == nil {
		tb.Fatal("http_server_shed_requests_total is not registered")
	}
	return m.GetCounter().GetValue()
}

// hold serves limit requests to /hold in the background and returns once all
// of them are inside the handler; release lets them finish (it is also
// called when the test ends), and wait waits until they have.
func hold(tb testing.TB, s *stack, limit int) (release func(), wait func()) {
	tb.Helper()
	held := make(chan struct{})
	release = sync.OnceFunc(func() { close(held) })
	tb.Cleanup(release)
	entered := make(chan struct{}, limit)
	s.engine.GET("/hold", func(c *gin.Context) {
		select {
		case entered <- struct{}{}:
		default: // a request after the held ones
		}
		<-held
		c.Status(http.StatusOK)
	})
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			if rec := s.do(tb, http.MethodGet, "/hold"); rec.Code != http.StatusOK {
				tb.Errorf("held request: status %d, want 200", rec.Code)
			}
		})
	}
	for range limit {
		<-entered
	}
	return release, wg.Wait
}

func TestShedRefusesTheRequestOverTheLimit(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run("max="+strconv.Itoa(limit), func(t *testing.T) {
			s := newShedStack(t, limit)
			release, wait := hold(t, s, limit)

			// A route that does not block, so that a request wrongly
			// admitted fails the test rather than hanging it.
			rec := s.do(t, http.MethodGet, "/ok")
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("request %d: status %d, want 503", limit+1, rec.Code)
			}
			e := decodeError(t, rec)
			if e.Code != apierror.CodeOverloaded || e.RequestID == "" || e.RequestID != rec.Header().Get(apierror.RequestIDHeader) {
				t.Errorf("error %+v; want code %s and the response's request ID", e, apierror.CodeOverloaded)
			}
			if got := rec.Header().Get("Retry-After"); got != middleware.ShedRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, middleware.ShedRetryAfter)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if rec := s.do(t, http.MethodGet, "/healthz"); rec.Code != http.StatusOK {
				t.Errorf("GET /healthz while full: status %d, want 200", rec.Code)
			}
			if got := s.shedCount(t); got != 1 {
				t.Errorf("shed counter = %v, want 1", got)
			}
			if got := s.requestCount(t, "GET", "/ok", "503"); got != 1 {
				t.Errorf("503s recorded for /ok = %d, want 1", got)
			}

			release()
			wait()
			if rec := s.do(t, http.MethodGet, "/hold"); rec.Code != http.StatusOK {
				t.Errorf("after the held requests ended: status %d, want 200", rec.Code)
			}
			if got := s.requestCount(t, "GET", "/hold", "200"); got != uint64(limit)+1 {
				t.Errorf("200s recorded for /hold = %d, want %d", got, limit+1)
			}
		})
	}
}

// TestShedSlotIsFreedByAPanic: a panicking handler gives its slot back, so
// with a limit of one every later request is still admitted.
func TestShedSlotIsFreedByAPanic(t *testing.T) {
	s := newShedStack(t, 1)
	s.engine.GET("/panic", func(*gin.Context) { panic("boom") })
	for i := range 3 {
		if rec := s.do(t, http.MethodGet, "/panic"); rec.Code != http.StatusInternalServerError {
			t.Fatalf("panic %d: status %d, want 500", i+1, rec.Code)
		}
	}
	if rec := s.do(t, http.MethodGet, "/ok"); rec.Code != http.StatusOK {
		t.Errorf("after the panics: status %d, want 200", rec.Code)
	}
	if got := s.shedCount(t); got != 0 {
		t.Errorf("shed counter = %v, want 0", got)
	}
}

// TestShedNeverAdmitsMoreThanTheLimit races many requests for few slots:
// the handler never sees more than limit at once, and every request is
// either served or shed and counted.
func TestShedNeverAdmitsMoreThanTheLimit(t *testing.T) {
	const limit, requests = 4, 200
	s := newShedStack(t, limit)
	var now, peak atomic.Int64
	s.engine.GET("/work", func(c *gin.Context) {
		n := now.Add(1)
		defer now.Add(-1)
		// Raise peak to n unless another request raised it higher.
		p := peak.Load()
		for n > p && !peak.CompareAndSwap(p, n) {
			p = peak.Load()
		}
		c.Status(http.StatusOK)
	})
	var served, shed atomic.Int64
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			switch rec := s.do(t, http.MethodGet, "/work"); rec.Code {
			case http.StatusOK:
				served.Add(1)
			case http.StatusServiceUnavailable:
				shed.Add(1)
			default:
				t.Errorf("status %d, want 200 or 503", rec.Code)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 1 {
		t.Errorf("peak in flight = %d, want 1 to %d", p, limit)
	}
	if served.Load()+shed.Load() != requests {
		t.Errorf("served %d + shed %d, want %d", served.Load(), shed.Load(), requests)
	}
	if got := s.shedCount(t); got != float64(shed.Load()) {
		t.Errorf("shed counter = %v, want the %d 503s", got, shed.Load())
	}
}

// shedTally is a ShedCounter that counts in memory.
type shedTally struct{ n int }

func (t *shedTally) Shed() { t.n++ }

// TestShedAdmissionDoesNotAllocate calls the middleware alone on one
// context, away from gin's context pool (which the race detector makes
// allocate). Each call moves the context's int8 handler index on by one,
// hence at most about a hundred calls.
func TestShedAdmissionDoesNotAllocate(t *testing.T) {
	var tally shedTally
	h := middleware.Shed(1, &tally)
	c, _ := gin.CreateTestContext(&discardWriter{h: make(http.Header)})
	c.Request = httptest.NewRequest(http.MethodGet, "/users/42", nil)
	if allocs := testing.AllocsPerRun(100, func() { h(c) }); allocs != 0 {
		t.Errorf("allocs per admitted request = %v, want 0", allocs)
	}
	if tally.n != 0 {
		t.Errorf("%d requests under the limit were shed", tally.n)
	}
}

// BenchmarkShed compares serving through Shed with serving without it;
// compare "shed" with "bare".
func BenchmarkShed(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, name := range []string{"bare", "shed"} {
		b.Run(name, func(b *testing.B) {
			e := gin.New()
			if name == "shed" {
				e.Use(middleware.Shed(1<<20, newBenchMetrics(b)))
			}
			e.GET("/users/:id", okHandler)
			serveLoop(b, e)
		})
	}
}
