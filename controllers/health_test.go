package controllers_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/controllers"
)

type statusBody struct {
	Status string `json:"status"`
}

func TestLive(t *testing.T) {
	h := newEngine(t, func(e *gin.Engine) { e.GET("/healthz", controllers.Live()) })
	rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if got := decodeJSON[statusBody](t, rec); rec.Code != http.StatusOK || got.Status != "ok" {
		t.Errorf("status %d, body %q; want 200 with status ok", rec.Code, rec.Body)
	}
}

func TestReady(t *testing.T) {
	var ready atomic.Bool
	h := newEngine(t, func(e *gin.Engine) { e.GET("/readyz", controllers.Ready(ready.Load)) })
	// Each request asks again, so readiness turns at once when shutdown begins.
	for _, isReady := range []bool{true, false, true, false} {
		ready.Store(isReady)
		rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if !isReady {
			wantError(t, rec, http.StatusServiceUnavailable, apierror.CodeUnavailable)
			continue
		}
		if got := decodeJSON[statusBody](t, rec); rec.Code != http.StatusOK || got.Status != "ready" {
			t.Errorf("ready: status %d, body %q; want 200 with status ready", rec.Code, rec.Body)
		}
	}
}

func TestVersion(t *testing.T) {
	tests := []buildinfo.Info{
		{Version: "v1.2.3", Revision: "0123abcd", GoVersion: "go1.26.8"},
		buildinfo.New("", ""),
	}
	for _, want := range tests {
		t.Run(want.Version, func(t *testing.T) {
			h := newEngine(t, func(e *gin.Engine) { e.GET("/version", controllers.Version(want)) })
			rec := serve(t, h, httptest.NewRequest(http.MethodGet, "/version", nil))
			if got := decodeJSON[buildinfo.Info](t, rec); rec.Code != http.StatusOK || got != want {
				t.Errorf("status %d, info %+v; want 200 with %+v", rec.Code, got, want)
			}
		})
	}
}
