package controllers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/controllers"
)

func demoRoutes(e *gin.Engine) {
	e.GET("/v1/demo/sleep", controllers.DemoSleep(controllers.MaxDemoSleep))
	e.GET("/v1/demo/panic", controllers.DemoPanic())
}

// TestDemoSleepIsCapped asks for an hour with a 5 ms cap: the handler
// answers, and says it slept the cap.
func TestDemoSleepIsCapped(t *testing.T) {
	h := newEngine(t, func(e *gin.Engine) { e.GET("/s", controllers.DemoSleep(5*time.Millisecond)) })
	rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/s?d=1h", nil))
	got := decodeJSON[struct {
		Slept string `json:"slept"`
	}](t, rec)
	if rec.Code != http.StatusOK || got.Slept != "5ms" {
		t.Errorf("status %d, body %q; want 200 with slept 5ms", rec.Code, rec.Body)
	}
}

func TestDemoSleepRejects(t *testing.T) {
	h := newEngine(t, demoRoutes)
	for _, d := range []string{"abc", "-1s", "5", "", "1d"} {
		t.Run("d="+d, func(t *testing.T) {
			rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/demo/sleep?d="+d, nil))
			got := wantError(t, rec, http.StatusBadRequest, apierror.CodeValidation)
			if len(got.Fields) != 1 || got.Fields[0].Field != "d" {
				t.Errorf("fields = %+v, want one for d", got.Fields)
			}
		})
	}
}

func TestDemoSleep(t *testing.T) {
	h := newEngine(t, demoRoutes)
	tests := []struct{ d, slept string }{
		{"1ms", "1ms"},
		{"0s", "0s"},
		{"1000us", "1ms"},
	}
	for _, tt := range tests {
		t.Run("d="+tt.d, func(t *testing.T) {
			rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/demo/sleep?d="+tt.d, nil))
			got := decodeJSON[struct {
				Slept string `json:"slept"`
			}](t, rec)
			if rec.Code != http.StatusOK || got.Slept != tt.slept {
				t.Errorf("status %d, body %q; want 200 with slept %q", rec.Code, rec.Body, tt.slept)
			}
		})
	}
}

// TestDemoSleepStopsWhenClientGoes asks for sleeps far longer than the test
// may take (one under MaxDemoSleep, one capped to it) and goes away; the
// handler must return without answering. A handler that ignored the request
// context would hang here until go test's own timeout.
func TestDemoSleepStopsWhenClientGoes(t *testing.T) {
	h := newEngine(t, demoRoutes)
	for _, d := range []string{"10s", "1h"} {
		t.Run("d="+d, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/demo/sleep?d="+d, nil)
			rec := httptest.NewRecorder()
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.ServeHTTP(rec, req)
			}()
			cancel()
			<-done
			if rec.Body.Len() != 0 || rec.Code != http.StatusOK || rec.Flushed {
				t.Errorf("after the client went away: status %d, body %q; want nothing written", rec.Code, rec.Body)
			}
		})
	}
}

func TestDemoPanic(t *testing.T) {
	h := newEngine(t, demoRoutes)
	rec := httptest.NewRecorder()
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/demo/panic", nil))
	}()
	if recovered == nil {
		t.Fatal("DemoPanic returned without panicking")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("DemoPanic wrote %q before panicking; recovery could not answer 500", rec.Body)
	}
}
