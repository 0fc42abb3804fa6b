package middleware

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ginstarter/ginstarter/apierror"
)

// BodyLimit returns a middleware that caps request bodies at max bytes. A
// request that declares a longer body is answered with 413 at once; a body
// that turns out longer while it is read makes the read fail with
// *http.MaxBytesError, which handlers answer with 413 (see
// apierror.CodeBodyTooLarge).
func BodyLimit(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			apierror.Abort(c, apierror.BodyTooLarge(max))
			return
		}
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
		c.Next()
	}
}
