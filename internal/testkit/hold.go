package testkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// HoldRequests sends n GET requests to url with c, each meant to be held by
// the server until its client goes away (a long demo sleep, say), and
// returns at once. release makes the clients go away, waits for them and
// returns one error for each request that was not still waiting for its
// answer: one that was answered or refused. A test that ends before it
// calls release makes the clients go away too.
func HoldRequests(tb testing.TB, c *http.Client, url string, n int) (release func() []error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	errs := make(chan error, n)
	for range n {
		go func() { errs <- holdRequest(ctx, c, url) }()
	}
	return func() []error {
		cancel()
		var failed []error
		for range n {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				failed = append(failed, err)
			}
		}
		return failed
	}
}

// holdRequest sends one GET with ctx and returns the error that ended it,
// or says that it was answered.
func holdRequest(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close() // the answer is what failed; its body says nothing more
	return fmt.Errorf("answered with status %d while it should be held", resp.StatusCode)
}
