package server_test

import (
	"net/http"
	"syscall"
	"testing"

	"github.com/ginstarter/ginstarter/internal/testkit"
)

// Access lines are buffered for up to LOG_FLUSH_INTERVAL. These tests set an
// interval that no test waits out and log fewer lines than fill the buffer,
// so every access line they find was written by the flush at the end: they
// count the lines after each way the process can end.

const (
	logRequests    = 40
	noTimelyFlush  = "LOG_FLUSH_INTERVAL=1h"
	requestLogLine = "request"
)

// sendRequests sends n GET /v1/items to p, each answered 200.
func sendRequests(t *testing.T, c *http.Client, url string, n int) {
	t.Helper()
	for range n {
		if status, body := get(t, c, url); status != http.StatusOK {
			t.Fatalf("GET %s: status %d, body %s", url, status, body)
		}
	}
}

// accessLines counts the access lines in logs.
func accessLines(logs *testkit.LogBuffer) int {
	n := 0
	for _, s := range logs.Lines() {
		if testkit.ParseLogLine(s).Get("msg") == requestLogLine {
			n++
		}
	}
	return n
}

func TestAccessLinesAreWrittenWhenRunReturns(t *testing.T) {
	t.Parallel()
	svc := startService(t, map[string]string{"LOG_FLUSH_INTERVAL": "1h"})
	c := newClient(t)
	sendRequests(t, c, svc.URL("/v1/items"), logRequests)
	if n := accessLines(svc.Logs); n != 0 {
		t.Fatalf("%d access lines before the end; the test needs them still buffered", n)
	}
	c.CloseIdleConnections()
	svc.Stop(t)
	if n := accessLines(svc.Logs); n != logRequests {
		t.Errorf("%d access lines after Run returned, want %d", n, logRequests)
	}
}

func TestAccessLinesSurviveSignals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   []string
		end   func(t *testing.T, p *testkit.Process)
		lines int // access lines expected at the end
	}{
		{"SIGTERM", nil, func(t *testing.T, p *testkit.Process) {
			p.Signal(t, syscall.SIGTERM)
			if state := p.Wait(t); state.ExitCode() != 0 {
				t.Errorf("exit %v after SIGTERM, want 0", state)
			}
		}, logRequests},
		// The "shutdown: draining" line writes out the lines before it;
		// those of the requests served during the drain are written out
		// when the second signal comes.
		{"a second SIGTERM during the drain", []string{"SHUTDOWN_DRAIN_DELAY=60s"}, func(t *testing.T, p *testkit.Process) {
			p.Signal(t, syscall.SIGTERM)
			eventually(t, "the drain begun", func() (bool, string) {
				_, ok := p.Stdout.Find("shutdown: draining")
				return ok, "no \"shutdown: draining\" line"
			})
			c := newClient(t)
			sendRequests(t, c, p.URL("/v1/items"), logRequests)
			if n := accessLines(p.Stdout); n != logRequests {
				t.Fatalf("%d access lines during the drain, want only the %d before it", n, logRequests)
			}
			p.Signal(t, syscall.SIGTERM)
			state := p.Wait(t)
			if ws, ok := state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Errorf("exit %v after the second SIGTERM, want killed by SIGTERM", state)
			}
		}, 2 * logRequests},
		// The control: SIGKILL leaves no chance to flush, so the buffered
		// lines are lost, which shows that the counts above can fail.
		{"SIGKILL loses them", nil, func(t *testing.T, p *testkit.Process) {
			p.Signal(t, syscall.SIGKILL)
			p.Wait(t)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startBinary(t, "", append([]string{noTimelyFlush}, tt.env...)...)
			c := newClient(t)
			sendRequests(t, c, p.URL("/v1/items"), logRequests)
			c.CloseIdleConnections()
			if n := accessLines(p.Stdout); n != 0 {
				t.Fatalf("%d access lines before the end; the test needs them still buffered", n)
			}
			tt.end(t, p)
			if n := accessLines(p.Stdout); n != tt.lines {
				t.Errorf("%d access lines after the end, want %d", n, tt.lines)
			}
		})
	}
}
