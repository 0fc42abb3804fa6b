package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/metrics"
)

func panicCount(tb testing.TB, s *stack, route string) float64 {
	tb.Helper()
	m := s.series(tb, "http_server_panics_total", map[string]string{metrics.LabelRoute: route})
	return m.GetCounter().GetValue()
}

func TestRecoveryAnswersPanicWithJSONError(t *testing.T) {
	s := newStack(t)
	s.engine.GET("/boom/:id", func(*gin.Context) { panic("secret detail at /srv/app/db.go:42") })
	rec := s.do(t, http.MethodGet, "/boom/1")

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	for _, leak := range []string{"secret", "goroutine", ".go:", "panic"} {
		if strings.Contains(body, leak) {
			t.Errorf("body leaks %q: %s", leak, body)
		}
	}
	e := decodeError(t, rec)
	if e.Code != apierror.CodeInternal || e.RequestID == "" || e.RequestID != rec.Header().Get("X-Request-ID") {
		t.Errorf("error = %+v, want internal_error with the response's request ID %q", e, rec.Header().Get("X-Request-ID"))
	}
	logs := s.log.String()
	for _, want := range []string{`"msg":"panic recovered"`, `"request_id":"` + e.RequestID + `"`, `"stack":"goroutine`, "secret detail"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if got := panicCount(t, s, "/boom/:id"); got != 1 {
		t.Errorf("panics = %v, want 1", got)
	}
	if got := s.requestCount(t, "GET", "/boom/:id", "500"); got != 1 {
		t.Errorf("500 count = %d, want 1", got)
	}
	if got := s.requestCount(t, "GET", "/boom/:id", "200"); got != 0 {
		t.Errorf("200 count = %d, want 0", got)
	}
	active := s.series(t, "http_server_active_requests", map[string]string{metrics.LabelMethod: "GET", metrics.LabelRoute: "/boom/:id"})
	if got := active.GetGauge().GetValue(); got != 0 {
		t.Errorf("active = %v, want 0", got)
	}
	// The engine keeps serving.
	s.engine.GET("/ok", func(c *gin.Context) { c.Status(http.StatusOK) })
	if rec := s.do(t, http.MethodGet, "/ok"); rec.Code != http.StatusOK {
		t.Errorf("after a panic: status = %d, want 200", rec.Code)
	}
}

func TestRecoveryPanicValues(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"string", "boom"},
		{"error", errors.New("boom")},
		{"nil map write", nil}, // a runtime error, raised by the handler below
		{"custom type", struct{ A int }{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			s.engine.GET("/p", func(*gin.Context) {
				if tt.value == nil {
					var m map[string]int
					m["x"] = 1 //nolint:govet,staticcheck // the nil map write is the runtime panic this case is about
				}
				panic(tt.value)
			})
			rec := s.do(t, http.MethodGet, "/p")
			if rec.Code != http.StatusInternalServerError || decodeError(t, rec).Code != apierror.CodeInternal {
				t.Errorf("status = %d, want 500 internal_error", rec.Code)
			}
			if got := panicCount(t, s, "/p"); got != 1 {
				t.Errorf("panics = %v, want 1", got)
			}
		})
	}
}

// TestRecoveryClientGone: a broken pipe or reset during a write is the
// client leaving, not a server error: 499, nothing written, not counted as
// a panic, not logged as an error.
func TestRecoveryClientGone(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"broken pipe", &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}},
		{"reset", fmt.Errorf("writing: %w", &os.SyscallError{Syscall: "write", Err: syscall.ECONNRESET})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			s.engine.GET("/w", func(*gin.Context) { panic(tt.err) })
			rec := s.do(t, http.MethodGet, "/w")
			if rec.Body.Len() != 0 {
				t.Errorf("body = %q, want nothing written", rec.Body.String())
			}
			if got := s.requestCount(t, "GET", "/w", "499"); got != 1 {
				t.Errorf("499 count = %d, want 1", got)
			}
			if m := s.series(t, "http_server_panics_total", map[string]string{metrics.LabelRoute: "/w"}); m != nil {
				t.Errorf("a client disconnect was counted as a panic")
			}
			if strings.Contains(s.log.String(), `"level":"ERROR"`) {
				t.Errorf("a client disconnect was logged as an error:\n%s", s.log.String())
			}
		})
	}
}

// TestRecoveryReraisesAbort: http.ErrAbortHandler, and any panic after the
// response has started, must reach net/http so that it aborts the
// connection instead of finishing a truncated response as if complete.
func TestRecoveryReraisesAbort(t *testing.T) {
	tests := []struct {
		name       string
		handler    gin.HandlerFunc
		status     string
		wantPanics float64
	}{
		{"ErrAbortHandler", func(*gin.Context) { panic(http.ErrAbortHandler) }, "499", 0},
		{"panic after write", func(c *gin.Context) {
			c.String(http.StatusOK, "partial")
			panic("late")
		}, "200", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			s.engine.GET("/a", tt.handler)
			var got any
			func() {
				defer func() { got = recover() }()
				s.do(t, http.MethodGet, "/a")
			}()
			if got != http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared as net/http does.
				t.Fatalf("ServeHTTP panicked with %v, want http.ErrAbortHandler", got)
			}
			if n := s.requestCount(t, "GET", "/a", tt.status); n != 1 {
				t.Errorf("count with status %s = %d, want 1", tt.status, n)
			}
			if m := s.series(t, "http_server_panics_total", map[string]string{metrics.LabelRoute: "/a"}); m.GetCounter().GetValue() != tt.wantPanics {
				t.Errorf("panics = %v, want %v", m.GetCounter().GetValue(), tt.wantPanics)
			}
			active := s.series(t, "http_server_active_requests", map[string]string{metrics.LabelMethod: "GET", metrics.LabelRoute: "/a"})
			if active.GetGauge().GetValue() != 0 {
				t.Errorf("active = %v after an aborted request, want 0", active.GetGauge().GetValue())
			}
		})
	}
}
