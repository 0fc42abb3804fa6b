package clustercheck

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load sends GET requests to one URL at a steady rate from a few workers,
// each request on a new connection, until Stop, its time limit or its
// request limit. A request
// fails when it gets no answer or an answer other than 200; a new
// connection per request is the harshest client for a rollout, since every
// request goes through the Service's load balancing again.
type Load struct {
	url      string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  time.Time
	requests atomic.Int64
	failures atomic.Int64

	mu     sync.Mutex
	errors map[string]int
}

// LoadResult is what a load run saw.
type LoadResult struct {
	Requests, Failures int64
	Duration           time.Duration
	Errors             map[string]int // failure kinds and counts
}

func (r LoadResult) String() string {
	s := fmt.Sprintf("%d requests, %d failed, %.0f req/s over %.1fs", r.Requests, r.Failures,
		float64(r.Requests)/r.Duration.Seconds(), r.Duration.Seconds())
	if len(r.Errors) > 0 {
		kinds := make([]string, 0, len(r.Errors))
		for k, n := range r.Errors {
			kinds = append(kinds, fmt.Sprintf("%dx %s", n, k))
		}
		sort.Strings(kinds)
		s += " (" + strings.Join(kinds, "; ") + ")"
	}
	return s
}

// StartLoad starts workers sending rate requests a second in all to url,
// for at most limit and maxRequests. A tick that finds every worker busy is
// skipped, so a slow server lowers the rate rather than queueing requests.
func StartLoad(url string, workers, rate int, limit time.Duration, maxRequests int64) *Load {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	l := &Load{url: url, cancel: cancel, started: time.Now(), errors: map[string]int{}}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for range workers {
		l.wg.Go(func() {
			for l.requests.Load() < maxRequests {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					l.one(ctx, client)
				}
			}
		})
	}
	go func() { <-ctx.Done(); tick.Stop() }()
	return l
}

func (l *Load) one(ctx context.Context, client *http.Client) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		panic(err)
	}
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		return // stopped mid-request: not counted
	}
	l.requests.Add(1)
	kind := ""
	switch {
	case err != nil:
		kind = errorKind(err)
	case resp.StatusCode != http.StatusOK:
		kind = resp.Status
	}
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close() // read to the end: nothing more to learn
	}
	if kind != "" {
		l.failures.Add(1)
		l.mu.Lock()
		l.errors[kind]++
		l.mu.Unlock()
	}
}

// errorKind shortens a client error to its cause ("connection refused").
func errorKind(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// Stop ends the run and returns its counts.
func (l *Load) Stop() LoadResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := make(map[string]int, len(l.errors))
	maps.Copy(errs, l.errors)
	return LoadResult{Requests: l.requests.Load(), Failures: l.failures.Load(), Duration: time.Since(l.started), Errors: errs}
}

// httpGet returns the body of a 200 answer.
func httpGet(ctx context.Context, url string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }() // the read below reports any failure
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}
