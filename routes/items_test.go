package routes_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstarter/ginstarter/buildinfo"
	"github.com/ginstarter/ginstarter/controllers"
	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/routes"
)

// itemsBodyLimit is the body limit of the engines below, small enough for
// a test to exceed.
const itemsBodyLimit = 64

// newEngineOn builds the public engine as the service does, with the HTTP
// metrics on httpReg and the controllers' own metrics on reg.
func newEngineOn(tb testing.TB, httpReg, reg *prometheus.Registry) (*gin.Engine, error) {
	tb.Helper()
	gin.SetMode(gin.TestMode)
	m, err := metrics.New(httpReg, buildinfo.Info{}, metrics.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return routes.New(routes.Deps{
		Logger:       slog.New(slog.DiscardHandler),
		Metrics:      m,
		Registerer:   reg,
		Items:        controllers.NewMemoryItems(),
		Ready:        func() bool { return true },
		MaxBodyBytes: itemsBodyLimit,
	})
}

// post sends body to POST /v1/items as contentType and returns the status.
func post(h http.Handler, contentType, body string) int {
	req := httptest.NewRequest(http.MethodPost, "/v1/items", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// wantItemsCreated checks that reg's items_created_total is n.
func wantItemsCreated(tb testing.TB, reg prometheus.Gatherer, n float64) {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	if got, ok := value(mfs, "items_created_total", nil); !ok || got != n {
		tb.Errorf("items_created_total = %v (present %v), want %v", got, ok, n)
	}
}

// TestItemsCreatedPerEngine: two engines in one process, each on its own
// registry, count their own creates, and only the ones answered 201.
func TestItemsCreatedPerEngine(t *testing.T) {
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, err := newEngineOn(t, regA, regA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newEngineOn(t, regB, regB)
	if err != nil {
		t.Fatal(err)
	}
	const jsonType = "application/json"
	requests := []struct {
		engine            http.Handler
		contentType, body string
		status            int
	}{
		{a, jsonType, `{"name":"widget"}`, http.StatusCreated},
		{a, jsonType, `{"name":""}`, http.StatusBadRequest},
		{a, "text/plain", `{"name":"widget"}`, http.StatusUnsupportedMediaType},
		{a, jsonType, `{"name":"` + strings.Repeat("a", itemsBodyLimit) + `"}`, http.StatusRequestEntityTooLarge},
		{b, jsonType, `{"name":"gadget"}`, http.StatusCreated},
		{a, jsonType, `{"name":"widget"}`, http.StatusCreated},
	}
	for _, r := range requests {
		if got := post(r.engine, r.contentType, r.body); got != r.status {
			t.Fatalf("POST /v1/items %s %q = %d, want %d", r.contentType, r.body, got, r.status)
		}
	}
	wantItemsCreated(t, regA, 2)
	wantItemsCreated(t, regB, 1)
}

// TestEnginesSharingARegistry: a second engine whose controllers register
// on the same registry gets an error from routes.New, not a panic.
func TestEnginesSharingARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newEngineOn(t, prometheus.NewRegistry(), reg); err != nil {
		t.Fatal(err)
	}
	_, err := newEngineOn(t, prometheus.NewRegistry(), reg)
	if err == nil || !strings.Contains(err.Error(), "items_created_total") {
		t.Errorf("second engine on one registry: error %v, want one naming items_created_total", err)
	}
}
