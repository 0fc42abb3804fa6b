package routes_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
)

func newEngine(tb testing.TB, demo bool, proxies []string) *gin.Engine {
	tb.Helper()
	return newEngineLogging(tb, io.Discard, demo, proxies)
}

func newEngineLogging(tb testing.TB, log io.Writer, demo bool, proxies []string) *gin.Engine {
	tb.Helper()
	gin.SetMode(gin.TestMode)
	m, err := metrics.New(prometheus.NewRegistry(), buildinfo.Info{}, metrics.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	e, err := routes.New(routes.Deps{
		Logger:         slog.New(slog.NewJSONHandler(log, nil)),
		Metrics:        m,
		Items:          controllers.NewMemoryItems(),
		Ready:          func() bool { return true },
		MaxBodyBytes:   1024,
		TrustedProxies: proxies,
		DemoEndpoints:  demo,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func status(e http.Handler, method, path string) int {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code
}

func TestDemoEndpointsOnlyWhenEnabled(t *testing.T) {
	tests := []struct {
		demo       bool
		path       string
		wantStatus int
	}{
		{false, "/v1/demo/panic", http.StatusNotFound},
		{false, "/v1/demo/sleep?d=1ms", http.StatusNotFound},
		{true, "/v1/demo/panic", http.StatusInternalServerError},
		{true, "/v1/demo/sleep?d=1ms", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := status(newEngine(t, tt.demo, nil), http.MethodGet, tt.path); got != tt.wantStatus {
				t.Errorf("DEMO_ENDPOINTS=%v: GET %s = %d, want %d", tt.demo, tt.path, got, tt.wantStatus)
			}
		})
	}
}

// TestNoRedirects: a trailing slash or wrong case is answered by the
// middleware stack (404 with the JSON error), not by a gin redirect that
// no middleware sees.
func TestNoRedirects(t *testing.T) {
	e := newEngine(t, false, nil)
	for _, path := range []string{"/v1/items/", "/V1/items", "/healthz/"} {
		if got := status(e, http.MethodGet, path); got != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, got)
		}
	}
}

func TestProbesAnswerHEAD(t *testing.T) {
	e := newEngine(t, false, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		if got := status(e, http.MethodHead, path); got != http.StatusOK {
			t.Errorf("HEAD %s = %d, want 200", path, got)
		}
	}
}

func TestBadTrustedProxyIsAnError(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry(), buildinfo.Info{}, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := routes.New(routes.Deps{Metrics: m, Logger: slog.New(slog.DiscardHandler), TrustedProxies: []string{"not-an-ip"}}); err == nil {
		t.Error("routes.New accepted a trusted proxy that is not an IP or CIDR")
	}
}

func TestAdmin(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, buildinfo.Info{}, metrics.Options{}); err != nil {
		t.Fatal(err)
	}
	h := routes.Admin(routes.AdminDeps{Registerer: reg, Gatherer: reg})
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/metrics", http.StatusOK},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{http.MethodGet, "/debug/pprof/", http.StatusNotFound},
	}
	for _, tt := range tests {
		if got := status(h, tt.method, tt.path); got != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestTrustedProxies: X-Forwarded-For changes the client IP in the access
// log only when the peer is a trusted proxy.
func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		peer    string
		want    string
	}{
		{"none trusted", nil, "10.0.0.7:5555", "10.0.0.7"},
		{"peer trusted", []string{"10.0.0.0/8"}, "10.0.0.7:5555", "203.0.113.9"},
		{"other peer", []string{"10.0.0.0/8"}, "192.0.2.1:5555", "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			e := newEngineLogging(t, &log, false, tt.proxies)
			req := httptest.NewRequest(http.MethodGet, "/version", nil)
			req.RemoteAddr = tt.peer
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			e.ServeHTTP(httptest.NewRecorder(), req)
			var line struct {
				ClientIP string `json:"client_ip"`
			}
			if err := json.Unmarshal(log.Bytes(), &line); err != nil {
				t.Fatalf("access log %q: %v", log.String(), err)
			}
			if line.ClientIP != tt.want {
				t.Errorf("client_ip = %q, want %q", line.ClientIP, tt.want)
			}
		})
	}
}

func TestAdminPprof(t *testing.T) {
	tests := []struct {
		pprof bool
		path  string
		want  int
	}{
		{true, "/debug/pprof/", http.StatusOK},
		{true, "/debug/pprof/cmdline", http.StatusOK},
		{true, "/debug/pprof/heap?debug=1", http.StatusOK},
		{true, "/debug/pprof/symbol", http.StatusOK},
		{true, "/debug/pprof/trace?seconds=0.01", http.StatusOK},
		{true, "/debug/pprof/nosuchprofile", http.StatusNotFound},
		{false, "/debug/pprof/", http.StatusNotFound},
		{false, "/debug/pprof/cmdline", http.StatusNotFound},
		{false, "/debug/pprof/heap?debug=1", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("pprof=%v %s", tt.pprof, tt.path), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := routes.Admin(routes.AdminDeps{Registerer: reg, Gatherer: reg, Pprof: tt.pprof})
			if got := status(h, http.MethodGet, tt.path); got != tt.want {
				t.Errorf("GET %s = %d, want %d", tt.path, got, tt.want)
			}
		})
	}
}

// TestAdminPprofRoutesTheCPUProfile checks where /debug/pprof/profile is
// routed without running it: a CPU profile takes at least a second.
func TestAdminPprofRoutesTheCPUProfile(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		mux, ok := routes.Admin(routes.AdminDeps{Registerer: reg, Gatherer: reg, Pprof: enabled}).(*http.ServeMux)
		if !ok {
			t.Fatal("Admin no longer returns a *http.ServeMux; check /debug/pprof/profile another way")
		}
		_, pattern := mux.Handler(httptest.NewRequest(http.MethodGet, "/debug/pprof/profile?seconds=5", nil))
		if want := map[bool]string{true: "/debug/pprof/profile", false: ""}[enabled]; pattern != want {
			t.Errorf("PPROF_ENABLED=%v: /debug/pprof/profile matches %q, want %q", enabled, pattern, want)
		}
	}
}
