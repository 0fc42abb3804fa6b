package middleware

import (
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/ginstarter/ginstarter/apierror"
	"github.com/ginstarter/ginstarter/metrics"
)

// Metrics returns a middleware that records every request in m: it counts
// the request as in flight while the rest of the chain runs and observes its
// duration under its route template, method and final status. Requests to
// the routes in skip (health probes) are not recorded.
//
// It must run outside Recovery: a recovered panic is then recorded with the
// 500 that Recovery wrote, and the in-flight count is restored by a defer
// even while a panic unwinds. A request whose client went away before
// anything was written is recorded, and answered, with status 499.
//
// When m keeps exemplars, a request whose span (from Tracing, which must
// run outside) is sampled leaves its trace and span IDs on its bucket.
func Metrics(m *metrics.HTTP, skip ...string) gin.HandlerFunc {
	skip = slices.Clone(skip)
	// Durations are measured as offsets from epoch with time.Since, which
	// reads only the monotonic clock; time.Now would also read the wall
	// clock, which costs as much again and is not needed here.
	epoch := time.Now()
	exemplars := m.Exemplars()
	return func(c *gin.Context) {
		route := c.FullPath()
		// A scan of a few strings is cheaper than a map lookup: most
		// comparisons stop at the length.
		if slices.Contains(skip, route) {
			c.Next()
			return
		}
		rec := m.Route(c.Request.Method, route)
		start := time.Since(epoch)
		rec.Start()
		defer func() {
			status, d := finalStatus(c), time.Since(epoch)-start
			if exemplars {
				if sc := trace.SpanContextFromContext(c.Request.Context()); sc.IsSampled() {
					rec.DoneSampled(status, d, sc)
					return
				}
			}
			rec.Done(status, d)
		}()
		c.Next()
	}
}

// finalStatus returns the status the request is answered with, marking a
// request whose client is gone and which wrote nothing as 499 rather than
// gin's default 200.
func finalStatus(c *gin.Context) int {
	if !c.Writer.Written() && c.Request.Context().Err() != nil {
		c.Status(apierror.StatusClientClosedRequest)
	}
	return c.Writer.Status()
}
