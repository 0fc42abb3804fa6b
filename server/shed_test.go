package server

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

const shedMetric = "http_server_shed_requests_total"

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
