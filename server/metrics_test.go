package server_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// What the admin listener's /metrics shows: requests in flight until they
// end (499 for a client that went away), labels from bounded sets only,
// probes not counted, and each service in a process with its own registry.

func TestInFlightGaugeFollowsRequestsToTheirEnd(t *testing.T) {
	t.Parallel()
	const n = 8
	svc := startService(t, map[string]string{"DEMO_ENDPOINTS": "true"})
	c := newClient(t)
	route := labels("http_request_method", "GET", "http_route", sleepRoute)

	// Clients that go away in the middle of their requests.
	release := holdSleeps(t, svc, c, n)
	release()
	eventually(t, "every abandoned sleep recorded", func() (bool, string) {
		mfs, _ := scrape(t, c, svc.Admin)
		active, done := value(mfs, activeMetric, route), value(mfs, durationMetric, route)
		return active == 0 && done == n, fmt.Sprintf("active %v, recorded %v", active, done)
	})
	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, durationMetric, sleepsWithStatus(499)); got != n {
		t.Errorf("abandoned requests recorded with 499: %v, want %d", got, n)
	}
	if got := value(mfs, durationMetric, sleepsWithStatus(http.StatusOK)); got != 0 {
		t.Errorf("abandoned requests recorded with 200: %v, want 0", got)
	}

	// Requests that run to completion.
	statuses := make(chan int, n)
	for range n {
		go func() {
			resp, err := c.Get(svc.URL(sleepRoute + "?d=10ms"))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for range n {
		if s := <-statuses; s != http.StatusOK {
			t.Errorf("completed sleep: status %d, want 200", s)
		}
	}
	mfs, _ = scrape(t, c, svc.Admin)
	if got := value(mfs, activeMetric, route); got != 0 {
		t.Errorf("%s after every request answered = %v, want 0", activeMetric, got)
	}
	if got := value(mfs, durationMetric, sleepsWithStatus(http.StatusOK)); got != n {
		t.Errorf("completed requests recorded with 200: %v, want %d", got, n)
	}
}

// TestAbandonedRequestsAreRecorded499 abandons 250 sleeps in batches of
// 50, each only once the gauge shows the whole batch in flight, so that
// every one is cancelled inside the service.
func TestAbandonedRequestsAreRecorded499(t *testing.T) {
	t.Parallel()
	const total, batch = 250, 50
	svc := startServiceLogging(t, map[string]string{"DEMO_ENDPOINTS": "true"}, 64<<10)
	c := newClient(t)
	route := labels("http_request_method", "GET", "http_route", sleepRoute)
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
	got499, got200 := value(mfs, durationMetric, sleepsWithStatus(499)), value(mfs, durationMetric, sleepsWithStatus(http.StatusOK))
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

func TestUnknownPathsAndMethodsKeepMetricsBounded(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	c := newClient(t)

	rnd := rand.New(rand.NewChaCha8([32]byte{1}))
	var paths []string // as the server sees them, decoded
	for i := range 1000 {
		switch i % 10 {
		case 0:
			b := make([]byte, 1+rnd.IntN(24))
			for j := range b {
				b[j] = byte(rnd.Uint32())
			}
			paths = append(paths, "/nope-rnd/"+string(b))
		case 1:
			paths = append(paths, fmt.Sprintf("/v1/items/x%d/y", i))
		default:
			paths = append(paths, fmt.Sprintf("/nope/%d", i))
		}
	}
	failures := 0
	for _, p := range paths {
		u := svc.URL((&url.URL{Path: p}).EscapedPath())
		resp, body := do(t, c, http.MethodGet, u, nil, nil)
		if resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte(`"code":"not_found"`)) {
			t.Errorf("GET %q: status %d, body %s; want 404 with the JSON error", p, resp.StatusCode, body)
			if failures++; failures > 5 {
				t.FailNow()
			}
		}
	}
	resp, body := do(t, c, "BREW", svc.URL("/v1/items"), nil, nil)
	checkError(t, resp, body, http.StatusMethodNotAllowed, "method_not_allowed")
	resp, body = do(t, c, "BREW", svc.URL("/nope/brew"), nil, nil)
	checkError(t, resp, body, http.StatusNotFound, "not_found")

	mfs, text := scrape(t, c, svc.Admin)
	routes := labelValues(mfs, "http_route")
	if !routes["unmatched"] {
		t.Errorf("the %d http_route values lack \"unmatched\"", len(routes))
	}
	var raw []string
	for r := range routes {
		if strings.Contains(r, "nope") || strings.Contains(r, "/x") {
			raw = append(raw, r)
		}
	}
	if len(raw) > 0 {
		t.Errorf("http_route takes %d raw paths, such as %q", len(raw), raw[0])
	}
	if got := value(mfs, durationMetric, labels("http_route", "unmatched", "http_response_status_code", "404")); got != 1001 {
		t.Errorf("unmatched 404s recorded = %v, want 1001", got)
	}
	if n := len(mfs[durationMetric].GetMetric()); n > 3 {
		t.Errorf("%s has %d series after 1002 requests to unknown paths, want at most 3", durationMetric, n)
	}
	if strings.Contains(text, "nope") {
		t.Error("/metrics contains \"nope\", a piece of the unknown paths")
	}
	for _, p := range paths {
		if strings.Contains(text, p) {
			t.Fatalf("/metrics contains the raw path %q", p)
		}
	}
	if got := value(mfs, durationMetric, labels("http_request_method", "_OTHER")); got != 2 {
		t.Errorf("BREW requests recorded as _OTHER = %v, want 2", got)
	}
	if strings.Contains(text, "BREW") {
		t.Error("/metrics contains the method BREW")
	}
}

func TestProbesAreServedButNotCounted(t *testing.T) {
	t.Parallel()
	svc := startService(t, nil)
	c := newClient(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			if resp, body := do(t, c, method, svc.URL(path), nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: status %d, want 200; body %s", method, path, resp.StatusCode, body)
			}
		}
	}
	if status, _ := get(t, c, svc.URL("/v1/items")); status != http.StatusOK {
		t.Fatalf("GET /v1/items: status %d, want 200", status)
	}
	resp, body := do(t, c, http.MethodGet, svc.URL("/metrics"), nil, nil)
	checkError(t, resp, body, http.StatusNotFound, "not_found")
	if status, body := get(t, c, "http://"+svc.Admin+"/healthz"); status != http.StatusOK {
		t.Errorf("admin GET /healthz: status %d, want 200; body %s", status, body)
	}

	mfs, _ := scrape(t, c, svc.Admin)
	if got := value(mfs, durationMetric, labels("http_route", "/v1/items")); got != 1 {
		t.Errorf("GET /v1/items recorded %v times, want 1", got)
	}
	routes := labelValues(mfs, "http_route")
	for _, r := range []string{"/healthz", "/readyz", "/metrics"} {
		if routes[r] {
			t.Errorf("http_route %q is in the request metrics; probes and /metrics must not be", r)
		}
	}
}

func TestTwoServicesInOneProcessKeepTheirOwnMetrics(t *testing.T) {
	t.Parallel()
	a, b := launchService(t, nil, 0), launchService(t, nil, 0)
	a.waitServing(t)
	b.waitServing(t)
	if a.HTTP == b.HTTP || a.Admin == b.Admin {
		t.Fatalf("both services listen on %s and %s", a.HTTP, a.Admin)
	}
	c := newClient(t)
	items := labels("http_route", "/v1/items", "http_response_status_code", "200")
	counts := func() (float64, float64) {
		ma, _ := scrape(t, c, a.Admin)
		mb, _ := scrape(t, c, b.Admin)
		return value(ma, durationMetric, items), value(mb, durationMetric, items)
	}
	for range 3 {
		get(t, c, a.URL("/v1/items"))
	}
	if ca, cb := counts(); ca != 3 || cb != 0 {
		t.Errorf("after 3 requests to the first: counts %v and %v, want 3 and 0", ca, cb)
	}
	get(t, c, b.URL("/v1/items"))
	if ca, cb := counts(); ca != 3 || cb != 1 {
		t.Errorf("after 1 request to the second: counts %v and %v, want 3 and 1", ca, cb)
	}
}

// labelValues returns every value that label takes in any family.
func labelValues(mfs map[string]*dto.MetricFamily, label string) map[string]bool {
	vals := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					vals[lp.GetValue()] = true
				}
			}
		}
	}
	return vals
}

// sleepsWithStatus is the label set of the demo sleep's GETs answered with
// code.
func sleepsWithStatus(code int) map[string]string {
	return labels("http_request_method", "GET", "http_route", sleepRoute, "http_response_status_code", strconv.Itoa(code))
}
