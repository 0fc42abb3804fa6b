package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestThousandAbandonedRequestsAreRecorded499 abandons 1,000 sleeps in
// batches of 50, each only once the gauge shows the whole batch in flight,
// so that every one is cancelled inside the service.
func TestThousandAbandonedRequestsAreRecorded499(t *testing.T) {
	t.Parallel()
	const total, batch = 1000, 50
	svc := startServiceLogging(t, map[string]string{"DEMO_ENDPOINTS": "true"}, 64<<10)
	c := newClient(t)
	route := labels("http_request_method", "GET", "http_route", sleepRoute)
	withStatus := func(code int) map[string]string {
		return labels("http_request_method", "GET", "http_route", sleepRoute, "http_response_status_code", strconv.Itoa(code))
	}
	start := time.Now()
	for b := range total / batch {
		holdSleeps(t, svc, c, batch)()
		eventually(t, "the batch recorded", func() (bool, string) {
			mfs, _ := scrape(t, c, svc.Admin)
			active, done := value(mfs, activeMetric, route), value(mfs, durationMetric, route)
			return active == 0 && done == float64((b+1)*batch), fmt.Sprintf("active %v, recorded %v", active, done)
		})
	}
	mfs, _ := scrape(t, c, svc.Admin)
	got499, got200 := value(mfs, durationMetric, withStatus(499)), value(mfs, durationMetric, withStatus(http.StatusOK))
	if got499 != total || got200 != 0 {
		t.Errorf("abandoned requests recorded with 499: %v, with 200: %v; want %d and 0", got499, got200, total)
	}
	if got := value(mfs, activeMetric, route); got != 0 {
		t.Errorf("%s = %v after every client went away, want 0", activeMetric, got)
	}
	if status, body := get(t, c, svc.URL(sleepRoute+"?d=1ms")); status != http.StatusOK {
		t.Errorf("a sleep after the abandoned ones: status %d, want 200; body %s", status, body)
	}
	t.Logf("%d abandoned requests: %v recorded 499, %v recorded 200, in %v", total, got499, got200, time.Since(start).Round(time.Millisecond))
}

// TestTenThousandPanicsFromFiftyGoroutines is not parallel: goleak.VerifyNone
// at its end must see no goroutine of another test still running.
func TestTenThousandPanicsFromFiftyGoroutines(t *testing.T) {
	const workers, each = 50, 200
	const route = "/v1/demo/panic"
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
				seen[panicOutcome(c, svc.URL(route))]++
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
		{panicsMetric, workers * each, labels("http_route", route)},
		{durationMetric, workers * each, labels("http_route", route, "http_response_status_code", "500")},
		{durationMetric, workers * each, labels("http_route", route)},
		{activeMetric, 0, labels("http_route", route)},
	} {
		if got := value(mfs, m.name, m.lbls); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.lbls, got, m.want)
		}
	}

	svc.Stop(t)
	c.CloseIdleConnections()
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

// TestSlowHeadersAreCutOff sends a request a byte at a time, far slower
// than READ_HEADER_TIMEOUT allows, while another client sends ordinary
// requests. At the timeout net/http's server holds part of the request
// line: its bufio.Reader hands the partial line over without the read
// error, the line does not parse, and the server answers its plain-text
// "400 Bad Request" with "Connection: close" and closes the connection
// (with nothing read at all it would close without a word). No handler
// runs, so nothing is recorded for it.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	const timeout, pace = 300 * time.Millisecond, 50 * time.Millisecond
	svc := startService(t, map[string]string{"READ_HEADER_TIMEOUT": timeout.String()})
	conn, err := net.Dial("tcp", svc.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A safety bound only: the server cuts the connection much sooner.
	if err := conn.SetDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	// 80 bytes at 50ms each: 4s, more than ten times the timeout.
	request := "GET /v1/items HTTP/1.1\r\nHost: " + svc.HTTP + "\r\nX-Slow: " + string(bytes.Repeat([]byte("s"), 40))
	written := make(chan int, 1)
	// The first bytes go at once, so that the server holds a partial line
	// when its deadline passes.
	const first = len("GET /")
	if _, err := conn.Write([]byte(request[:first])); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := first; i < len(request); i++ {
			if _, err := conn.Write([]byte{request[i]}); err != nil {
				written <- i
				return
			}
			time.Sleep(pace)
		}
		written <- len(request)
	}()

	c := newClient(t)
	served := 0
	closed := make(chan struct{})
	var answer []byte
	var readErr error
	start := time.Now()
	go func() {
		defer close(closed)
		answer, readErr = io.ReadAll(conn)
	}()
	for waiting := true; waiting; {
		select {
		case <-closed:
			waiting = false
		default:
			if status, body := get(t, c, svc.URL("/v1/items")); status != http.StatusOK {
				t.Fatalf("GET /v1/items on another connection: status %d, want 200; body %s", status, body)
			}
			served++
		}
	}
	cut := time.Since(start)
	// A byte that arrives between the deadline and the close makes the
	// kernel reset the connection, which may cut the answer short.
	const want = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
	reset := errors.Is(readErr, syscall.ECONNRESET)
	if (readErr != nil && !reset) || (!reset && string(answer) != want) || !strings.HasPrefix(want, string(answer)) {
		t.Errorf("the slow connection read %q, error %v; want %q and the end of the connection", answer, readErr, want)
	}
	conn.Close() // ends the writer if it is still writing
	if n := <-written; n == len(request) {
		t.Errorf("the whole request (%d bytes) was written before the connection was cut", n)
	}
	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, durationMetric, labels("http_route", "/v1/items")); got != float64(served) {
		t.Errorf("requests to /v1/items recorded: %v, want the %d of the fast client only", got, served)
	}
	t.Logf("slow connection answered %q (reset: %v) and closed %v after its first byte (READ_HEADER_TIMEOUT %v); %d requests served on another connection meanwhile",
		answer, reset, cut.Round(time.Millisecond), timeout, served)
}
