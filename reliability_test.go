package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ginstarter/ginstarter/internal/testlog"
)

// outcome is what became of one request of a load generator.
type outcome struct {
	path       string
	start, end time.Time
	status     int // 0 when err is set
	err        error
}

func (o outcome) ok() bool { return o.err == nil && o.status == http.StatusOK }

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
				o := send(c, urls[i%len(urls)])
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

// send sends one GET and reads the whole response.
func send(c *http.Client, url string) outcome {
	o := outcome{path: url, start: time.Now()}
	resp, err := c.Get(url)
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

// logTime returns the time of the first log line with msg, which the
// process wrote with the clock that the test reads too.
func logTime(tb testing.TB, logs *testlog.Buffer, msg string) time.Time {
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

// TestBinaryDrainsUnderLoad sends SIGTERM to the binary while a load
// generator keeps it busy. Its own log says when the drain delay ended
// (the "waiting for requests in flight" line, written before the listener
// closes), and a failure seen before that moment cannot be the expected
// refusal of a closed listener.
func TestBinaryDrainsUnderLoad(t *testing.T) {
	t.Parallel()
	const drain, timeout = time.Second, 5 * time.Second
	p := startBinary(t, t.TempDir(), "DEMO_ENDPOINTS=true",
		"SHUTDOWN_DRAIN_DELAY="+drain.String(), "SHUTDOWN_TIMEOUT="+timeout.String())
	c, probe := newClient(t), newClient(t)
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 8
	outcomes := generateLoad(c, []string{p.URL("/v1/items"), p.URL(sleepRoute + "?d=200ms")}, 8, 50000, p.done)

	eventually(t, "sleeps in flight", func() (bool, string) {
		mfs, _ := scrape(t, probe, p.Admin)
		v := value(mfs, activeMetric, labels("http_route", sleepRoute))
		return v >= 2, fmt.Sprintf("%s = %v", activeMetric, v)
	})
	sigterm := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/readyz answers 503", func() (bool, string) {
		resp, err := probe.Get(p.URL("/readyz"))
		if err != nil {
			t.Fatalf("GET /readyz after SIGTERM: %v; the listener closed before readiness turned 503", err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable, fmt.Sprintf("status %d", resp.StatusCode)
	})
	code := p.Wait(t)
	exited := time.Since(sigterm)
	all := outcomes()

	if code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, p.Stderr)
	}
	if bound := drain + timeout + 5*time.Second; exited > bound {
		t.Errorf("the process exited %v after SIGTERM, beyond the bound of %v", exited, bound)
	}
	drainEnd := logTime(t, p.Stdout, "shutdown: waiting for requests in flight")
	if _, ok := p.Stdout.Find("shutdown: done"); !ok {
		t.Errorf("no \"shutdown: done\" log line; log:\n%s", p.Stdout)
	}
	checkDrain(t, all, sigterm, drainEnd)
	t.Logf("exit %v after SIGTERM (drain %v, timeout %v), drain ended %v after SIGTERM",
		exited.Round(time.Millisecond), drain, timeout, drainEnd.Sub(sigterm).Round(time.Millisecond))
}

// checkDrain sorts outcomes by phase: ended before SIGTERM, in flight at
// SIGTERM, sent and answered during the drain, and the rest. It fails tb
// for any failure that ended before drainEnd, and unless requests were in
// flight at SIGTERM and served during the drain.
func checkDrain(tb testing.TB, all []outcome, sigterm, drainEnd time.Time) {
	tb.Helper()
	var before, inFlight, drained, crossed, after, crossedFailed, afterFailed, failed int
	var crossing []string // failures of requests sent before the drain ended
	for _, o := range all {
		switch {
		case o.end.Before(sigterm):
			before++
		case o.start.Before(sigterm):
			inFlight++
			if !o.ok() {
				tb.Errorf("in flight at SIGTERM: %v; want 200", o)
			}
			continue
		case o.end.Before(drainEnd):
			drained++
		case o.start.Before(drainEnd):
			crossed++
			if !o.ok() {
				crossedFailed++
				crossing = append(crossing, o.String())
			}
		default:
			after++
			if !o.ok() {
				afterFailed++
			}
		}
		if !o.ok() && o.end.Before(drainEnd) {
			if failed++; failed <= 5 {
				tb.Errorf("failed before the drain delay ended: %v", o)
			}
		}
	}
	if inFlight == 0 || drained == 0 {
		tb.Errorf("requests in flight at SIGTERM: %d, served during the drain: %d; want both above 0", inFlight, drained)
	}
	tb.Logf("%d requests: %d before SIGTERM, %d in flight at SIGTERM, %d sent and answered during the drain, "+
		"%d crossing its end (%d failed), %d after it (%d failed, the listener being closed); %d failed before the drain ended",
		len(all), before, inFlight, drained, crossed, crossedFailed, after, afterFailed, failed)
	if len(crossing) > 0 {
		tb.Logf("first failure crossing the end of the drain: %s", crossing[0])
	}
}

// TestBinarySecondSignalExitsAtOnce: once the drain has begun, the signal
// handler is gone, so a second SIGTERM kills the process as Go's default
// action does, long before the drain delay ends.
func TestBinarySecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	p := startBinary(t, t.TempDir(), "SHUTDOWN_DRAIN_DELAY=60s", "SHUTDOWN_TIMEOUT=5s")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the drain begun", func() (bool, string) {
		_, ok := p.Stdout.Find("shutdown: draining")
		return ok, "no \"shutdown: draining\" line"
	})
	second := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// waitLimit, the bound of Wait, is far below the 60s drain delay.
	code := p.Wait(t)
	exited := time.Since(second)
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if code == 0 || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("exit code %d, status %v; want killed by SIGTERM", code, p.cmd.ProcessState)
	}
	if _, ok := p.Stdout.Find("shutdown: waiting for requests in flight"); ok {
		t.Error("the drain delay ran to its end despite the second SIGTERM")
	}
	t.Logf("exited %v after the second SIGTERM: %v", exited.Round(time.Millisecond), p.cmd.ProcessState)
}
