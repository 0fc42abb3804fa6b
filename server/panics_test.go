package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A handler that panics: the client gets the JSON 500 and nothing of the
// panic, the log gets the stack with the request ID, the panic is counted
// with its 500, and the server keeps serving.

const panicRoute = "/v1/demo/panic"

func TestPanicIsAnsweredLoggedCountedAndSurvived(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true"})
	c := newClient(t)

	resp, body := do(t, c, http.MethodGet, svc.URL(panicRoute), nil, nil)
	e := checkError(t, resp, body, http.StatusInternalServerError, "internal_error")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"goroutine", ".go:", "panic(", "demo panic", "controllers", wd} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("the 500 body reveals %q: %s", leak, body)
		}
	}

	logged := svc.Logs.Last("panic recovered")
	switch {
	case logged == nil:
		t.Errorf("no \"panic recovered\" log line; log:\n%s", svc.Logs)
	case logged.Get("level") != "ERROR" || logged.Get("request_id") != e.Error.RequestID:
		t.Errorf("panic log level, request_id = %q, %q; want ERROR, %q", logged.Get("level"), logged.Get("request_id"), e.Error.RequestID)
	case !strings.Contains(logged.Get("stack"), "DemoPanic"):
		t.Errorf("panic log stack does not show the panicking handler: %q", logged.Get("stack"))
	}

	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, panicsMetric, labels("http_route", panicRoute)); got != 1 {
		t.Errorf("%s{http_route=%q} = %v, want 1", panicsMetric, panicRoute, got)
	}
	if got := value(mfs, durationMetric, labels("http_route", panicRoute, "http_response_status_code", "500")); got != 1 {
		t.Errorf("requests recorded with 500 = %v, want 1", got)
	}
	if got := value(mfs, durationMetric, labels("http_route", panicRoute)); got != 1 {
		t.Errorf("requests recorded = %v, want 1 (with its 500 only)", got)
	}
	if got := value(mfs, activeMetric, labels("http_route", panicRoute)); got != 0 {
		t.Errorf("%s after the panic = %v, want 0", activeMetric, got)
	}
	for _, path := range []string{"/healthz", "/v1/items"} {
		if status, body := get(t, c, svc.URL(path)); status != http.StatusOK {
			t.Errorf("GET %s after the panic: status %d, want 200; body %s", path, status, body)
		}
	}
}

// TestConcurrentPanicsAreAllAnsweredAndCounted sends panicking requests
// from many goroutines at once: each is answered with the JSON 500 and
// counted, and once the service has stopped no goroutine of it remains. It
// is not parallel: goleak.VerifyNone at its end must see no goroutine of
// another test still running.
func TestConcurrentPanicsAreAllAnsweredAndCounted(t *testing.T) {
	const workers, each = 50, 20
	// Each panic logs its stack: keep only the start of the log.
	svc := startServiceLogging(t, map[string]string{"DEMO_ENDPOINTS": "true"}, 64<<10)
	c := newClient(t)
	transport(t, c).MaxIdleConnsPerHost = workers

	start := time.Now()
	var mu sync.Mutex
	statuses := map[string]int{} // status and error code, or the error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			seen := map[string]int{}
			for range each {
				seen[panicOutcome(c, svc.URL(panicRoute))]++
			}
			mu.Lock()
			defer mu.Unlock()
			for k, n := range seen {
				statuses[k] += n
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if want := "500 internal_error"; len(statuses) != 1 || statuses[want] != workers*each {
		t.Errorf("outcomes %v; want all %d %q", statuses, workers*each, want)
	}
	if status, body := get(t, c, svc.URL("/v1/items")); status != http.StatusOK {
		t.Errorf("GET /v1/items after the panics: status %d, want 200; body %s", status, body)
	}
	mfs, _ := scrape(t, c, svc.Admin)
	for _, m := range []struct {
		name string
		want float64
		lbls map[string]string
	}{
		{panicsMetric, workers * each, labels("http_route", panicRoute)},
		{durationMetric, workers * each, labels("http_route", panicRoute, "http_response_status_code", "500")},
		{durationMetric, workers * each, labels("http_route", panicRoute)},
		{activeMetric, 0, labels("http_route", panicRoute)},
	} {
		if got := value(mfs, m.name, m.lbls); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.lbls, got, m.want)
		}
	}

	// The client first: a connection it dialled but never used counts as
	// active to Shutdown for 5 s, as long as SHUTDOWN_TIMEOUT here.
	c.CloseIdleConnections()
	svc.Stop(t)
	// No option: every goroutine that the service or the client started
	// must have ended (goleak retries while they wind down); those of the
	// testing package and os/signal are ignored by goleak itself.
	goleak.VerifyNone(t)
	t.Logf("%d panicking requests from %d goroutines in %v: %v", workers*each, workers, elapsed.Round(time.Millisecond), statuses)
}

// panicOutcome sends one GET and describes the answer as its status and
// error code, or as the transport error.
func panicOutcome(c *http.Client, url string) string {
	resp, err := c.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	code := "?"
	if _, rest, ok := bytes.Cut(body, []byte(`"code":"`)); ok {
		code = string(rest[:max(bytes.IndexByte(rest, '"'), 0)])
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, code)
}
