package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// traces is a `go tool pprof -traces` output in its real layout: a header,
// then samples, each a value and leaf frame, callers below, ended by
// dashes.
const traces = `File: ginstarter
Type: cpu
Time: 2026-12-04 11:00:00 UTC
Duration: 10s, Total samples = 100ms (1.00%)
-----------+-------------------------------------------------------
      40ms   github.com/ginstarter/ginstarter/controllers.GetItem.func1
             github.com/gin-gonic/gin.(*Context).Next
             github.com/ginstarter/ginstarter/middleware.Metrics.func1
             github.com/gin-gonic/gin.(*Context).Next
             github.com/gin-gonic/gin.(*Engine).ServeHTTP
-----------+-------------------------------------------------------
      20ms   github.com/ginstarter/ginstarter/metrics.(*HTTP).Observe
             github.com/ginstarter/ginstarter/middleware.Metrics.func1
             github.com/gin-gonic/gin.(*Context).Next
             github.com/gin-gonic/gin.(*Engine).ServeHTTP
-----------+-------------------------------------------------------
      10ms   runtime.mallocgc
             runtime.newobject
             github.com/ginstarter/ginstarter/middleware.writeLine
             github.com/ginstarter/ginstarter/middleware.AccessLog.func1.1
-----------+-------------------------------------------------------
      10ms   runtime.mallocgc
             runtime.newobject
             net/http.(*conn).readRequest
-----------+-------------------------------------------------------
       5ms   runtime.gcBgMarkWorker
-----------+-------------------------------------------------------
       5ms   syscall.Syscall
             internal/poll.(*FD).Write
             net.(*conn).Write
-----------+-------------------------------------------------------
      10ms   github.com/gin-gonic/gin.(*node).getValue
             github.com/gin-gonic/gin.(*Engine).handleHTTPRequest
             github.com/gin-gonic/gin.(*Engine).ServeHTTP
-----------+-------------------------------------------------------
`

func TestSamplesGoToTheirCategory(t *testing.T) {
	s := &server{byClass: make([]time.Duration, len(categories))}
	if err := s.read(strings.NewReader(traces)); err != nil {
		t.Fatal(err)
	}
	if s.total != 100*time.Millisecond {
		t.Errorf("total = %v, want 100ms", s.total)
	}
	want := map[string]time.Duration{
		"handler (controllers)":             40 * time.Millisecond, // under the middleware's Next: not middleware
		"service middleware (own code)":     20 * time.Millisecond,
		"access log (encoding and writing)": 10 * time.Millisecond, // before allocation: the log's own allocations
		"allocation":                        10 * time.Millisecond,
		"GC (background workers)":           5 * time.Millisecond,
		"write(2): responses":               5 * time.Millisecond,
		"gin (routing, context)":            10 * time.Millisecond,
	}
	for i, c := range categories {
		if got := s.byClass[i]; got != want[c.name] {
			t.Errorf("%s = %v, want %v", c.name, got, want[c.name])
		}
	}
}

func TestPerRequestTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.txt")
	if err := os.WriteFile(path, []byte(traces), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run([]string{"svc=" + path + ":20"}, &out); err != nil {
		t.Fatal(err)
	}
	// 40% of 20 µs in the handler, 20% in the middleware, the total as given.
	for _, line := range []string{
		"| handler (controllers) | 8.00 |",
		"| service middleware (own code) | 4.00 |",
		"| **total** | **20.00** |",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, out.String())
		}
	}
}

func TestSharesWithoutCPU(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.txt")
	if err := os.WriteFile(path, []byte(traces), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run([]string{"svc=" + path}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| handler (controllers) | 40.0% |") {
		t.Errorf("table lacks the handler's share:\n%s", out.String())
	}
}

func TestBadArguments(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(empty, []byte("File: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		nil,
		{"no-equals-sign"},
		{"svc=" + empty + ":abc"},
		{"svc=" + empty},              // no samples
		{"svc=" + empty + ".missing"}, // no such file
	} {
		if err := run(args, new(strings.Builder)); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
