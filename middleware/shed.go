package middleware

import (
	"slices"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// ShedRetryAfter is the Retry-After value, in seconds, of a shed request.
const ShedRetryAfter = "1"

// ShedCounter counts requests refused because too many were in flight.
type ShedCounter interface {
	Shed()
}

// Shed returns a middleware that lets at most maxInFlight requests run the
// rest of the chain at once. A request beyond that is answered at once with
// 503, the JSON error with code apierror.CodeOverloaded and a Retry-After header,
// and counted in shed. Requests to the routes in skip (health probes) are
// never refused and do not take a slot. maxInFlight must be positive; to turn
// shedding off, leave the middleware out.
//
// It must run inside Metrics and Recovery, so that a shed request is
// recorded with its 503, and a panic in the handler gives its slot back
// while it unwinds. Admission is one atomic add: no lock, no allocation.
func Shed(maxInFlight int, shed ShedCounter, skip ...string) gin.HandlerFunc {
	skip = slices.Clone(skip)
	limit := int64(maxInFlight)
	overloaded := apierror.New(apierror.CodeOverloaded, "the server is handling too many requests; retry later")
	var inFlight atomic.Int64
	return func(c *gin.Context) {
		if slices.Contains(skip, c.FullPath()) {
			c.Next()
			return
		}
		// The slot is taken before it is checked, so that two requests
		// racing for the last slot cannot both get it.
		defer inFlight.Add(-1)
		if inFlight.Add(1) > limit {
			shed.Shed()
			c.Header("Retry-After", ShedRetryAfter)
			apierror.Abort(c, overloaded)
			return
		}
		c.Next()
	}
}
