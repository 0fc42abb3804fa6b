package metrics_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/metrics"
	"github.com/ginstarter/ginstarter/middleware"
)

// apiRoutes returns n route templates in the shapes of a REST API: a
// collection, an item and a nested collection per resource.
func apiRoutes(n int) []string {
	routes := make([]string, 0, n)
	for i := 0; len(routes) < n; i++ {
		res := "/v1/res" + strconv.Itoa(i)
		for _, r := range []string{res, res + "/:id", res + "/:id/items"} {
			if len(routes) < n {
				routes = append(routes, r)
			}
		}
	}
	return routes
}

// BenchmarkRouteSet serves GET requests spread evenly over 1, 10 and 100
// routes with no middleware ("bare") and with metrics and recovery, so that
// the cost of finding a route's recorder among many shows as a ratio
// measured in the same run.
func BenchmarkRouteSet(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, n := range []int{1, 10, 100} {
		for _, stack := range []string{"bare", "metrics+recovery"} {
			b.Run("routes="+strconv.Itoa(n)+"/"+stack, func(b *testing.B) {
				e := gin.New()
				if stack != "bare" {
					m, _ := newHTTP(b, metrics.Options{})
					e.Use(middleware.Metrics(m), middleware.Recovery(slog.New(slog.DiscardHandler), m))
				}
				var reqs []*http.Request
				for _, r := range apiRoutes(n) {
					e.GET(r, func(c *gin.Context) { c.Status(http.StatusOK) })
					reqs = append(reqs, httptest.NewRequest(http.MethodGet, strings.ReplaceAll(r, ":id", "7"), nil))
				}
				// One recorder serves every request: after the first,
				// its WriteHeader returns at once and keeps nothing.
				w := httptest.NewRecorder()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					e.ServeHTTP(w, reqs[i])
					if i++; i == len(reqs) {
						i = 0
					}
				}
			})
		}
	}
}
