package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// The shutdown that Kubernetes asks for with SIGTERM, tested on the built
// binary, since signals are per process: readiness turns 503 at once while
// liveness stays 200, requests keep being served for the drain delay,
// requests in flight finish, and a second signal exits at once.

func TestShutdownTurnsNotReadyAndFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	p := startBinary(t, "", "DEMO_ENDPOINTS=true", "SHUTDOWN_DRAIN_DELAY=1s", "SHUTDOWN_TIMEOUT=5s")
	c := newClient(t)
	type result struct {
		status int
		err    error
	}
	// The sleep outlasts the drain delay, so that it is still in flight
	// when the server shuts down.
	slept := make(chan result, 1)
	go func() {
		resp, err := c.Get(p.URL(sleepRoute + "?d=2s"))
		if err != nil {
			slept <- result{err: err}
			return
		}
		resp.Body.Close()
		slept <- result{status: resp.StatusCode}
	}()
	eventually(t, "the sleep in flight", func() (bool, string) {
		mfs, _ := scrape(t, c, p.Admin)
		v := value(mfs, activeMetric, labels("http_route", sleepRoute))
		return v == 1, fmt.Sprintf("%s = %v", activeMetric, v)
	})

	p.Signal(t, syscall.SIGTERM)
	eventually(t, "/readyz answers 503", func() (bool, string) {
		resp, err := c.Get(p.URL("/readyz"))
		if err != nil {
			t.Fatalf("GET /readyz after SIGTERM: %v; the listener closed before readiness turned 503", err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable, fmt.Sprintf("status %d", resp.StatusCode)
	})
	if status, body := get(t, c, p.URL("/healthz")); status != http.StatusOK {
		t.Errorf("GET /healthz while draining: status %d, want 200; body %s", status, body)
	}
	select {
	case r := <-slept:
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("the request in flight at SIGTERM: status %d, error %v; want 200", r.status, r.err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the request in flight at SIGTERM did not end within %v", waitLimit)
	}
	if code := p.Wait(t).ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, p.Stderr)
	}
	if _, ok := p.Stdout.Find("shutdown: done"); !ok {
		t.Errorf("no \"shutdown: done\" log line; log:\n%s", p.Stdout)
	}
	if conn, err := net.DialTimeout("tcp", p.HTTP, waitLimit); err == nil {
		conn.Close()
		t.Errorf("%s accepts connections after the process exited", p.HTTP)
	}
}

// TestShutdownDrainsUnderLoad sends SIGTERM to the binary while a load
// generator keeps it busy, /readyz included. Its own log says when the
// drain began (written after readiness turned false) and when it ended (the
// "waiting for requests in flight" line, written before the listener
// closes): a failure seen before that end cannot be the expected refusal of
// a closed listener.
func TestShutdownDrainsUnderLoad(t *testing.T) {
	t.Parallel()
	const drain, timeout = 500 * time.Millisecond, 5 * time.Second
	p := startBinary(t, "", "DEMO_ENDPOINTS=true",
		"SHUTDOWN_DRAIN_DELAY="+drain.String(), "SHUTDOWN_TIMEOUT="+timeout.String())
	c, probe := newClient(t), newClient(t)
	transport(t, c).MaxIdleConnsPerHost = 9
	urls := []string{p.URL("/v1/items"), p.URL(sleepRoute + "?d=200ms"), p.URL("/readyz")}
	outcomes := generateLoad(c, urls, 9, 50000, p.Done())

	eventually(t, "sleeps in flight", func() (bool, string) {
		mfs, _ := scrape(t, probe, p.Admin)
		v := value(mfs, activeMetric, labels("http_route", sleepRoute))
		return v >= 2, fmt.Sprintf("%s = %v", activeMetric, v)
	})
	sigterm := time.Now()
	p.Signal(t, syscall.SIGTERM)
	code := p.Wait(t).ExitCode()
	exited := time.Since(sigterm)
	all := outcomes()

	if code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, p.Stderr)
	}
	if bound := drain + timeout + 5*time.Second; exited > bound {
		t.Errorf("the process exited %v after SIGTERM, beyond the bound of %v", exited, bound)
	}
	draining := logTime(t, p.Stdout, "shutdown: draining")
	drainEnd := logTime(t, p.Stdout, "shutdown: waiting for requests in flight")
	if _, ok := p.Stdout.Find("shutdown: done"); !ok {
		t.Errorf("no \"shutdown: done\" log line; log:\n%s", p.Stdout)
	}
	checkDrain(t, all, sigterm, draining, drainEnd)
	t.Logf("exit %v after SIGTERM (drain %v, timeout %v), drain ended %v after SIGTERM",
		exited.Round(time.Millisecond), drain, timeout, drainEnd.Sub(sigterm).Round(time.Millisecond))
}

// TestShutdownSecondSignalExitsAtOnce: once the drain has begun, a second
// SIGTERM kills the process as Go's default action does (after writing out
// the buffered log lines), long before the drain delay ends.
func TestShutdownSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	p := startBinary(t, "", "SHUTDOWN_DRAIN_DELAY=60s", "SHUTDOWN_TIMEOUT=5s")
	p.Signal(t, syscall.SIGTERM)
	eventually(t, "the drain begun", func() (bool, string) {
		_, ok := p.Stdout.Find("shutdown: draining")
		return ok, "no \"shutdown: draining\" line"
	})
	second := time.Now()
	p.Signal(t, syscall.SIGTERM)
	// testkit.WaitLimit, the bound of Wait, is far below the 60s drain
	// delay.
	state := p.Wait(t)
	exited := time.Since(second)
	ws, ok := state.Sys().(syscall.WaitStatus)
	if state.ExitCode() == 0 || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("exit code %d, status %v; want killed by SIGTERM", state.ExitCode(), state)
	}
	if _, ok := p.Stdout.Find("shutdown: waiting for requests in flight"); ok {
		t.Error("the drain delay ran to its end despite the second SIGTERM")
	}
	t.Logf("exited %v after the second SIGTERM: %v", exited.Round(time.Millisecond), state)
}

// logTime returns the time of the first log line with msg, which the
// process wrote with the clock that the test reads too.
func logTime(tb testing.TB, logs *testkit.LogBuffer, msg string) time.Time {
	tb.Helper()
	l, ok := logs.Find(msg)
	if !ok {
		tb.Fatalf("no %q log line; log:\n%s", msg, logs)
	}
	ts, err := time.Parse(time.RFC3339Nano, l.Get("time"))
	if err != nil {
		tb.Fatalf("the time of %q: %v", msg, err)
	}
	return ts
}

// checkDrain sorts outcomes by phase: ended before SIGTERM, in flight at
// SIGTERM, sent and answered during the drain, and the rest. It fails tb
// for any failure that ended before drainEnd, and unless requests were in
// flight at SIGTERM, and requests served and /readyz seen 503 during the
// drain.
func checkDrain(tb testing.TB, all []outcome, sigterm, draining, drainEnd time.Time) {
	tb.Helper()
	var before, inFlight, drained, notReady, crossed, after, crossedFailed, afterFailed, failed int
	var crossing []string // failures of requests sent before the drain ended
	for _, o := range all {
		ok := o.acceptable(sigterm, draining)
		switch {
		case o.end.Before(sigterm):
			before++
		case o.start.Before(sigterm):
			inFlight++
			if !ok {
				tb.Errorf("in flight at SIGTERM: %v; want 200", o)
			}
			continue
		case o.end.Before(drainEnd):
			drained++
			if o.status == http.StatusServiceUnavailable {
				notReady++
			}
		case o.start.Before(drainEnd):
			crossed++
			if !ok {
				crossedFailed++
				crossing = append(crossing, o.String())
			}
		default:
			after++
			if !ok {
				afterFailed++
			}
		}
		if !ok && o.end.Before(drainEnd) {
			if failed++; failed <= 5 {
				tb.Errorf("failed before the drain delay ended: %v", o)
			}
		}
	}
	if inFlight == 0 || notReady == 0 || drained == notReady {
		tb.Errorf("requests in flight at SIGTERM: %d, answered during the drain: %d, of which /readyz 503: %d; want some of each, and more than the 503s",
			inFlight, drained, notReady)
	}
	tb.Logf("%d requests: %d before SIGTERM, %d in flight at SIGTERM, %d sent and answered during the drain (%d of them /readyz 503), "+
		"%d crossing its end (%d failed), %d after it (%d failed, the listener being closed); %d failed before the drain ended",
		len(all), before, inFlight, drained, notReady, crossed, crossedFailed, after, afterFailed, failed)
	if len(crossing) > 0 {
		tb.Logf("first failure crossing the end of the drain: %s", crossing[0])
	}
}

// outcome is what became of one request of a load generator.
type outcome struct {
	path       string
	start, end time.Time
	status     int // 0 when err is set
	err        error
}

// acceptable reports whether o is a success: 200, except from /readyz,
// which must answer 503 once the process has logged that it drains.
func (o outcome) acceptable(sigterm, draining time.Time) bool {
	switch {
	case o.err != nil:
		return false
	case !strings.HasSuffix(o.path, "/readyz") || o.end.Before(sigterm):
		return o.status == http.StatusOK
	case o.start.After(draining):
		return o.status == http.StatusServiceUnavailable
	default:
		return o.status == http.StatusOK || o.status == http.StatusServiceUnavailable
	}
}

func (o outcome) String() string {
	return fmt.Sprintf("GET %s from %s to %s: status %d, error %v",
		o.path, o.start.Format("15:04:05.000"), o.end.Format("15:04:05.000"), o.status, o.err)
}

// generateLoad sends GET requests to each of urls from workers goroutines
// over keep-alive connections of c, each at most limit requests, until stop
// is closed. It returns every outcome once they have all stopped.
func generateLoad(c *http.Client, urls []string, workers, limit int, stop <-chan struct{}) func() []outcome {
	var (
		mu  sync.Mutex
		all []outcome
		wg  sync.WaitGroup
	)
	for i := range workers {
		wg.Go(func() {
			var mine []outcome
			defer func() {
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
			for range limit {
				select {
				case <-stop:
					return
				default:
				}
				o := send(context.Background(), c, urls[i%len(urls)])
				mine = append(mine, o)
				if o.err != nil {
					// A refused connection fails at once: do not spin on it.
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	return func() []outcome {
		wg.Wait()
		return all
	}
}

// send sends one GET with ctx and reads the whole response.
func send(ctx context.Context, c *http.Client, url string) outcome {
	o := outcome{path: url, start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	var resp *http.Response
	if err == nil {
		resp, err = c.Do(req)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		o.status = resp.StatusCode
	}
	o.err, o.end = err, time.Now()
	if err != nil {
		o.status = 0
	}
	return o
}
