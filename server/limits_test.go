package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The limits that keep one client from taking the service down: load
// shedding past MAX_IN_FLIGHT, the deadline for slow request headers, and
// the cap on header size. (The cap on body size is among the bad inputs of
// errors_test.go.)

// TestLoadSheddingOverLoopback holds exactly MAX_IN_FLIGHT requests in the
// demo sleep and checks that the next request is refused at once with the
// JSON 503, counted, and recorded as a 503, while the probes and /metrics
// still answer; and that a request is admitted again once the held ones end.
func TestLoadSheddingOverLoopback(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 3} {
		t.Run("MAX_IN_FLIGHT="+strconv.Itoa(limit), func(t *testing.T) {
			t.Parallel()
			svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true", "MAX_IN_FLIGHT": strconv.Itoa(limit)})
			c := newClient(t)
			release := holdSleeps(t, svc, c, limit)

			// The in-flight gauge counts a request a few calls before the
			// shedding middleware does, so a fast request is retried in the
			// rare case that it arrives in between and is admitted.
			var resp *http.Response
			var body []byte
			eventually(t, "a request over the limit refused", func() (bool, string) {
				resp, body = do(t, c, http.MethodGet, svc.URL("/v1/items"), nil, nil)
				return resp.StatusCode == http.StatusServiceUnavailable, fmt.Sprintf("status %d", resp.StatusCode)
			})
			checkError(t, resp, body, http.StatusServiceUnavailable, "overloaded")
			if got := resp.Header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After = %q, want 1", got)
			}
			for _, path := range []string{"/healthz", "/readyz"} {
				if status, body := get(t, c, svc.URL(path)); status != http.StatusOK {
					t.Errorf("GET %s while full: status %d, want 200; body %s", path, status, body)
				}
			}
			mfs, _ := scrape(t, c, svc.Admin) // fails unless the admin /metrics answers 200
			if got := value(mfs, shedMetric, nil); got != 1 {
				t.Errorf("%s = %v, want 1", shedMetric, got)
			}
			if got := value(mfs, durationMetric, labels("http_route", "/v1/items", "http_response_status_code", "503")); got != 1 {
				t.Errorf("shed requests recorded with 503 = %v, want 1", got)
			}

			release()
			if status, body := get(t, c, svc.URL("/v1/items")); status != http.StatusOK {
				t.Errorf("after the held requests ended: status %d, want 200; body %s", status, body)
			}
			if status, body := get(t, c, svc.URL(sleepRoute+"?d=1ms")); status != http.StatusOK {
				t.Errorf("sleep after the held requests ended: status %d, want 200; body %s", status, body)
			}
		})
	}
}

// TestNoLoadSheddingByDefault: without MAX_IN_FLIGHT, requests in flight
// do not stop another from being served.
func TestNoLoadSheddingByDefault(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true"})
	c := newClient(t)
	release := holdSleeps(t, svc, c, 8)
	if status, body := get(t, c, svc.URL("/v1/items")); status != http.StatusOK {
		t.Errorf("GET /v1/items with 8 requests in flight: status %d, want 200; body %s", status, body)
	}
	mfs, _ := scrape(t, c, svc.Admin)
	if mfs[shedMetric] == nil {
		t.Errorf("/metrics lacks %s; it is exposed, at 0, even when nothing is shed", shedMetric)
	}
	if got := value(mfs, shedMetric, nil); got != 0 {
		t.Errorf("%s = %v, want 0", shedMetric, got)
	}
	release()
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

// TestHeadersOverTheLimitAre431 sends headers over MAX_HEADER_BYTES.
// net/http answers them itself, before any handler, with a plain-text 431;
// net/http allows 4096 bytes over MaxHeaderBytes, so the test sends far more.
func TestHeadersOverTheLimitAre431(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"MAX_HEADER_BYTES": "1024"})
	c := newClient(t)
	before := itemList(t, c, svc)
	tests := []struct {
		name   string
		size   int
		status int
	}{
		{"under the limit", 512, http.StatusCreated},
		{"over the limit and its slack", 16 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}, "X-Padding": {strings.Repeat("p", tt.size)}}
			resp, b := do(t, c, http.MethodPost, svc.URL("/v1/items"), strings.NewReader(`{"name":"big headers"}`), h)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			t.Logf("status %d, Content-Type %q, body %.60q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		})
	}
	after := itemList(t, c, svc)
	if strings.Count(after, `"big headers"`) != 1 || len(after) <= len(before) {
		t.Errorf("items %s; want only the item sent with small headers added to %s", after, before)
	}
}
